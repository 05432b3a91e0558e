"""The IDX reader and the shipped MNIST data."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from fpgac.errors import FpgacError
from fpgac.sim.mnist import load_mnist, read_idx


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    head = bytes([0, 0, type_code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    return head + array.astype(np.uint8).tobytes()


def test_shipped_test_set():
    images, labels = load_mnist("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    # the standard test set: its well-known first labels and class counts
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974,
                                            1009]
    raw = idx_bytes(images)
    header = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in (10000, 28, 28))
    assert raw[:16] == header
    assert hashlib.md5(raw).hexdigest() == "2646ac647ad5339dbf082846283269ea"


def test_shipped_train5k():
    images, labels = load_mnist("train5k")
    assert images.shape == (5000, 28, 28)
    assert np.bincount(labels).tolist() == [500] * 10


def test_user_directory_gz_and_raw(tmp_path: Path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    got_i, got_l = load_mnist("test", tmp_path)
    np.testing.assert_array_equal(got_i, images)
    np.testing.assert_array_equal(got_l, labels)
    # full 60k-style "train" names are found too
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    np.testing.assert_array_equal(load_mnist("train", str(tmp_path))[0], images)


def test_shared_copy_reads_the_same(tmp_path: Path):
    shared = Path(__file__).resolve().parents[3] / "shared" / "mnist"
    if not shared.is_dir():
        pytest.skip("no ../shared/mnist beside the checkout")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(shared / name, tmp_path / name)
    a, b = load_mnist("test", tmp_path), load_mnist("test")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("data,message", [
    (b"\x00\x00\x08", "x.idx: header: expected at least 4 bytes, found 3 bytes"),
    (b"PK\x03\x04rest", "x.idx: header.magic: expected an IDX file (0x0000TTNN) or gzip, "
                        "found 0x504b0304"),
    (idx_bytes(np.zeros((2, 3)), 0x0D), "x.idx: header.type: expected 0x08 (unsigned byte), "
                                        "found 0x0d"),
    (idx_bytes(np.zeros((2, 3))), "x.idx: header.ndim: expected 3, found 2"),
    (idx_bytes(np.zeros((2, 3, 3)))[:-1], "x.idx: data: expected 18 bytes for shape [2, 3, 3], "
                                          "found 17 bytes"),
    (idx_bytes(np.zeros((2, 3, 3))) + b"\x00", "x.idx: data: expected 18 bytes for shape "
                                               "[2, 3, 3], found 19 bytes"),
    (bytes([0, 0, 8, 3, 0, 0]), "x.idx: header.dims: expected 3 dimensions (16 header bytes), "
                                "found 6 bytes"),
    (gzip.compress(idx_bytes(np.zeros((1, 2, 2))), mtime=0)[:-6], "x.idx: gzip: expected a complete gzip "
                                                         "stream"),
])
def test_malformed_idx(data, message):
    with pytest.raises(FpgacError) as exc:
        read_idx(data, ndim=3, name="x.idx")
    assert str(exc.value).startswith(message)


def test_directory_errors(tmp_path: Path):
    with pytest.raises(FpgacError, match="split: expected one of 'test', 'train5k', 'train', "
                                         "found 'val'"):
        load_mnist("val")
    with pytest.raises(FpgacError, match=r"nope: data_dir: expected a directory, found no such "
                                         r"directory"):
        load_mnist("test", tmp_path / "nope")
    with pytest.raises(FpgacError, match=r"t10k images: expected one of "
                                         r"t10k-images-idx3-ubyte\.gz, "):
        load_mnist("test", tmp_path)
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(2)))
    with pytest.raises(FpgacError, match=r"t10k labels: expected 3 labels \(one per image\), "
                                         r"found 2"):
        load_mnist("test", tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.array([1, 2, 10])))
    with pytest.raises(FpgacError, match=r"data: expected labels in \[0, 9\], found label 10"):
        load_mnist("test", tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((3, 28, 27))))
    with pytest.raises(FpgacError, match=r"header.dims: expected \[N, 28, 28\], found "
                                         r"\[3, 28, 27\]"):
        load_mnist("test", tmp_path)
    with pytest.raises(FpgacError, match=r"missing.idx: file: expected a readable IDX file, "
                                         r"found No such file or directory"):
        read_idx(tmp_path / "missing.idx", name="missing.idx")
