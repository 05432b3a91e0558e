import pytest

from fpgac.compress.quantize import calibrate, quantize_model
from fpgac.compress.strategies.costs import footprint
from fpgac.compress.strategies.sensitivity import (Sensitivity, allocate, apply_ratios,
                                                   sensitivity_analysis)
from fpgac.compress.prune import make_permanent
from fpgac.errors import FpgacError

RATIOS = [0.0, 0.5, 0.8, 0.9, 0.95]


@pytest.fixture(scope="module")
def sens(_tiny_trained, eval_small):
    return sensitivity_analysis(_tiny_trained, eval_small.head(200), ratios=RATIOS)


def test_curves_table_and_plot_are_saved(sens, tmp_path):
    assert sens.ratios == RATIOS and list(sens.curves) == ["conv1", "conv2", "fc1"]
    assert sens.weights == {"conv1": 36, "conv2": 288, "fc1": 2880}
    assert sens.costs == {"conv1": 784, "conv2": 144, "fc1": 1}
    for accs in sens.curves.values():
        assert len(accs) == len(RATIOS) and accs[0] == sens.baseline
        assert all(0.0 <= a <= 1.0 for a in accs)
    sens.to_csv(tmp_path / "s.csv")
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0] == "layer,ratio,accuracy,weights,macs_per_weight"
    assert len(lines) == 1 + 3 * len(RATIOS)
    assert lines[1 + len(RATIOS)].startswith("conv2,0.0,")
    sens.to_json(tmp_path / "s.json")
    assert Sensitivity.from_json(tmp_path / "s.json") == sens
    sens.plot(tmp_path / "s.png")
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_greedy_allocation_prunes_the_robust_layer_first():
    s = Sensitivity([0.0, 0.5, 0.9], {"a": [0.9, 0.5, 0.1], "b": [0.9, 0.9, 0.88]},
                    {"a": 100, "b": 100}, {"a": 1, "b": 1}, 0.9)
    assert allocate(s, params_x=1.3) == {"a": 0.0, "b": 0.5}
    assert allocate(s, params_x=1.8) == {"a": 0.0, "b": 0.9}
    assert allocate(s, params_x=3.0) == {"a": 0.5, "b": 0.9}
    # weighted by MACs: a's weights cost 10x more, so a small accuracy loss there pays
    s.costs = {"a": 10, "b": 1}
    s.curves = {"a": [0.9, 0.89, 0.5], "b": [0.9, 0.85, 0.8]}
    assert allocate(s, macs_x=1.5) == {"a": 0.5, "b": 0.0}


@pytest.mark.parametrize("target", [{"params_x": 3.0}, {"macs_x": 3.0}])
def test_allocated_ratios_reach_the_target(sens, _tiny_trained, target):
    import copy

    model = copy.deepcopy(_tiny_trained)
    dense = footprint(model)
    ratios = allocate(sens, **target)
    apply_ratios(model, ratios)
    make_permanent(model)
    fp = footprint(model)
    weights = dense.params - sum(m.bias.numel() for _, m in model.weighted())
    nz_weights = fp.nonzero_params - sum(int((m.bias != 0).sum()) for _, m in model.weighted())
    if "params_x" in target:
        assert weights / nz_weights >= 3.0
    else:
        assert dense.macs / fp.nonzero_macs >= 3.0


def test_sensitivity_pruned_model_exports_and_compiles(sens, tiny_trained, calib_small,
                                                       exported_runs):
    apply_ratios(tiny_trained, allocate(sens, macs_x=2.0))
    make_permanent(tiny_trained)
    q = quantize_model(tiny_trained, calibrate(tiny_trained, calib_small), 8, name="tiny_sens")
    exported_runs(q, legacy=True)


def test_sensitivity_errors(sens, tiny_trained, eval_small):
    with pytest.raises(FpgacError, match=r"sensitivity.target: expected exactly one of "
                                         r"params_x, macs_x, found params_x=None, macs_x=None"):
        allocate(sens)
    with pytest.raises(FpgacError, match=r"sensitivity.target: expected a factor the ratio "
                                         r"grid can reach \(<= 20\), found 50"):
        allocate(sens, params_x=50)
    with pytest.raises(FpgacError, match=r"sensitivity.ratios: expected increasing fractions "
                                         r"in \[0, 1\), found \[0.5, 0.3\]"):
        sensitivity_analysis(tiny_trained, eval_small, ratios=[0.5, 0.3])
