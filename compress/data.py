"""MNIST tensors for training and evaluation.

Images are read with :func:`fpgac.sim.mnist.load_mnist` (the project's one IDX reader) and kept
as ``uint8`` pixels; :func:`normalize` is the exact float preprocessing of docs/semantics.md
``x = (p/255 - 0.5)/0.5`` in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = ["Dataset", "load_split", "calibration_set", "normalize", "random_shift"]


@dataclass
class Dataset:
    """``pixels`` ``[N, 1, 28, 28]`` uint8 and ``labels`` ``[N]`` int64 (torch tensors)."""

    pixels: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def head(self, n: int | None) -> "Dataset":
        """The first ``n`` samples (all when ``n`` is None)."""
        if n is None:
            return self
        return Dataset(self.pixels[:n], self.labels[:n])


def load_split(split: str, root: str | Path | None = None, limit: int | None = None) -> Dataset:
    """Load an MNIST split with :func:`fpgac.sim.mnist.load_mnist`.

    ``split`` is ``"train5k"`` (the shipped 5,000-image training subset, grouped by label:
    shuffle before use, the trainer does), ``"train"`` (a full training set in ``root``) or
    ``"test"`` (10,000 images). ``root`` is a directory of IDX files (default: the MNIST shipped
    with fpgac); ``limit`` keeps the first ``limit`` samples.
    """
    from fpgac.sim.mnist import load_mnist

    images, labels = load_mnist(split, root)
    images = np.asarray(images, dtype=np.uint8)
    if images.ndim == 3:
        images = images[:, None]
    ds = Dataset(torch.from_numpy(images.copy()),
                 torch.from_numpy(np.asarray(labels, dtype=np.int64)))
    return ds.head(limit)


def calibration_set(data: Dataset, n: int, seed: int) -> Dataset:
    """``n`` images drawn at random (seeded) from ``data`` (which may be sorted by label).

    The one seeded-subset rule of :mod:`fpgac.compress`: the calibration images, the
    sensitivity images and a ``data.train_limit`` training subset are all drawn with it
    (``torch.randperm`` of a generator seeded with ``seed + 7919``, the first ``n``).
    """
    gen = torch.Generator().manual_seed(seed + 7919)
    idx = torch.randperm(len(data), generator=gen)[:max(1, min(n, len(data)))]
    return Dataset(data.pixels[idx], data.labels[idx])


def normalize(pixels: torch.Tensor, mean: float = 0.5, std: float = 0.5) -> torch.Tensor:
    """``(p / 255 - mean) / std`` in float32, in exactly this order (docs/semantics.md)."""
    return (pixels.to(torch.float32) / 255 - mean) / std


def random_shift(pixels: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Shift every image by an independent random ``(dy, dx)`` in ``[-max_shift, max_shift]``.

    Vacated pixels are 0 (background). Deterministic for a given generator state.
    """
    if max_shift <= 0:
        return pixels
    n, c, h, w = pixels.shape
    m = max_shift
    padded = torch.nn.functional.pad(pixels, (m, m, m, m))
    d = torch.randint(0, 2 * m + 1, (n, 2), generator=gen)
    rows = (torch.arange(h)[None, :] + d[:, :1])          # [n, h]
    cols = (torch.arange(w)[None, :] + d[:, 1:])          # [n, w]
    idx_n = torch.arange(n)[:, None, None]
    out = padded[:, 0][idx_n, rows[:, :, None], cols[:, None, :]]
    return out[:, None].expand(n, c, h, w).contiguous() if c == 1 else torch.stack(
        [padded[:, ch][idx_n, rows[:, :, None], cols[:, None, :]] for ch in range(c)], 1)

