"""place_layers: the weighted layers of a chain, their fused pools and shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from fpgac.compiler import ir
from fpgac.compiler.frontend import load_model
from fpgac.compiler.passes.fuse_activations import fuse_activations
from fpgac.compiler.passes.place_layers import place_layers
from fpgac.errors import UnsupportedError
from fpgac.sim.randmodel import random_model

ROOT = Path(__file__).resolve().parents[3]


def test_lenet5_layers_and_shapes():
    layers = place_layers(fuse_activations(load_model(ROOT / "examples" / "lenet5_g90_8b.yml")))
    assert [la.op.name for la in layers] == ["conv1", "conv2", "conv3", "fc1", "fc2"]
    assert [la.in_shape for la in layers] == [(1, 28, 28), (6, 14, 14), (16, 5, 5),
                                              (120, 1, 1), (84, 1, 1)]
    assert [la.in_pad for la in layers] == [2, 0, 0, 0, 0]
    assert [la.out_map for la in layers] == [(6, 14, 14), (16, 5, 5), (120, 1, 1), (84, 1, 1),
                                             (10, 1, 1)]
    assert [la.pool for la in layers] == [(2, 2), (2, 2), None, None, None]
    assert layers[0].conv_out == (28, 28) and layers[-1].conv_out == (1, 1)


@pytest.mark.parametrize("seed", range(8))
def test_each_layer_reads_what_the_previous_writes(seed):
    layers = place_layers(fuse_activations(random_model(seed)))
    for prev, nxt in zip(layers, layers[1:]):
        c, h, w = nxt.in_shape
        if isinstance(nxt.op, ir.Linear):
            assert c * h * w == prev.out_map[0] * prev.out_map[1] * prev.out_map[2]
        else:
            assert nxt.in_shape == prev.out_map
    assert layers[-1].out_map[1:] == (1, 1)


def test_a_conv_after_a_linear_is_refused():
    model = random_model(1)
    lin = [op for op in model.ops if isinstance(op, ir.Linear)]
    conv = [op for op in model.ops if isinstance(op, ir.Conv2d)]
    if not conv:
        pytest.skip("this random model has no conv")
    model.ops = [lin[0], conv[0]]
    with pytest.raises(UnsupportedError, match="a conv after a flatten or linear layer"):
        place_layers(fuse_activations(model))
