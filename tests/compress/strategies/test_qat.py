import copy

import numpy as np
import pytest
import torch

from fpgac.compress.data import normalize
from fpgac.compress.integer import integer_forward
from fpgac.compress.prune import make_permanent, prune_model
from fpgac.compress.quantize import calibrate
from fpgac.compress.strategies.qat import QATNet, export_qat, fake_quant, qat_train
from fpgac.compress.registry import keep_zeros
from fpgac.compress.train import TrainConfig
from fpgac.errors import FpgacError


def test_fake_quant_values_and_clipped_ste():
    x = torch.tensor([-1.0, -0.26, 0.0, 0.24, 0.25, 0.5, 2.0], requires_grad=True)
    y = fake_quant(x, 0.1, 3, 3)                     # codes 0..7 -> values -0.3 .. 0.4
    torch.testing.assert_close(y.detach(), torch.tensor([-0.3, -0.3, 0.0, 0.2, 0.2, 0.4, 0.4]))
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    up = fake_quant(torch.tensor([0.25]), 0.1, 3, 3, rounding="half_up")
    assert abs(float(up) - 0.3) < 1e-6
    with pytest.raises(FpgacError, match=r"qat.rounding: expected half_even, floor or half_up"):
        fake_quant(x, 0.1, 3, 3, rounding="nearest")


@pytest.mark.parametrize("bits,rounding", [(8, "floor"), (4, "half_up"), (3, "floor")])
def test_qat_forward_is_the_exported_integer_model(tiny_trained, calib_small, eval_small,
                                                   bits, rounding):
    """Before any training, QATNet's forward equals the integer model that export_qat (the
    post-training quantizer with the same ranges) produces, logit for logit."""
    ranges = calibrate(tiny_trained, calib_small)
    net = QATNet(tiny_trained, ranges, bits, rounding=rounding)
    q = export_qat(net, name="tiny_qat")
    want = integer_forward(q, eval_small.pixels).double()
    with torch.no_grad():
        got = net(normalize(eval_small.pixels)).double()
    codes = got / q.out_q.scale + q.out_q.zero_point
    assert float((codes - codes.round()).abs().max()) < 1e-3
    assert torch.equal(codes.round(), want)


def test_qat_trains_and_exports_bit_exact_and_compiles(tiny_trained, train_small, calib_small,
                                                       eval_small, exported_runs):
    before = copy.deepcopy(tiny_trained)
    net = qat_train(tiny_trained, train_small.head(300), TrainConfig(epochs=1, lr=5e-4), 4,
                    calib=calib_small)
    assert not torch.equal(before.layers["conv1"].weight, tiny_trained.layers["conv1"].weight)
    q = export_qat(net, name="tiny_qat4")
    assert q.input.n_bits == 4 and all(op.n_bits == 4 for op in q.weighted)
    with torch.no_grad():
        got = net(normalize(eval_small.pixels)).double()
    codes = (got / q.out_q.scale + q.out_q.zero_point).round()
    assert torch.equal(codes, integer_forward(q, eval_small.pixels).double())
    exported_runs(q, legacy=True)


def test_qat_keeps_pruned_weights_at_wz(tiny_trained, train_small, calib_small):
    prune_model(tiny_trained, "global-l1", 0.7)
    make_permanent(tiny_trained)
    zeros = {n: m.weight == 0 for n, m in tiny_trained.weighted()}
    net = keep_zeros(tiny_trained, lambda: qat_train(
        tiny_trained, train_small.head(200), TrainConfig(epochs=1, lr=1e-3), 3,
        calib=calib_small))
    q = export_qat(net, name="tiny_sparse_qat3")
    for op in q.weighted:
        assert bool(np.all(op.weight[zeros[op.name].numpy()] == op.w_zero_point)), op.name


def test_qat_bits_error(tiny_trained, train_small):
    with pytest.raises(FpgacError, match=r"qat.bits: expected an integer in \[2, 16\], found 1"):
        qat_train(tiny_trained, train_small.head(10), TrainConfig(epochs=1), 1)
