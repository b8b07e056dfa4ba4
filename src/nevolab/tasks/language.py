"""Text corpora, tokenizers and fixed training windows for Study C (low-rank Deep GA language model).

The original (Garbus & Pollack 2025, Jevo.jl) evolves a tiny transformer on the first 1024 TinyStories
stories, the same fixed set every generation, tokenised by a 2048-token HuggingFace BPE. This module
provides:

* :func:`load_corpus` -- an offline default corpus: the text of CPython 3.11.7's
  ``pydoc_data/topics.py`` frozen into ``data/corpus/pydoc_topics.txt`` (about 465k characters) and
  verified against a SHA-256 recorded here, so the study does not change with the local Python version;
* :func:`load_tinystories` -- the real TinyStories text for machines with internet access (downloaded
  once from Hugging Face and cached);
* :func:`make_tokenizer` -- a character-level tokenizer and a BPE trained offline with the original's
  normaliser and pre-tokenizer (cached under ``data/cache/``);
* :func:`make_sequences` -- a fixed set of token windows (the same windows every generation).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nevolab.datasets import DatasetUnavailableError
from nevolab.paths import data_dir

__all__ = [
    "CORPORA",
    "TINYSTORIES_URLS",
    "BpeTokenizer",
    "CharTokenizer",
    "corpus_path",
    "corpus_tokens",
    "freeze_pydoc_topics",
    "load_corpus",
    "load_tinystories",
    "make_heldout_sequences",
    "make_sequences",
    "make_tokenizer",
    "split_stories",
]

DATA_DIR = data_dir()
CACHE_DIR = DATA_DIR / "cache"

CORPORA: dict[str, dict[str, str]] = {
    "pydoc_topics": {
        "file": "corpus/pydoc_topics.txt",
        # SHA-256 of the UTF-8 bytes of the topics of CPython 3.11.7, joined as in freeze_pydoc_topics.
        "sha256": "71f2ff5d99bdc1f9c48c5c2353ad138201c5ca1c377e0226857ef8fa89b8bcee",
        "python_version": "3.11.7",
    },
}
"""Offline corpora shipped in ``data/``: file (relative to ``data/``), SHA-256 and provenance."""

PYDOC_SEPARATOR = "\n\n"
"""Separator placed between consecutive ``pydoc_data.topics.topics`` values (in sorted key order)."""

TINYSTORIES_URLS: dict[str, str] = {
    "valid": "https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStoriesV2-GPT4-valid.txt",
    "train": "https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStoriesV2-GPT4-train.txt",
}
"""Canonical Hugging Face URLs of the TinyStories (GPT-4 v2) text files."""

TINYSTORIES_SHA256: dict[str, str | None] = {"valid": None, "train": None}
"""Known SHA-256 digests; None = not known here, so the digest of the first download is pinned in a
``.sha256`` file next to the cached text and every later load is checked against it."""

STORY_SEPARATOR = "<|endoftext|>"

BPE_VOCAB_SIZE = 2048
BPE_SPECIAL_TOKENS = ("<unk>", "<pad>", "<s>", "</s>", "<|endoftext|>")
"""The special tokens of the original ``tokenizer-bpe.json`` (ids 0-4 of its 2048)."""

JULIA_EXTRA_SYMBOLS = 3
"""The original model's vocabulary is the 2048 BPE ids *plus* ``<unk>, <s>, </s>`` of Julia's
``TransformerTextEncoder``: 2051 embedding rows. :attr:`BpeTokenizer.model_vocab_size` reports that."""


# --------------------------------------------------------------------------------------------------
# Corpora
# --------------------------------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pydoc_topics_text() -> str:
    """The running interpreter's ``pydoc_data.topics`` text, values joined in sorted key order."""
    from pydoc_data.topics import topics

    return PYDOC_SEPARATOR.join(topics[key] for key in sorted(topics))


