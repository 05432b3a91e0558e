"""Tiny models for fast tests elsewhere in the project (compiler, golden, RTL).

:func:`tiny_model` returns a small quantized CNN on 28x28 MNIST input::

    conv1 1->4 3x3 pad 1, ReLU, maxpool2d 2, conv2 4->8 3x3, ReLU, maxpool2d 2, flatten, fc1 288->10

optionally trained for a few epochs on a few hundred shipped MNIST images and pruned (global
L1), then quantized with :func:`fpgac.compress.quantize.quantize_model`. Deterministic for a
given ``seed`` (and thread count).
"""

from __future__ import annotations

import torch

from fpgac.compiler import ir

from .data import load_split
from .models import build_cnn
from .prune import make_permanent, prune_model
from .quantize import calibrate, quantize_model
from .train import TrainConfig, train

__all__ = ["TINY_SPEC", "tiny_model", "tiny_cnn"]

TINY_SPEC: list[dict] = [
    {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel": 2},
    {"type": "conv2d", "out_channels": 8, "kernel": 3},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel": 2},
    {"type": "flatten"},
    {"type": "linear", "out_features": 10},
]


def tiny_cnn(seed: int = 0, *, train_images: int = 500, epochs: int = 2,
             sparsity: float = 0.0, finetune_epochs: int = 1):
    """The float :class:`~fpgac.compress.models.CNN` behind :func:`tiny_model`."""
    model = build_cnn(TINY_SPEC, (1, 28, 28), seed=seed)
    data = None
    if train_images > 0 and epochs > 0:
        full = load_split("train5k")
        idx = torch.randperm(len(full), generator=torch.Generator().manual_seed(seed))
        data = type(full)(full.pixels[idx[:train_images]], full.labels[idx[:train_images]])
        train(model, data, TrainConfig(epochs=epochs, lr=5e-3, batch_size=32, seed=seed),
              progress=False)
    if sparsity > 0:
        prune_model(model, "global-l1", sparsity)
        if data is not None and finetune_epochs > 0:
            train(model, data, TrainConfig(epochs=finetune_epochs, lr=1e-3, batch_size=32,
                                           seed=seed + 1), progress=False)
        make_permanent(model)
    return model


def tiny_model(seed: int = 0, n_bits: int = 8, *, train_images: int = 500, epochs: int = 2,
               sparsity: float = 0.0, calib: int = 64, percentile: float = 99.99,
               rounding: str = "floor") -> ir.Model:
    """A small quantized IR model (see module docstring).

    Parameters
    ----------
    seed
        Seeds the initial weights, the data order and the calibration images.
    n_bits
        2..16.
    train_images, epochs
        Train on that many shipped MNIST training images for that many epochs;
        ``0`` keeps the random initial weights (fastest: about 0.1 s).
    sparsity
        Fraction of weights removed by global L1 pruning (then one fine-tune epoch).
    calib, percentile
        Activation calibration: that many training images, that percentile.
    """
    model = tiny_cnn(seed, train_images=train_images, epochs=epochs, sparsity=sparsity)
    full = load_split("train5k")
    idx = torch.randperm(len(full), generator=torch.Generator().manual_seed(seed + 1))[:calib]
    calib_set = type(full)(full.pixels[idx], full.labels[idx])
    ranges = calibrate(model, calib_set, percentile)
    return quantize_model(model, ranges, n_bits, name=f"tiny_s{seed}_{n_bits}b",
                          rounding=rounding)
