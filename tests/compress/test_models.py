import pytest
import torch

from fpgac.compress.models import LENET5_SPEC, build_cnn, lenet5, resolve_spec
from fpgac.errors import ModelError


def test_lenet5_shapes_and_forward():
    info = resolve_spec(LENET5_SPEC)
    shapes = {li.name: li.out_shape for li in info}
    assert shapes["conv1"] == (6, 28, 28)
    assert shapes["conv2"] == (16, 10, 10)
    assert shapes["conv3"] == (120, 1, 1)
    assert shapes["fc1"] == (84,)
    assert shapes["fc2"] == (10,)
    model = lenet5(seed=0)
    assert [n for n, _ in model.weighted()] == ["conv1", "conv2", "conv3", "fc1", "fc2"]
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_seed_makes_weights_reproducible():
    a, b, c = lenet5(seed=1), lenet5(seed=1), lenet5(seed=2)
    assert torch.equal(a.layers["conv2"].weight, b.layers["conv2"].weight)
    assert not torch.equal(a.layers["conv2"].weight, c.layers["conv2"].weight)


def test_user_spec_builds_any_cnn():
    spec = [{"type": "conv2d", "out_channels": 3, "kernel": 3, "stride": 2},
            {"type": "relu"}, {"type": "flatten"},
            {"type": "linear", "out_features": 5, "bias": False}]
    model = build_cnn(spec, (2, 9, 9))
    assert model.info[0].out_shape == (3, 4, 4)
    assert model.layers["fc1"].in_features == 48 and model.layers["fc1"].bias is None
    assert model(torch.zeros(1, 2, 9, 9)).shape == (1, 5)


@pytest.mark.parametrize("spec, message", [
    ([{"type": "conv3d"}], "spec[0].type: expected one of conv2d, linear, relu, maxpool2d, "
                           "flatten (or maxpool), found 'conv3d'"),
    ([{"type": "conv2d", "out_channels": 4}], "spec[0]: expected key 'kernel', found no such key"),
    ([{"type": "conv2d", "out_channels": 4, "kernel": 0}],
     "spec[0].kernel: expected an integer >= 1, found 0"),
    ([{"type": "linear", "out_features": 10}],
     "spec[0]: expected a flat input (add a 'flatten' layer before), found shape (1, 28, 28)"),
    ([{"type": "conv2d", "out_channels": 4, "kernel": 3, "padd": 1}],
     "spec[0]: expected keys bias, kernel, name, out_channels, padding, stride, "
     "found key 'padd'"),
    ([{"type": "flatten"}, {"type": "relu"}],
     "spec[1]: expected a last layer that is conv2d or linear with a 1-D or 1x1 output, "
     "found 'relu'"),
])
def test_bad_specs_are_clear_errors(spec, message):
    with pytest.raises(ModelError) as exc:
        resolve_spec(spec)
    assert str(exc.value) == message


def test_maxpool_is_another_spelling_of_maxpool2d():
    """``maxpool2d`` (the IR's op name) is canonical; ``maxpool`` (the shipped strategies
    configs) builds the same layer with the same default name."""
    spec = [{"type": "conv2d", "out_channels": 2, "kernel": 3}, {"type": "maxpool2d"},
            {"type": "flatten"}, {"type": "linear", "out_features": 3}]
    alias = [dict(layer, type="maxpool") if layer["type"] == "maxpool2d" else layer
             for layer in spec]
    a, b = resolve_spec(spec), resolve_spec(alias)
    assert a == b
    assert (a[1].kind, a[1].name, a[1].out_shape) == ("maxpool2d", "maxpool1", (2, 13, 13))
    assert all(layer["type"] != "maxpool" for layer in LENET5_SPEC)