def freeze_pydoc_topics(path: Path | str | None = None) -> Path:
    """Write the pydoc topics corpus to ``path`` (default: its place in ``data/corpus``).

    Run once, under the Python version recorded in :data:`CORPORA`; refuses to overwrite the frozen
    file with text whose SHA-256 differs from the recorded one (another Python version's topics).
    """
    spec = CORPORA["pydoc_topics"]
    path = Path(path) if path is not None else DATA_DIR / spec["file"]
    data = pydoc_topics_text().encode("utf-8")
    if not spec["sha256"].startswith("__") and _sha256(data) != spec["sha256"]:
        raise ValueError(
            f"this Python's pydoc topics do not match the recorded corpus (Python {spec['python_version']}); "
            "freeze it with that version"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def corpus_path(name: str = "pydoc_topics") -> Path:
    """Where the offline corpus ``name`` lives."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; valid: {', '.join(sorted(CORPORA))}")
    return DATA_DIR / CORPORA[name]["file"]


def load_corpus(name: str = "pydoc_topics") -> str:
    """Load an offline corpus as text, after checking its SHA-256 against the recorded digest."""
    path = corpus_path(name)
    if not path.exists():
        raise FileNotFoundError(
            f"corpus {name!r} is missing at {path}; recreate it with "
            "nevolab.tasks.language.freeze_pydoc_topics() under Python "
            f"{CORPORA[name]['python_version']}"
        )
    data = path.read_bytes()
    digest = _sha256(data)
    if digest != CORPORA[name]["sha256"]:
        raise ValueError(
            f"corpus {name!r} at {path} has SHA-256 {digest}, expected {CORPORA[name]['sha256']}: "
            "the file was modified"
        )
    return data.decode("utf-8")


# --------------------------------------------------------------------------------------------------
# TinyStories (needs internet once)
# --------------------------------------------------------------------------------------------------


def _download(url: str, destination: Path, timeout: float = 60.0) -> None:
    """Stream ``url`` into ``destination`` atomically (a temporary file renamed on success)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        handle, temporary = tempfile.mkstemp(dir=destination.parent, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
            os.replace(temporary, destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def split_stories(text: str, num_stories: int | None = None) -> list[str]:
    """Split a TinyStories text file on ``<|endoftext|>``; blank pieces are dropped."""
    stories = [piece.strip() for piece in text.split(STORY_SEPARATOR)]
    stories = [story for story in stories if story]
    return stories if num_stories is None else stories[:num_stories]


def load_tinystories(num_stories: int = 1024, split: str = "valid", cache_dir: Path | str | None = None,
                     sha256: str | None = None) -> list[str]:
    """The first ``num_stories`` TinyStories stories (the original uses the first 1024).

    The text file is downloaded once from Hugging Face (``roneneldan/TinyStories``) into ``cache_dir``
    (default ``data/cache/tinystories``). Its SHA-256 is checked against ``sha256``, else the known
    digest, else the digest pinned at the first download. Offline, this raises
    :class:`DatasetUnavailableError` naming the dataset, the URL and the offline alternative.
    """
    if split not in TINYSTORIES_URLS:
        raise ValueError(f"split must be one of {sorted(TINYSTORIES_URLS)}; got {split!r}")
    if num_stories < 1:
        raise ValueError(f"num_stories must be at least 1; got {num_stories}")
    url = TINYSTORIES_URLS[split]
    cache = Path(cache_dir) if cache_dir is not None else CACHE_DIR / "tinystories"
    path = cache / url.rsplit("/", 1)[1]
    pinned = path.with_name(path.name + ".sha256")
    if not path.exists():
        try:
            _download(url, path)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise DatasetUnavailableError(
                f"could not download the TinyStories dataset (roneneldan/TinyStories, split {split!r}) "
                f"from {url}: {error}. This machine looks offline; download the file elsewhere into "
                f"{path}, or use the offline corpus: load_corpus('pydoc_topics')"
            ) from error
    data = path.read_bytes()
    digest = _sha256(data)
    expected = sha256 or TINYSTORIES_SHA256.get(split)
    if expected is None and pinned.exists():
        expected = pinned.read_text().strip()
    if expected is not None and digest != expected:
        raise ValueError(f"TinyStories file {path} has SHA-256 {digest}, expected {expected}")
    if not pinned.exists():
        pinned.write_text(digest + "\n")
    return split_stories(data.decode("utf-8"), num_stories)


# --------------------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CharTokenizer:
    """Character-level tokenizer: the vocabulary is the sorted distinct characters of a corpus."""

    chars: tuple[str, ...]

    @classmethod
    def from_corpus(cls, corpus: str) -> CharTokenizer:
        if not corpus:
            raise ValueError("corpus must be a non-empty string to build a character vocabulary")
        return cls(tuple(sorted(set(corpus))))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    @property
    def model_vocab_size(self) -> int:
        """Rows of the embedding a model needs (no extra symbols for characters)."""
        return self.vocab_size

    def encode(self, text: str) -> np.ndarray:
        """Token ids (int32) of ``text``; characters outside the vocabulary raise ValueError."""
        index = {char: i for i, char in enumerate(self.chars)}
        unknown = sorted(set(text) - index.keys())
        if unknown:
            raise ValueError(f"text has characters outside the vocabulary: {unknown[:10]!r}")
        return np.fromiter((index[c] for c in text), dtype=np.int32, count=len(text))

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return "".join(self.chars[int(i)] for i in np.asarray(ids).ravel())


class BpeTokenizer:
    """A HuggingFace ``tokenizers`` BPE (the original's recipe), trained offline on a corpus.

    Normaliser NFD + lowercase + strip accents; pre-tokenizer whitespace + individual digits; 2048 tokens
    including the original's five special tokens. Normalisation is lossy (case, accents, whitespace), so
    ``decode(encode(text))`` is the normalised words joined by spaces, not ``text``.
    """

    def __init__(self, tokenizer):  # tokenizers.Tokenizer
        self._tokenizer = tokenizer

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size()

    @property
    def model_vocab_size(self) -> int:
        """Embedding rows of the original's model: the BPE ids plus Julia's ``<unk>, <s>, </s>``."""
        return self.vocab_size + JULIA_EXTRA_SYMBOLS

    def encode(self, text: str) -> np.ndarray:
        return np.asarray(self._tokenizer.encode(text).ids, dtype=np.int32)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return self._tokenizer.decode([int(i) for i in np.asarray(ids).ravel()])

    def to_json(self) -> str:
        return self._tokenizer.to_str()


def train_bpe(corpus: str, vocab_size: int = BPE_VOCAB_SIZE):
    """Train the original's BPE recipe on ``corpus`` (deterministic for a given corpus)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
    )
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(BPE_SPECIAL_TOKENS),
                                  show_progress=False)
    tokenizer.train_from_iterator([corpus], trainer=trainer)
    return tokenizer


TOKENIZERS = ("char", "bpe")


def make_tokenizer(name: str, corpus: str, vocab_size: int = BPE_VOCAB_SIZE,
                   cache_dir: Path | str | None = None) -> CharTokenizer | BpeTokenizer:
    """A tokenizer by name: ``"char"`` (sorted distinct characters) or ``"bpe"`` (trained offline).

    The BPE is cached as JSON in ``cache_dir`` (default ``data/cache``) under a name keyed by the
    SHA-256 of the corpus and the training recipe, so it is trained once per corpus.
    """
    if name not in TOKENIZERS:
        raise ValueError(f"tokenizer name must be one of {', '.join(TOKENIZERS)}; got {name!r}")
    if name == "char":
        return CharTokenizer.from_corpus(corpus)
    if vocab_size <= len(BPE_SPECIAL_TOKENS):
        raise ValueError(
            f"vocab_size must exceed {len(BPE_SPECIAL_TOKENS)} (the special tokens); got {vocab_size}"
        )
    from tokenizers import Tokenizer

    recipe = json.dumps({"v": 1, "vocab_size": vocab_size, "special": BPE_SPECIAL_TOKENS,
                         "normalizer": "nfd-lower-strip", "pre": "whitespace-digits"}, sort_keys=True)
    key = _sha256(corpus.encode("utf-8") + recipe.encode("utf-8"))[:16]
    cache = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    path = cache / f"bpe-{key}.json"
    if path.exists():
        return BpeTokenizer(Tokenizer.from_file(str(path)))
    tokenizer = train_bpe(corpus, vocab_size)
    cache.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.part")
    tokenizer.save(str(temporary))
    os.replace(temporary, path)
    return BpeTokenizer(tokenizer)


# --------------------------------------------------------------------------------------------------
# Fixed training windows
# --------------------------------------------------------------------------------------------------


def make_sequences(tokens: np.ndarray | Sequence[int], num_sequences: int, sequence_length: int,
                   seed: int = 0) -> np.ndarray:
    """A fixed set of ``num_sequences`` token windows of ``sequence_length + 1`` tokens (inputs plus
    the next-token targets), int32 of shape (num_sequences, sequence_length + 1).

    The token stream is cut into consecutive non-overlapping windows and ``seed`` picks which ones
    (without replacement, kept in stream order). Like the original's fixed 1024 stories, the result is
    meant to be evaluated unchanged every generation.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 1:
        raise ValueError(f"tokens must be a 1-D token stream; got shape {tokens.shape}")
    if num_sequences < 1:
        raise ValueError(f"num_sequences must be at least 1; got {num_sequences}")
    if sequence_length < 1:
        raise ValueError(f"sequence_length must be at least 1; got {sequence_length}")
    window = sequence_length + 1
    available = tokens.size // window
    if num_sequences > available:
        raise ValueError(
            f"num_sequences={num_sequences} is too many: {tokens.size} tokens hold only {available} "
            f"non-overlapping windows of sequence_length+1={window}"
        )
    starts = _chosen_windows(available, num_sequences, seed) * window
    return np.stack([tokens[s:s + window] for s in starts]).astype(np.int32)


def make_heldout_sequences(tokens: np.ndarray | Sequence[int], num_sequences: int, num_heldout: int,
                           sequence_length: int, seed: int = 0) -> np.ndarray:
    """``num_heldout`` windows shaped like :func:`make_sequences`' and disjoint from its
    ``num_sequences`` training windows of the same ``seed``: a fixed held-out set, never trained on.

    They are drawn (in stream order) from the windows the training set left, so adding a held-out set
    leaves the training windows unchanged.
    """
    tokens = np.asarray(tokens)
    if num_heldout < 1:
        raise ValueError(f"num_heldout must be at least 1; got {num_heldout}")
    make_sequences(tokens, num_sequences, sequence_length, seed)  # checks the training set's arguments
    window = sequence_length + 1
    available = tokens.size // window
    left = np.setdiff1d(np.arange(available), _chosen_windows(available, num_sequences, seed))
    if num_heldout > left.size:
        raise ValueError(
            f"num_heldout={num_heldout} is too many: {tokens.size} tokens hold {available} windows of "
            f"sequence_length+1={window}, {num_sequences} of them for training, so {left.size} are left"
        )
    picked = np.sort(np.random.default_rng([seed, 1]).choice(left, size=num_heldout, replace=False))
    return np.stack([tokens[s * window:(s + 1) * window] for s in picked]).astype(np.int32)


def _chosen_windows(available: int, num_sequences: int, seed: int) -> np.ndarray:
    """Indices (sorted) of the training windows :func:`make_sequences` takes."""
    return np.sort(np.random.default_rng(seed).choice(available, size=num_sequences, replace=False))


@functools.lru_cache(maxsize=8)
def corpus_tokens(tokenizer: str, corpus: str = "pydoc_topics") -> tuple[np.ndarray, int]:
    """The whole offline ``corpus`` tokenized by ``tokenizer`` and the model's vocabulary size (cached:
    notebook validation and every run of a study read the same stream)."""
    text = load_corpus(corpus)
    tokens = make_tokenizer(tokenizer, text)
    return tokens.encode(text), tokens.model_vocab_size
