import pytest
import torch

from fpgac.compress.data import normalize
from fpgac.compress.models import lenet5
from fpgac.compress.quantize import calibrate, quantize_model
from fpgac.compress.strategies.lowrank import factorize_linear, rank_for_energy
from fpgac.compress.train import TrainConfig, train
from fpgac.errors import FpgacError


def test_rank_for_energy():
    s = torch.tensor([3.0, 2.0, 1.0, 0.0])          # energies 9, 4, 1 of 14
    assert rank_for_energy(s, 9 / 14) == 1
    assert rank_for_energy(s, 0.65) == 2
    assert rank_for_energy(s, 13 / 14) == 2
    assert rank_for_energy(s, 1.0) == 3


def test_full_rank_factorization_equals_the_original(eval_small):
    model = lenet5(seed=0)
    new, rep = factorize_linear(model, "fc1", rank=84, require_savings=False)
    assert rep["rank"] == 84 and rep["rel_error"] < 1e-12 and abs(rep["energy"] - 1) < 1e-12
    assert [n for n, _ in new.weighted()] == ["conv1", "conv2", "conv3", "fc1_a", "fc1_b",
                                              "fc2"]
    assert tuple(new.layers["fc1_a"].weight.shape) == (84, 120)
    assert new.layers["fc1_a"].bias is None
    x = normalize(eval_small.pixels[:100])
    with torch.no_grad():
        torch.testing.assert_close(new(x), model(x), rtol=1e-4, atol=1e-4)


def test_energy_rank_is_the_smallest_that_keeps_the_energy():
    model = lenet5(seed=0)
    new, rep = factorize_linear(model, "fc1", energy=0.5)
    s = torch.linalg.svdvals(model.layers["fc1"].weight.detach().double())
    e = (s ** 2).cumsum(0) / (s ** 2).sum()
    r = rep["rank"]
    assert e[r - 1] >= 0.5 > e[r - 2]
    assert rep["params_after"] == r * (120 + 84) < rep["params_before"] == 10080
    w = new.layers["fc1_b"].weight.detach().double() @ new.layers["fc1_a"].weight.detach().double()
    err = torch.linalg.norm(w - model.layers["fc1"].weight.detach().double())
    assert abs(float(err / torch.linalg.norm(s)) - rep["rel_error"]) < 1e-6


def test_factorized_model_finetunes_exports_own_format_and_compiles(tiny_trained, train_small,
                                                                    calib_small, exported_runs):
    new, _ = factorize_linear(tiny_trained, "fc1", rank=4)
    train(new, train_small.head(300), TrainConfig(epochs=1), progress=False)
    q = quantize_model(new, calibrate(new, calib_small), 8, name="tiny_lowrank")
    loaded = exported_runs(q, legacy=False)          # no ReLU after fc1_a: own format only
    assert [op.name for op in loaded.weighted] == ["conv1", "conv2", "fc1_a", "fc1_b"]
    assert loaded.weighted[2].weight.shape == (4, 288)


def test_lowrank_errors():
    model = lenet5(seed=0)
    with pytest.raises(FpgacError, match=r"lowrank: expected exactly one of rank, energy"):
        factorize_linear(model, "fc1")
    with pytest.raises(FpgacError, match=r"lowrank.layer: expected a linear layer \(fc1, fc2\),"
                                         r" found 'conv1'"):
        factorize_linear(model, "conv1", rank=2)
    with pytest.raises(FpgacError, match=r"lowrank.rank: expected a rank below 49 "):
        factorize_linear(model, "fc1", rank=60)
    with pytest.raises(FpgacError, match=r"lowrank.rank: expected an integer in \[1, 84\], "
                                         r"found 85"):
        factorize_linear(model, "fc1", rank=85)
