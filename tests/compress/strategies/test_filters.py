import copy

import pytest
import torch
from torch.nn.utils import prune

from fpgac.compress.data import normalize
from fpgac.compress.models import build_cnn, lenet5
from fpgac.compress.quantize import calibrate, quantize_model
from fpgac.compress.strategies.costs import footprint
from fpgac.compress.strategies.filters import prune_filters, select_filters
from fpgac.compress.tiny import TINY_SPEC
from fpgac.compress.train import TrainConfig, evaluate, train
from fpgac.errors import FpgacError


def _masked(model, ratio, layers):
    """The masked reference: L1 filter masks on weights *and* biases (a dropped filter's
    channel must be 0 downstream, as in the shrunk network)."""
    ref = copy.deepcopy(model)
    for name in layers:
        mod = ref.layers[name]
        prune.ln_structured(mod, "weight", amount=ratio, n=1, dim=0)
        keep = mod.weight_mask.flatten(1).amax(1)
        prune.custom_from_mask(mod, "bias", keep)
    return ref


@pytest.mark.parametrize("spec_name,layers,include_linear", [
    ("lenet5", ["conv1", "conv2", "conv3"], False),
    ("lenet5", ["conv1", "conv2", "conv3", "fc1"], True),
    ("tiny", ["conv1", "conv2"], False),          # crosses flatten with 6x6 maps
])
def test_shrunk_network_equals_the_masked_one(spec_name, layers, include_linear, eval_small):
    model = lenet5(seed=1) if spec_name == "lenet5" else build_cnn(TINY_SPEC, seed=1)
    small = prune_filters(model, 0.5, include_linear=include_linear)
    ref = _masked(model, 0.5, layers)
    x = normalize(eval_small.pixels[:64])
    with torch.no_grad():
        torch.testing.assert_close(small(x), ref(x), rtol=1e-5, atol=1e-5)
    for name in layers:
        assert small.layers[name].weight.shape[0] == model.layers[name].weight.shape[0] // 2
    assert footprint(small).params < footprint(model).params


def test_lenet_channels_shrink_in_this_and_the_next_layer():
    model = lenet5(seed=0)
    small = prune_filters(model, 0.5)
    shapes = {n: tuple(m.weight.shape) for n, m in small.weighted()}
    assert shapes == {"conv1": (3, 1, 5, 5), "conv2": (8, 3, 5, 5), "conv3": (60, 8, 5, 5),
                      "fc1": (84, 60), "fc2": (10, 84)}
    kept = select_filters(model.layers["conv1"], 0.5)
    l1 = model.layers["conv1"].weight.detach().abs().flatten(1).sum(1)
    dropped = torch.tensor([i for i in range(6) if i not in kept.tolist()])
    assert l1[dropped].max() <= l1[kept].min()
    torch.testing.assert_close(small.layers["conv2"].weight,
                               model.layers["conv2"].weight[:, kept][select_filters(
                                   model.layers["conv2"], 0.5)])


def test_filter_pruned_model_finetunes_exports_and_compiles(tiny_trained, train_small,
                                                            calib_small, exported_runs,
                                                            eval_small):
    small = prune_filters(tiny_trained, 0.25)
    assert [m.weight.shape[0] for _, m in small.weighted()] == [3, 6, 10]
    train(small, train_small.head(300), TrainConfig(epochs=1, lr=1e-3), progress=False)
    q = quantize_model(small, calibrate(small, calib_small), 8, name="tiny_filters")
    loaded = exported_runs(q, legacy=True)
    assert loaded.weighted[1].weight.shape == (6, 3, 3, 3)
    assert evaluate(small, eval_small) > 0.1


def test_filter_errors():
    model = lenet5(seed=0)
    with pytest.raises(FpgacError, match=r"filters.ratio: expected a fraction in \[0, 1\), "
                                         r"found 1.0"):
        prune_filters(model, 1.0)
    with pytest.raises(FpgacError, match=r"filters.layers: expected hidden weighted layers "
                                         r"\(conv1, conv2, conv3, fc1\), found 'fc2'"):
        prune_filters(model, 0.5, layers=["fc2"])
