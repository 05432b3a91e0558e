import pytest
import torch

from fpgac.compress.models import lenet5
from fpgac.compress.prune import make_permanent
from fpgac.compress.quantize import calibrate, quantize_model
from fpgac.compress.strategies.costs import footprint, ir_footprint, weight_costs
from fpgac.compress.strategies.macs import prune_macs, prune_macs_iterative
from fpgac.errors import FpgacError

DENSE = 416520


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("target", [2.0, 5.0, 10.0])
def test_mac_target_is_met_within_one_weight(alpha, target):
    """Tolerance: kept MACs <= dense / target, and the best pruned weight would not fit (it
    costs at most 784 MACs, a conv1 weight)."""
    model = lenet5(seed=0)
    res = prune_macs(model, target, alpha=alpha)
    budget = DENSE / target
    fp = footprint(model)
    assert fp.nonzero_macs == res["after"].nonzero_macs <= budget
    assert fp.nonzero_macs > budget - 784
    assert res["macs_x"] >= target and res["macs_x"] < target * 1.01 + 1e-9


def test_alpha_zero_is_global_magnitude_and_alpha_one_is_magnitude_per_mac():
    cost = weight_costs(lenet5(seed=0))
    for alpha in (0.0, 1.0):
        model = lenet5(seed=0)
        score = {n: m.weight.detach().abs() / cost[n] ** alpha for n, m in model.weighted()}
        prune_macs(model, 5.0, alpha=alpha)
        kept = torch.cat([score[n][m.weight != 0] for n, m in model.weighted()])
        gone = torch.cat([score[n][m.weight == 0] for n, m in model.weighted()])
        assert gone.max() <= kept.min()
    # per MAC, conv1 weights (784 MACs each) go first
    model = lenet5(seed=0)
    prune_macs(model, 5.0, alpha=1.0)
    dens = {n: float((m.weight != 0).double().mean()) for n, m in model.weighted()}
    assert dens["conv1"] < 0.02 and dens["conv2"] < dens["conv3"] and dens["fc1"] > 0.5


def test_iterative_steps_compose_and_keep_earlier_zeros():
    model = lenet5(seed=0)
    prune_macs(model, 2.0)
    first = {n: (m.weight == 0).clone() for n, m in model.weighted()}
    with torch.no_grad():           # perturb the survivors: the earlier mask must still hold
        for _, m in model.weighted():
            m.weight_orig.add_(0.01)
    seen = []
    res = prune_macs_iterative(model, 6.0, 3, alpha=0.5, between=seen.append)
    assert seen == [1, 2] and res["macs_x"] >= 6.0
    for n, m in model.weighted():
        assert bool((m.weight[first[n]] == 0).all()), n
    make_permanent(model)
    assert footprint(model).nonzero_macs <= DENSE / 6


def test_mac_pruned_model_exports_compiles_and_counts_in_ir(tiny_trained, calib_small,
                                                            exported_runs):
    dense = footprint(tiny_trained).macs
    prune_macs(tiny_trained, 5.0, alpha=0.5)
    make_permanent(tiny_trained)
    q = quantize_model(tiny_trained, calibrate(tiny_trained, calib_small), 8, name="tiny_mac5")
    assert ir_footprint(q).nonzero_macs <= footprint(tiny_trained).nonzero_macs <= dense / 5
    exported_runs(q, legacy=True)


def test_mac_errors():
    model = lenet5(seed=0)
    with pytest.raises(FpgacError, match=r"macs.reduction: expected a number >= 1, found 0.5"):
        prune_macs(model, 0.5)
    with pytest.raises(FpgacError, match=r"macs.layers: expected layer names among conv1, "
                                         r"conv2, conv3, fc1, fc2, found 'fc9'"):
        prune_macs(model, 2.0, layers=["fc9"])
    with pytest.raises(FpgacError, match=r"macs.reduction: expected a target the unpruned "
                                         r"layers allow"):
        prune_macs(model, 3.0, layers=["fc1", "fc2"])


def test_normalized_scores_rank_weights_within_each_layer_by_relative_magnitude():
    model = lenet5(seed=0)
    cost = weight_costs(model)
    w = {n: m.weight.detach().clone() for n, m in model.weighted()}
    rms = {n: float(t.pow(2).mean().sqrt()) for n, t in w.items()}
    res = prune_macs(model, 4.0, alpha=0.5, normalize=True)
    assert res["macs_x"] >= 4.0
    score = {n: w[n].abs() / (rms[n] * cost[n] ** 0.5) for n in w}
    kept = torch.cat([score[n][m.weight != 0] for n, m in model.weighted()])
    gone = torch.cat([score[n][m.weight == 0] for n, m in model.weighted()])
    assert gone.max() <= kept.min()
