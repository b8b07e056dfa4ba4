"""Tests for the Study C corpora, tokenizers and fixed windows (nevolab.tasks.language)."""

from __future__ import annotations

import hashlib
import shutil
import sys
import unicodedata
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from nevolab.datasets import DatasetUnavailableError
from nevolab.tasks import language
from nevolab.tasks.language import (
    CORPORA,
    TINYSTORIES_URLS,
    corpus_path,
    load_corpus,
    load_tinystories,
    make_heldout_sequences,
    make_sequences,
    make_tokenizer,
    split_stories,
)


@pytest.fixture(scope="module")
def corpus() -> str:
    return load_corpus("pydoc_topics")


# ------------------------------------------------------------------------------------------ corpus


def test_corpus_is_the_frozen_pydoc_text(corpus):
    data = corpus.encode("utf-8")
    assert hashlib.sha256(data).hexdigest() == CORPORA["pydoc_topics"]["sha256"]
    assert 400_000 < len(corpus) < 500_000
    assert len(set(corpus)) == 103  # stack.md: 103 distinct characters on 3.11.7
    assert "The \"assert\" statement" in corpus


@pytest.mark.skipif(sys.version_info[:3] != (3, 11, 7), reason="the frozen text is CPython 3.11.7's")
def test_corpus_matches_this_interpreter(corpus):
    assert language.pydoc_topics_text() == corpus


def test_corpus_modified_file_is_rejected(tmp_path, monkeypatch):
    copy = tmp_path / CORPORA["pydoc_topics"]["file"]
    copy.parent.mkdir(parents=True)
    shutil.copy(corpus_path("pydoc_topics"), copy)
    monkeypatch.setattr(language, "DATA_DIR", tmp_path)
    assert load_corpus("pydoc_topics").startswith("The")  # the untouched copy loads
    copy.write_bytes(copy.read_bytes().replace(b"assert", b"ASSERT", 1))
    with pytest.raises(ValueError, match="SHA-256"):
        load_corpus("pydoc_topics")


def test_unknown_corpus_names_the_valid_ones():
    with pytest.raises(ValueError, match="pydoc_topics"):
        load_corpus("shakespeare")


# ---------------------------------------------------------------------------------------- tokenizers


def test_char_tokenizer_roundtrip_and_vocab(corpus):
    tok = make_tokenizer("char", corpus)
    assert tok.vocab_size == len(set(corpus)) == tok.model_vocab_size
    assert list(tok.chars) == sorted(tok.chars)
    text = corpus[1000:3000]
    ids = tok.encode(text)
    assert ids.dtype == np.int32 and ids.shape == (len(text),)
    assert tok.decode(ids) == text
    # ids are ranks in the sorted vocabulary
    assert tok.encode("A")[0] == sorted(set(corpus)).index("A")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.encode("snowman \u2603")


def test_bad_tokenizer_name():
    with pytest.raises(ValueError, match="char, bpe"):
        make_tokenizer("wordpiece", "abc")


def test_bpe_recipe_and_cache(corpus, tmp_path):
    tok = make_tokenizer("bpe", corpus, cache_dir=tmp_path)
    assert tok.vocab_size == 2048 and tok.model_vocab_size == 2051
    cached = list(tmp_path.glob("bpe-*.json"))
    assert len(cached) == 1
    vocab = tok._tokenizer.get_vocab()
    assert [vocab[s] for s in ("<unk>", "<pad>", "<s>", "</s>", "<|endoftext|>")] == [0, 1, 2, 3, 4]
    # The normaliser lowercases and strips accents; digits are split one by one; words on whitespace.
    pieces = tok.decode(tok.encode("Café 2025 Return")).split(" ")
    assert "".join(pieces) == "cafe2025return"
    assert {"2", "0", "5"} <= set(pieces)
    assert all(unicodedata.combining(c) == 0 for c in "".join(pieces))
    # Reloading from the cache gives the same tokenizer (no retraining: the file is reused).
    mtime = cached[0].stat().st_mtime_ns
    again = make_tokenizer("bpe", corpus, cache_dir=tmp_path)
    assert cached[0].stat().st_mtime_ns == mtime
    sample = corpus[:5000]
    np.testing.assert_array_equal(again.encode(sample), tok.encode(sample))
    # BPE compresses: far fewer tokens than characters, and it is lossless up to normalisation.
    ids = tok.encode(sample)
    assert len(ids) < len(sample) / 3
    words = unicodedata.normalize("NFD", sample).lower().split()
    assert "".join(tok.decode(ids).split()) == "".join(
        c for c in "".join(words) if not unicodedata.combining(c)
    )


def test_bpe_training_is_deterministic(corpus, tmp_path):
    small = corpus[:40_000]
    a = make_tokenizer("bpe", small, vocab_size=300, cache_dir=tmp_path / "a")
    b = make_tokenizer("bpe", small, vocab_size=300, cache_dir=tmp_path / "b")
    assert a.to_json() == b.to_json()
    assert a.vocab_size == 300


