import pytest
import torch
from torch.nn.utils import prune

from fpgac.compress.models import lenet5
from fpgac.compress.prune import (ThresholdPruning, check_zeros, make_permanent, masks_of,
                                  prune_model, sparsity_report, step_amount)
from fpgac.compress.train import TrainConfig, train
from fpgac.errors import FpgacError


def _zeros(model):
    return {n: int((m.weight == 0).sum()) for n, m in model.weighted()}


def test_l1_and_random_prune_each_layer_by_amount():
    for method in ("l1", "random"):
        model = lenet5(seed=0)
        prune_model(model, method, 0.6)
        for name, m in model.weighted():
            assert int((m.weight == 0).sum()) == round(0.6 * m.weight.numel()), (method, name)


def test_l1_removes_the_smallest_magnitudes():
    model = lenet5(seed=0)
    before = model.layers["conv2"].weight.detach().abs().clone()
    prune_model(model, "l1", 0.5)
    kept = model.layers["conv2"].weight.detach() != 0
    assert before[~kept].max() <= before[kept].min()


def test_global_l1_uses_one_threshold_across_layers():
    model = lenet5(seed=0)
    before = {n: m.weight.detach().abs().clone() for n, m in model.weighted()}
    prune_model(model, "global-l1", 0.9)
    rows, total = sparsity_report(model)
    assert total.weights - total.nonzero == round(0.9 * total.weights)
    pruned = torch.cat([before[n][m.weight == 0] for n, m in model.weighted()])
    kept = torch.cat([before[n][m.weight != 0] for n, m in model.weighted()])
    assert pruned.max() <= kept.min()
    # a global threshold prunes the big layers (small init magnitudes) more than conv1
    by = {r.name: r.sparsity for r in rows}
    assert by["conv3"] > by["conv1"]


def test_ln_structured_removes_whole_filters_or_channels():
    model = lenet5(seed=0)
    prune_model(model, "ln-structured", 0.5, dim=0, norm=2)
    w = model.layers["conv2"].weight.detach()
    dead = (w.flatten(1) == 0).all(1)
    assert int(dead.sum()) == 8 and bool(((w.flatten(1) != 0).any(1) | dead).all())
    assert int((model.layers["fc2"].weight == 0).sum()) == 0  # last layer keeps all classes
    model = lenet5(seed=0)
    prune_model(model, "ln-structured", 0.5, dim=1, norm=1)
    w = model.layers["conv3"].weight.detach()
    assert int((w.transpose(0, 1).flatten(1) == 0).all(1).sum()) == 8
    assert int((model.layers["conv1"].weight == 0).sum()) == 0   # a 1-channel input is kept


def test_custom_threshold_method():
    model = lenet5(seed=0)
    before = {n: m.weight.detach().clone() for n, m in model.weighted()}
    prune_model(model, "custom", 0.0, custom=ThresholdPruning,
                custom_kwargs={"threshold": 0.05})
    for name, m in model.weighted():
        assert torch.equal(m.weight == 0, before[name].abs() <= 0.05), name
    assert isinstance(model.layers["fc1"]._forward_pre_hooks[
        next(iter(model.layers["fc1"]._forward_pre_hooks))], ThresholdPruning)
    with pytest.raises(FpgacError, match="prune.threshold: expected a number >= 0, found -1"):
        ThresholdPruning(-1)


def test_iterative_masks_compose_to_the_target():
    model = lenet5(seed=0)
    seen = []

    def between(step):
        seen.append(masks_of(model))

    prune_model(model, "l1", 0.9, iterations=3, between=between)
    final = masks_of(model)
    assert len(seen) == 2
    for earlier in seen:                 # every later mask is contained in the earlier ones
        for name, mask in final.items():
            assert bool((mask <= earlier[name]).all())
    hook = next(iter(model.layers["conv2"]._forward_pre_hooks.values()))
    assert isinstance(hook, prune.PruningContainer) and len(hook._pruning_methods) == 3
    _, total = sparsity_report(model)
    assert abs(total.sparsity - 0.9) < 0.002
    assert abs(step_amount(0.9, 3) - (1 - 0.1 ** (1 / 3))) < 1e-12


def test_zeros_held_through_finetuning_and_made_permanent(train_small):
    model = lenet5(seed=0)
    prune_model(model, "global-l1", 0.8)
    masks = masks_of(model)
    before = {n: m.weight_orig.detach().clone() for n, m in model.weighted()}
    train(model, train_small.head(256), TrainConfig(epochs=1, lr=1e-2, seed=0), progress=False)
    # training moved the kept weights
    assert any(not torch.equal(before[n], m.weight_orig) for n, m in model.weighted())
    make_permanent(model)
    assert not any(hasattr(m, "weight_orig") for _, m in model.weighted())
    check_zeros(model, masks)
    _, total = sparsity_report(model)
    assert total.weights - total.nonzero >= round(0.8 * total.weights)
    with torch.no_grad():
        model.layers["fc1"].weight[masks["fc1"] == 0][:3]  # no-op read
        idx = (masks["fc1"] == 0).nonzero()[0]
        model.layers["fc1"].weight[tuple(idx)] = 0.5
    with pytest.raises(AssertionError, match="fc1: 1 pruned weights are not exactly 0"):
        check_zeros(model, masks)


def test_mac_counts_of_dense_lenet5():
    rows, total = sparsity_report(lenet5(seed=0))
    macs = {r.name: r.macs for r in rows}
    assert macs == {"conv1": 150 * 784, "conv2": 2400 * 100, "conv3": 48000, "fc1": 10080,
                    "fc2": 840}
    assert total.nonzero_macs == total.macs == sum(macs.values())


def test_pruned_macs_count_nonzero_weights_per_output_pixel():
    model = lenet5(seed=0)
    prune_model(model, "l1", 0.5)
    rows, _ = sparsity_report(model)
    r = {x.name: x for x in rows}
    assert r["conv1"].nonzero_macs == r["conv1"].nonzero * 784
    assert r["conv2"].nonzero_macs == r["conv2"].nonzero * 100
    assert r["fc1"].nonzero_macs == r["fc1"].nonzero


@pytest.mark.parametrize("args, message", [
    (("magnitude", 0.5), "prune.method: expected one of global-l1, l1, random, ln-structured, "
                         "custom, found 'magnitude'"),
    (("l1", 1.0), "prune.amount: expected a fraction in [0, 1), found 1.0"),
    (("l1", 0.5, 0), "prune.iterations: expected an integer >= 1, found 0"),
])
def test_bad_pruning_arguments(args, message):
    with pytest.raises(FpgacError) as exc:
        prune_model(lenet5(seed=0), *args)
    assert str(exc.value) == message
