"""Integer mode (torch int64) against the golden model (NumPy): 0 mismatches."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from fpgac.compiler import ir
from fpgac.compress.integer import IntegerModel, integer_forward, integer_predict
from fpgac.compress.pipeline import golden_check
from fpgac.compress.quantize import calibrate, quantize_model
from fpgac.compress.tiny import tiny_cnn, tiny_model
from fpgac.errors import FpgacError
from fpgac.sim import golden
from fpgac.sim.preprocess import pixel_table, quantize_images


def _golden(model: ir.Model, pixels: torch.Tensor) -> np.ndarray:
    return golden.run(model, quantize_images(pixels.numpy(), model))


@pytest.fixture(scope="module")
def tiny_float():
    """A tiny CNN trained briefly and 70% pruned (float)."""
    return tiny_cnn(3, train_images=300, epochs=1, sparsity=0.7)


@pytest.mark.parametrize("n_bits", [2, 3, 4, 5, 8, 11, 16])
@pytest.mark.parametrize("rounding", ["floor", "half_up"])
def test_integer_mode_equals_golden_at_every_width(tiny_float, train_small, test_set, n_bits,
                                                   rounding):
    ranges = calibrate(tiny_float, train_small.head(64), 99.9)
    model = quantize_model(tiny_float, ranges, n_bits, rounding=rounding)
    images = test_set.head(1000)
    logits = integer_forward(model, images.pixels).numpy()
    gold = _golden(model, images.pixels)
    assert logits.dtype == np.int64 and logits.shape == (1000, 10)
    assert int((gold != logits).any(axis=1).sum()) == 0
    assert logits.min() >= 0 and logits.max() <= 2 ** n_bits - 1
    # the outputs are not constant: the test can see a difference
    assert len(np.unique(logits)) > 1


@pytest.mark.slow
def test_integer_mode_equals_golden_on_the_whole_test_set(lenet_trained, train_small, test_set):
    """A (briefly trained) 50%-pruned 8-bit LeNet-5, all 10,000 test images: 0 mismatches."""
    from fpgac.compress.prune import make_permanent, prune_model

    prune_model(lenet_trained, "global-l1", 0.5)
    make_permanent(lenet_trained)
    ranges = calibrate(lenet_trained, train_small.head(200), 99.99)
    model = quantize_model(lenet_trained, ranges, 8)
    acc, mismatches = golden_check(model, test_set)
    assert len(test_set) == 10_000
    assert mismatches == 0
    assert acc > 0.3        # a sanity floor (chance is 0.1); the point is 0 mismatches


def test_pixel_table_is_the_golden_one():
    for n_bits in (2, 4, 8, 16):
        model = tiny_model(0, n_bits, train_images=0, calib=8)
        im = IntegerModel(model)
        assert np.array_equal(im.table.numpy(), pixel_table(model))


def test_predict_is_the_first_maximum(tiny_float, train_small, test_set):
    model = quantize_model(tiny_float, calibrate(tiny_float, train_small.head(32)), 2)
    pixels = test_set.head(500).pixels
    logits = integer_forward(model, pixels).numpy()
    pred = integer_predict(model, pixels).numpy()
    first = np.array([list(row).index(row.max()) for row in logits])
    assert np.array_equal(pred, first)
    assert (logits == logits.max(1, keepdims=True)).sum(1).max() > 1   # ties exist at 2 bits


def test_fused_relu_gives_the_same_integers(tiny_float, train_small, test_set):
    model = quantize_model(tiny_float, calibrate(tiny_float, train_small.head(32)), 8)
    ops, fused = list(model.ops), []
    for op in ops:
        if isinstance(op, ir.ReLU):
            fused[-1] = dataclasses.replace(fused[-1], relu=True)
        else:
            fused.append(op)
    fmodel = dataclasses.replace(model, ops=fused)
    pixels = test_set.head(300).pixels
    assert len(fmodel.ops) < len(model.ops)
    assert torch.equal(integer_forward(model, pixels), integer_forward(fmodel, pixels))


def test_overflow_is_an_error_not_a_wrap(tiny_float, train_small, test_set):
    model = quantize_model(tiny_float, calibrate(tiny_float, train_small.head(32)), 16)
    op = model.weighted[0]
    big = dataclasses.replace(op, bias=np.full_like(op.bias, 2 ** 62))
    bad = dataclasses.replace(model, ops=[big if o is op else o for o in model.ops])
    with pytest.raises(FpgacError, match=r"integer mode: conv1 accumulator: expected values in "
                                         r"\[-2\^62, 2\^62\)"):
        integer_forward(bad, test_set.head(2).pixels)
