"""MNIST in the IDX format: a checked reader and the shipped data set.

IDX (LeCun's format): a big-endian header ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian
``uint32`` dimensions, then the raw data. MNIST uses type ``0x08`` (unsigned byte): images are
``idx3`` ``[N, 28, 28]``, labels ``idx1`` ``[N]``. Files may be gzip-compressed (detected from
the content, not the name).

fpgac ships the 10,000-image test set and a 5,000-image training subset in ``fpgac.data``
(``fpgac/data/mnist/README.md``, CC BY-SA 3.0, LeCun, Cortes, Burges).
"""

from __future__ import annotations

import gzip
import importlib.resources
from pathlib import Path

import numpy as np

from fpgac.errors import FpgacError

__all__ = ["read_idx", "load_mnist", "candidate_accuracy", "SPLITS"]

#: Split name -> file-name prefix. ``train`` (the full 60k set) exists only in a user's
#: ``data_dir``; the package ships ``test`` and ``train5k``.
SPLITS = {"test": "t10k", "train5k": "train5k", "train": "train"}

_GZIP_MAGIC = b"\x1f\x8b"


def _error(source: str, path: str, expected: str, found: object) -> FpgacError:
    return FpgacError(f"{source}: {path}: expected {expected}, found {found}")


def read_idx(source: str | Path | bytes, *, ndim: int | None = None,
             name: str | None = None) -> np.ndarray:
    """Read one IDX file of unsigned bytes.

    Parameters
    ----------
    source
        A file path (gzip-compressed or raw) or the file's bytes.
    ndim
        If given, the number of dimensions the header must declare (3 for images, 1 for labels).
    name
        The name used in error messages (defaults to the path).

    Returns
    -------
    numpy.ndarray
        ``uint8`` with the shape of the header's dimensions.

    Raises
    ------
    FpgacError
        If the file is missing or unreadable, not gzip/IDX, not of type unsigned byte, of the
        wrong rank, or its length does not match the header.
    """
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), name or "<bytes>"
    else:
        label = name or str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise _error(label, "file", "a readable IDX file", exc.strerror or exc) from None
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise _error(label, "gzip", "a complete gzip stream", f"'{exc}'") from None
    if len(data) < 4:
        raise _error(label, "header", "at least 4 bytes", f"{len(data)} bytes")
    magic = data[:4]
    if magic[:2] != b"\x00\x00":
        raise _error(label, "header.magic", "an IDX file (0x0000TTNN) or gzip",
                     f"0x{magic.hex()}")
    if magic[2] != 0x08:
        raise _error(label, "header.type", "0x08 (unsigned byte)", f"0x{magic[2]:02x}")
    dims = magic[3]
    if ndim is not None and dims != ndim:
        raise _error(label, "header.ndim", f"{ndim}", dims)
    if dims == 0:
        raise _error(label, "header.ndim", "at least 1", 0)
    head = 4 + 4 * dims
    if len(data) < head:
        raise _error(label, "header.dims", f"{dims} dimensions ({head} header bytes)",
                     f"{len(data)} bytes")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    size = int(np.prod(shape, dtype=np.int64))
    if len(data) - head != size:
        raise _error(label, "data", f"{size} bytes for shape {list(shape)}",
                     f"{len(data) - head} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=head).reshape(shape).copy()


def _candidates(prefix: str, kind: str) -> list[str]:
    base = [f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte",
            f"{prefix}-{kind}.idx{3 if kind == 'images' else 1}-ubyte"]
    return [b + ext for b in base for ext in (".gz", "")]


def _find(directory, prefix: str, kind: str, label: str):
    names = _candidates(prefix, kind)
    for fname in names:
        candidate = directory / fname
        if candidate.is_file():
            return candidate
    raise _error(label, f"{prefix} {kind}", f"one of {', '.join(names[::2])} (optionally "
                 f"without .gz)", "none of them")


def load_mnist(split: str = "test", data_dir: str | Path | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Load an MNIST split.

    Parameters
    ----------
    split
        ``"test"`` (the 10,000-image test set), ``"train5k"`` (the shipped 5,000-image training
        subset) or ``"train"`` (the full training set; only from a ``data_dir`` that has it).
    data_dir
        A directory with the standard file names (``t10k-images-idx3-ubyte[.gz]``,
        ``t10k-labels-idx1-ubyte[.gz]``, ``train-...``, ``train5k-...``). ``None`` uses the data
        shipped in the package.

    Returns
    -------
    (images, labels)
        ``images`` ``uint8`` ``[N, 28, 28]`` (rows, columns as stored), ``labels`` ``uint8``
        ``[N]`` in ``[0, 9]``, in file order.

    Raises
    ------
    FpgacError
        Unknown split, missing files, malformed IDX, or images and labels that do not match.
    """
    if split not in SPLITS:
        raise FpgacError(f"split: expected one of {', '.join(map(repr, SPLITS))}, found {split!r}")
    prefix = SPLITS[split]
    if data_dir is None:
        directory = importlib.resources.files("fpgac.data") / "mnist"
        label = "fpgac.data/mnist"
    else:
        directory = Path(data_dir)
        label = str(data_dir)
        if not directory.is_dir():
            raise _error(label, "data_dir", "a directory", "no such directory")
    img_file = _find(directory, prefix, "images", label)
    lab_file = _find(directory, prefix, "labels", label)
    images = read_idx(img_file.read_bytes(), ndim=3, name=f"{label}/{img_file.name}")
    labels = read_idx(lab_file.read_bytes(), ndim=1, name=f"{label}/{lab_file.name}")
    if images.shape[1:] != (28, 28):
        raise _error(f"{label}/{img_file.name}", "header.dims", "[N, 28, 28]",
                     list(images.shape))
    if images.shape[0] != labels.shape[0]:
        raise _error(label, f"{prefix} labels", f"{images.shape[0]} labels (one per image)",
                     labels.shape[0])
    if labels.size and labels.max() > 9:
        raise _error(f"{label}/{lab_file.name}", "data", "labels in [0, 9]",
                     f"label {int(labels.max())}")
    return images, labels


def candidate_accuracy(models: list) -> dict[int, float]:
    """Golden accuracy of each model on the first
    :data:`~fpgac.compiler.frontend.legacy.HINT_IMAGES` shipped MNIST test images, by index
    (the ``hint`` of :func:`fpgac.compiler.frontend.load_model` for an ambiguous legacy file);
    models the golden model refuses are left out, and it is empty without the test set."""
    from fpgac.compiler.frontend.legacy import HINT_IMAGES
    from fpgac.sim import golden

    try:
        pixels, labels = load_mnist("test", None)
    except (FpgacError, OSError):
        return {}
    pixels, labels = pixels[:HINT_IMAGES], labels[:HINT_IMAGES].astype(np.int64)
    out = {}
    for i, model in enumerate(models):
        try:
            _, classes = golden.predict(model, pixels)
        except FpgacError:
            continue
        out[i] = float((classes == labels).mean())
    return out
