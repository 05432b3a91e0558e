"""What the RTL tests of ``tests/sim`` share: the tiny trained model and the corner images."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny():
    """A small MNIST model (trained 1 epoch on 500 images, 60 % pruned): fast RTL builds."""
    from fpgac.compress.tiny import tiny_model

    return tiny_model(0, train_images=500, epochs=1, sparsity=0.6)


def _special_images(shape, n_random=3, seed=0):
    """All-zeros, all-255, both checkerboards, then ``n_random`` seeded uniform random images
    (``uint8 [4 + n_random, *shape]``)."""
    c, h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    board = (((yy + xx) % 2) * 255).astype(np.uint8)
    fixed = [np.zeros((c, h, w), np.uint8), np.full((c, h, w), 255, np.uint8),
             np.broadcast_to(board, (c, h, w)), np.broadcast_to(255 - board, (c, h, w))]
    rnd = np.random.default_rng(seed).integers(0, 256, (n_random, c, h, w), dtype=np.uint8)
    return np.concatenate([np.stack(fixed), rnd])


@pytest.fixture(scope="session")
def special_images():
    """The corner-image maker ``special_images(shape, n_random=3, seed=0)``."""
    return _special_images