# ------------------------------------------------------------------------------------------ windows


def test_make_sequences_fixed_windows():
    tokens = np.arange(1000, dtype=np.int32)
    seqs = make_sequences(tokens, num_sequences=7, sequence_length=9, seed=3)
    assert seqs.shape == (7, 10) and seqs.dtype == np.int32
    # each row is a contiguous, window-aligned slice of the stream, rows in stream order, no overlap
    assert np.all(np.diff(seqs, axis=1) == 1)
    assert np.all(seqs[:, 0] % 10 == 0)
    assert np.all(np.diff(seqs[:, 0]) >= 10)
    np.testing.assert_array_equal(seqs, make_sequences(tokens, 7, 9, seed=3))
    assert not np.array_equal(seqs, make_sequences(tokens, 7, 9, seed=4))
    # every window fits: asking for all of them returns the whole (truncated) stream
    np.testing.assert_array_equal(make_sequences(tokens, 100, 9, seed=0).ravel(), tokens)


def test_make_sequences_validation():
    with pytest.raises(ValueError, match="num_sequences=101"):
        make_sequences(np.arange(1000), 101, 9)
    with pytest.raises(ValueError, match="sequence_length"):
        make_sequences(np.arange(1000), 1, 0)
    with pytest.raises(ValueError, match="1-D"):
        make_sequences(np.zeros((2, 5)), 1, 1)


# --------------------------------------------------------------------------------------- TinyStories

FIXTURE = "Once upon a time Tom ran.\n<|endoftext|>\nLily saw a cat.\n<|endoftext|>\n\n<|endoftext|>Sam sat."


def test_split_stories():
    assert split_stories(FIXTURE) == ["Once upon a time Tom ran.", "Lily saw a cat.", "Sam sat."]
    assert split_stories(FIXTURE, 2) == ["Once upon a time Tom ran.", "Lily saw a cat."]


def test_load_tinystories_downloads_once_and_pins_hash(tmp_path, monkeypatch):
    calls = []

    def fake_download(url: str, destination: Path, timeout: float = 60.0) -> None:
        calls.append(url)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(FIXTURE, encoding="utf-8")

    monkeypatch.setattr(language, "_download", fake_download)
    stories = load_tinystories(num_stories=2, cache_dir=tmp_path)
    assert stories == ["Once upon a time Tom ran.", "Lily saw a cat."]
    assert calls == [TINYSTORIES_URLS["valid"]]
    assert load_tinystories(num_stories=5, cache_dir=tmp_path)[-1] == "Sam sat."
    assert len(calls) == 1  # cached
    cached = tmp_path / "TinyStoriesV2-GPT4-valid.txt"
    pinned = cached.with_name(cached.name + ".sha256").read_text().strip()
    assert pinned == hashlib.sha256(FIXTURE.encode()).hexdigest()
    # a corrupted cache no longer matches the pinned digest
    cached.write_text(FIXTURE + "x", encoding="utf-8")
    with pytest.raises(ValueError, match="SHA-256"):
        load_tinystories(cache_dir=tmp_path)
    with pytest.raises(ValueError, match="SHA-256"):
        load_tinystories(cache_dir=tmp_path, sha256="0" * 64)


def test_load_tinystories_offline_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(language.urllib.request, "urlopen", offline)
    with pytest.raises(DatasetUnavailableError) as error:
        load_tinystories(cache_dir=tmp_path)
    message = str(error.value)
    assert "roneneldan/TinyStories" in message
    assert TINYSTORIES_URLS["valid"] in message
    assert "load_corpus('pydoc_topics')" in message
    assert not list(tmp_path.glob("*"))  # nothing half-written left behind


def test_load_tinystories_validation(tmp_path):
    with pytest.raises(ValueError, match="split"):
        load_tinystories(split="test", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="num_stories"):
        load_tinystories(num_stories=0, cache_dir=tmp_path)


def test_heldout_windows_are_disjoint_from_the_training_windows_and_fixed():
    tokens = np.arange(1000)
    train = make_sequences(tokens, 20, 9, seed=3)
    heldout = make_heldout_sequences(tokens, 20, 30, 9, seed=3)
    assert heldout.shape == (30, 10)
    assert not set(train[:, 0]) & set(heldout[:, 0])  # every window starts at a distinct place
    assert set(heldout[:, 0]) <= set(range(0, 1000, 10))  # on the same window grid
    np.testing.assert_array_equal(heldout, make_heldout_sequences(tokens, 20, 30, 9, seed=3))
    # all 100 windows: the held-out set is exactly what training left
    rest = make_heldout_sequences(tokens, 20, 80, 9, seed=3)
    assert sorted({*train[:, 0], *rest[:, 0]}) == list(range(0, 1000, 10))
    with pytest.raises(ValueError, match="num_heldout=81 is too many"):
        make_heldout_sequences(tokens, 20, 81, 9, seed=3)
    with pytest.raises(ValueError, match="num_heldout must be at least 1"):
        make_heldout_sequences(tokens, 20, 0, 9, seed=3)
