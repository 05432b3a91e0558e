"""Post-training quantization: affine parameters at every width, calibration, bias, mn/mqm0."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fpgac.compiler import ir
from fpgac.compress.quantize import (affine_params, calibrate, multiplier, quantize_model,
                                     quantize_weight)
from fpgac.errors import FpgacError


@pytest.mark.parametrize("n_bits", range(2, 17))
def test_weight_quantization_at_every_width(n_bits):
    gen = torch.Generator().manual_seed(n_bits)
    w = torch.randn(16, 3, 3, 3, generator=gen) * 0.2
    w[w.abs() < 0.1] = 0.0                               # pruned weights
    q, ws, wz = quantize_weight(w, n_bits)
    qmax = 2 ** n_bits - 1
    assert q.dtype == np.int64 and q.min() == 0 and q.max() == qmax
    assert 0 <= wz <= qmax
    assert ws == pytest.approx((float(w.max()) - float(w.min())) / qmax, rel=1e-12)
    zero = (w == 0).numpy()
    assert (q[zero] == wz).all()                          # pruned weights quantize to wz
    assert (w.abs().numpy()[q == wz] <= ws / 2 * (1 + 1e-9)).all()   # and only tiny ones do
    if n_bits >= 8:                                       # |w| >= 0.1 is many steps from 0
        assert np.array_equal(q == wz, zero)
    # away from the clamped ends, dequantized weights are within half a step of the floats
    inner = (q > 0) & (q < qmax)
    err = np.abs((q - wz) * ws - w.double().numpy())[inner]
    assert err.max() <= ws / 2 * (1 + 1e-9)


@pytest.mark.parametrize("n_bits", range(2, 17))
def test_affine_params_map_the_range_and_keep_zero(n_bits):
    qmax = 2 ** n_bits - 1
    scale, zp = affine_params(-1.0, 3.0, n_bits)
    assert scale == 4.0 / qmax and zp == round(1.0 / scale)
    # a range not containing 0 is widened to contain it
    assert affine_params(0.5, 2.0, n_bits) == (2.0 / qmax, 0)
    assert affine_params(-2.0, -0.5, n_bits) == (2.0 / qmax, qmax)
    assert affine_params(0.0, 0.0, n_bits) == (1.0, 0)


@pytest.mark.parametrize("bad", [1, 17, 8.0, True])
def test_bits_outside_2_to_16_are_refused(bad):
    with pytest.raises(FpgacError, match=rf"quant.bits: expected an integer in \[2, 16\], "
                                         rf"found {bad!r}"):
        affine_params(-1.0, 1.0, bad)


@pytest.mark.parametrize("n_bits", [2, 4, 8, 12, 16])
def test_multiplier_is_the_legacy_mn_mqm0(n_bits):
    rng = np.random.default_rng(n_bits)
    for _ in range(200):
        ws, ins, outs = (float(v) for v in 10.0 ** rng.uniform([-4, -4, -2], [-1, -1, 0]))
        mn, mqm0 = multiplier(ws, ins, outs, n_bits)
        m = ws * ins / outs
        m0 = m * 2.0 ** mn
        assert 0.5 <= m0 < 1.0                               # M = 2^-mn * M0, M0 in [0.5, 1)
        assert mqm0 == round(m0 * 2 ** n_bits)
        assert 2 ** (n_bits - 1) <= mqm0 <= 2 ** n_bits
        assert abs(mqm0 / 2 ** (mn + n_bits) - m) <= m * 2.0 ** -n_bits
    assert multiplier(0.75, 1.0, 1.0, 8) == (0, 192)
    assert multiplier(0.25, 1.0, 1.0, 8) == (1, 128)
    assert multiplier(1.0, 1.0, 0.5, 8) == (-2, 128)         # M = 2 = 2^2 * 0.5


def test_multiplier_errors():
    with pytest.raises(FpgacError, match=r"quant.multiplier: expected M = ws\*ins/outs > 0, "
                                         r"found 0.0"):
        multiplier(0.0, 1.0, 1.0, 8)
    with pytest.raises(FpgacError, match=r"quant.multiplier: expected mn in \[-8, 64\], "
                                         r"found -11"):
        multiplier(1024.0, 1.0, 1.0, 8)


def test_percentile_knob_ignores_the_tails(lenet_trained, train_small):
    calib = train_small.head(200)
    full = calibrate(lenet_trained, calib, 100.0)
    cut = calibrate(lenet_trained, calib, 99.0)
    assert set(full) == {"conv1", "conv2", "conv3", "fc1", "fc2"}
    for name in full:
        lo_f, hi_f = full[name]
        lo_c, hi_c = cut[name]
        assert lo_f <= lo_c <= hi_c <= hi_f
        assert hi_c < hi_f, name                         # the 1% tail is cut off
    # 100 = the exact min/max of the observed tensor (conv1 range seen after ReLU + pool)
    assert full["conv1"][0] == 0.0
    with pytest.raises(FpgacError, match=r"quant.percentile: expected a number in \(50, 100\], "
                                         r"found 40"):
        calibrate(lenet_trained, calib, 40)


@pytest.fixture(scope="module")
def ranges(_lenet_trained, train_small):
    return calibrate(_lenet_trained, train_small.head(100), 99.9)


@pytest.mark.parametrize("n_bits", [2, 3, 4, 6, 8, 10, 12, 16])
def test_quantize_model_chain_bias_and_params(lenet_trained, ranges, n_bits):
    model = quantize_model(lenet_trained, ranges, n_bits, name="q")
    qmax = 2 ** n_bits - 1
    ops = model.weighted
    assert [op.name for op in ops] == ["conv1", "conv2", "conv3", "fc1", "fc2"]
    # input: the exact normalized pixel range [-1, 1]
    assert model.input.quant.scale == 2.0 / qmax
    assert model.input.quant.zero_point == round(1.0 / (2.0 / qmax))
    prev = model.input.quant
    for op in ops:
        torch_mod = lenet_trained.layers[op.name]
        assert op.in_q == prev                           # scale/zero-point chain
        assert op.n_bits == n_bits and 0 <= op.w_zero_point <= qmax
        assert op.out_q == ir.QuantParams(*affine_params(*ranges[op.name], n_bits))
        bs = op.in_q.scale * op.w_scale                  # bias: scale ins*ws, zero point 0
        want = np.round(torch_mod.bias.detach().double().numpy() / bs).astype(np.int64)
        assert np.array_equal(op.bias, want)
        assert (op.mn, op.mqm0) == multiplier(op.w_scale, op.in_q.scale, op.out_q.scale,
                                              n_bits)
        wf, bf = model.float_reference[op.name]
        assert np.array_equal(wf, torch_mod.weight.detach().double().numpy())
        prev = op.out_q
    assert model.out_q == prev
    assert math.isclose(ops[0].w_scale * (qmax - 0),
                        float(lenet_trained.layers["conv1"].weight.max())
                        - float(lenet_trained.layers["conv1"].weight.min()), rel_tol=1e-12)
