"""The golden model against an independent pure-Python reference (ints and loops), 0 LSB."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fpgac.compiler.ir import (Conv2d, Flatten, InputSpec, Linear, MaxPool2d, Model,
                               QuantParams, ReLU)
from fpgac.errors import FpgacError, ModelError
from fpgac.sim import golden
from fpgac.sim.golden import requantize
from fpgac.sim.randmodel import random_model


# ---------------------------------------------------------------------------------------------
# Independent reference: Python ints, nested lists, the formulas of docs/semantics.md verbatim.

def ref_requant(acc, mqm0, shift, zp, relu, n, rounding):
    t = acc * mqm0
    r = 2 ** (shift - 1) if rounding == "half_up" and shift > 0 else 0
    y = (t + r) // 2 ** shift + zp
    if relu:
        y = max(y, zp)
    return min(max(y, 0), 2 ** n - 1)


def ref_conv(x, op, rounding, relu):
    c_in, h, w = len(x), len(x[0]), len(x[0][0])
    k, s, p = op.kernel, op.stride, op.padding
    inz, wz = op.in_q.zero_point, op.w_zero_point
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = []
    for o in range(op.out_channels):
        plane = []
        for oy in range(ho):
            row = []
            for ox in range(wo):
                acc = int(op.bias[o]) if op.bias is not None else 0
                for c in range(c_in):
                    for ky in range(k):
                        for kx in range(k):
                            iy, ix = oy * s + ky - p, ox * s + kx - p
                            v = x[c][iy][ix] if 0 <= iy < h and 0 <= ix < w else inz
                            acc += (v - inz) * (int(op.weight[o, c, ky, kx]) - wz)
                row.append(ref_requant(acc, op.mqm0, op.shift, op.out_q.zero_point, relu,
                                       op.n_bits, rounding))
            plane.append(row)
        out.append(plane)
    return out


def ref_linear(x, op, rounding, relu):
    out = []
    for o in range(op.out_features):
        acc = int(op.bias[o]) if op.bias is not None else 0
        for k, v in enumerate(x):
            acc += (v - op.in_q.zero_point) * (int(op.weight[o, k]) - op.w_zero_point)
        out.append(ref_requant(acc, op.mqm0, op.shift, op.out_q.zero_point, relu, op.n_bits,
                               rounding))
    return out


def ref_pool(x, k, s):
    h, w = len(x[0]), len(x[0][0])
    return [[[max(ch[oy * s + dy][ox * s + dx] for dy in range(k) for dx in range(k))
              for ox in range((w - k) // s + 1)] for oy in range((h - k) // s + 1)] for ch in x]


def ref_run(model, image, trace=None):
    """Logits of one image; appends every op's output to ``trace`` if given."""
    x = image.tolist()
    zp = model.input.quant.zero_point
    for op in model.ops:
        if isinstance(op, Conv2d):
            x, zp = ref_conv(x, op, model.rounding, op.relu), op.out_q.zero_point
        elif isinstance(op, Linear):
            x, zp = ref_linear(x, op, model.rounding, op.relu), op.out_q.zero_point
        elif isinstance(op, ReLU):
            x = np.maximum(np.array(x, dtype=object), zp).tolist()
        elif isinstance(op, MaxPool2d):
            x = ref_pool(x, op.kernel, op.stride)
        elif isinstance(op, Flatten):
            x = np.array(x, dtype=object).reshape(-1).tolist()
        if trace is not None:
            trace.append(np.array(x, dtype=np.int64))
    return [int(v) for v in np.array(x, dtype=object).reshape(-1)]


# ---------------------------------------------------------------------------------------------
# Tiny models

def tiny_model(rng, *, n=8, rounding="floor", fused=False, stride=2, padding=1, bias=True,
               density=0.4):
    """conv(pad, stride) -> relu -> conv(pad 1) -> relu -> maxpool -> flatten -> linear
    -> relu -> linear, with random parameters in the ranges of semantics.md."""
    hi = 2 ** n - 1

    def qp():
        return QuantParams(0.05, int(rng.integers(0, hi + 1)))

    def weights(shape, wz):
        w = rng.integers(0, hi + 1, size=shape)
        return np.where(rng.random(shape) < density, w, wz).astype(np.int64)

    def b(o):
        return rng.integers(-(2 ** (n + 4)), 2 ** (n + 4), size=o).astype(np.int64) if bias \
            else None

    def mq():
        return dict(mqm0=int(rng.integers(2 ** (n - 1), 2 ** n + 1)), mn=int(rng.integers(1, 6)))

    q0, q1, q2, q3, q4 = qp(), qp(), qp(), qp(), qp()
    wz = [int(rng.integers(0, hi + 1)) for _ in range(4)]
    c1 = Conv2d("c1", weights((3, 2, 3, 3), wz[0]), b(3), q0, q1, 0.01, wz[0], n_bits=n,
                stride=stride, padding=padding, **mq())
    c2 = Conv2d("c2", weights((4, 3, 3, 3), wz[1]), b(4), q1, q2, 0.01, wz[1], n_bits=n,
                padding=1, **mq())
    # spatial size: 9 -> (9 + 2p - 3)//s + 1 -> same -> pool
    h1 = (9 + 2 * padding - 3) // stride + 1
    hp = (h1 - 2) // 2 + 1
    feats = 4 * hp * hp
    f1 = Linear("f1", weights((5, feats), wz[2]), b(5), q2, q3, 0.01, wz[2], n_bits=n, **mq())
    f2 = Linear("f2", weights((3, 5), wz[3]), b(3), q3, q4, 0.01, wz[3], n_bits=n, **mq())
    ops = [c1, ReLU(), c2, ReLU(), MaxPool2d(2, 2), Flatten(), f1, ReLU(), f2]
    model = Model(InputSpec((2, 9, 9), q0, n), ops, q4, rounding=rounding)
    return fuse(model) if fused else model


def fuse(model):
    """Fold every standalone ReLU into the weighted op before it (what the fusion pass does)."""
    ops = []
    for op in model.ops:
        if isinstance(op, ReLU) and ops and isinstance(ops[-1], (Conv2d, Linear)):
            ops[-1] = dataclasses.replace(ops[-1], relu=True)
        else:
            ops.append(op)
    return dataclasses.replace(model, ops=ops)


def inputs(rng, model, count):
    hi = 2 ** model.input.n_bits - 1
    return rng.integers(0, hi + 1, size=(count,) + tuple(model.input.shape)).astype(np.int64)


@pytest.mark.parametrize("rounding", ["floor", "half_up"])
@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (1, 2)])
@pytest.mark.parametrize("n", [4, 8])
def test_tiny_models_match_reference(rounding, stride, padding, n):
    rng = np.random.default_rng(hash((rounding, stride, padding, n)) % 2**32)
    for trial in range(3):
        model = tiny_model(rng, n=n, rounding=rounding, stride=stride, padding=padding,
                           bias=trial != 1, density=(0.1, 0.5, 1.0)[trial])
        x = inputs(rng, model, 4)
        logits, outs = golden.run(model, x, intermediates=True)
        traces = [[] for _ in x]
        want = np.array([ref_run(model, img, t) for img, t in zip(x, traces)], dtype=np.int64)
        assert logits.dtype == np.int64 and logits.shape == (4, 3)
        np.testing.assert_array_equal(logits, want)
        assert len(outs) == len(model.ops)
        for i, out in enumerate(outs):
            np.testing.assert_array_equal(out, [t[i] for t in traces], err_msg=f"op {i}")
        np.testing.assert_array_equal(outs[-1], logits)
        # fused ReLUs give identical integers, op by op on the weighted outputs
        fused = fuse(model)
        np.testing.assert_array_equal(golden.run(fused, x), logits)
        # batch size and the int64 matmul path change nothing
        np.testing.assert_array_equal(golden.run(model, x, batch_size=1, method="int64"),
                                      logits)


def test_relu_changes_something():
    """Guard against a reference and golden that both ignore ReLU: removing ReLUs must matter."""
    rng = np.random.default_rng(7)
    diff = 0
    for _ in range(5):
        model = tiny_model(rng)
        plain = dataclasses.replace(model, ops=[op for op in model.ops
                                                if not isinstance(op, ReLU)])
        x = inputs(rng, model, 8)
        diff += int((golden.run(model, x) != golden.run(plain, x)).sum())
        np.testing.assert_array_equal(golden.run(plain, x),
                                      [ref_run(plain, img) for img in x])
    assert diff > 0


def test_random_models_match_reference():
    """Models from sim.randmodel (n_bits 2..16, extreme zero points, mqm0 and mn) vs reference."""
    for seed in range(25):
        model = random_model(seed)
        rng = np.random.default_rng(seed)
        x = inputs(rng, model, 2)
        want = np.array([ref_run(model, img) for img in x], dtype=np.int64)
        np.testing.assert_array_equal(golden.run(model, x), want, err_msg=f"seed {seed}")


def test_float_path_matches_int64_on_lenet_sized_layers():
    """The exact-by-bound BLAS path (float64 here) equals the int64 path, values > 2^24."""
    rng = np.random.default_rng(3)
    w = rng.integers(200, 256, size=(16, 16, 5, 5))
    x = rng.integers(0, 30, size=(20, 16, 14, 14))
    a = golden.conv2d_acc(x, w, None, 255, 0, n_bits=8)          # bound ~400*255*228 > 2^24
    b = golden.conv2d_acc(x, w, None, 255, 0, n_bits=8, method="int64")
    np.testing.assert_array_equal(a, b)
    assert np.abs(a).max() > 2 ** 24
    w2 = rng.integers(2 ** 23, 2 ** 24, size=(10, 64))
    x2 = rng.integers(2 ** 23, 2 ** 24, size=(7, 64))
    a2 = golden.linear_acc(x2, w2, None, 0, 0, n_bits=24)        # bound > 2^53: int64 path
    assert a2.max() > 2 ** 53
    want = [[sum(int(p) * int(q) for p, q in zip(xr, wr)) for wr in w2] for xr in x2]
    assert a2.tolist() == want


# ---------------------------------------------------------------------------------------------
# requantize edge vectors

@pytest.mark.parametrize("acc,mqm0,shift,zp,relu,n,rounding,want", [
    # half_up ties go up (towards +inf), floor goes down
    (3, 1, 1, 0, False, 8, "half_up", 2),          # 1.5 -> 2
    (-3, 1, 1, 10, False, 8, "half_up", 9),        # -1.5 -> -1, + 10
    (-5, 1, 1, 10, False, 8, "half_up", 8),        # -2.5 -> -2, + 10
    (3, 1, 1, 0, False, 8, "floor", 1),
    (-3, 1, 1, 10, False, 8, "floor", 8),          # -1.5 -> -2 (floor, not truncation)
    (-1, 1, 4, 10, False, 8, "floor", 9),          # -1/16 floors to -1
    (-1, 1, 4, 10, False, 8, "half_up", 10),       # -1/16 rounds to 0
    (7, 3, 0, 1, False, 8, "half_up", 22),         # shift 0: r = 0
    (7, 3, 0, 1, False, 8, "floor", 22),
    (10**6, 256, 8, 5, False, 8, "floor", 255),    # saturation high
    (-10**6, 256, 8, 5, False, 8, "floor", 0),     # saturation low
    (-10**6, 256, 8, 5, True, 8, "floor", 5),      # relu clamps to zp before saturation
    (12345, 0, 3, 77, False, 8, "floor", 77),      # mqm0 0
    (-12345, 0, 3, 77, True, 8, "half_up", 77),
    (100, 256, 8, 0, False, 8, "floor", 100),      # mqm0 = 2^n: identity when shift = n
    (100, 16, 4, 3, False, 4, "floor", 15),        # n = 4: 103 saturates at 15
    (2**40, 2**16, 70, 3, False, 16, "floor", 3),  # shift >= 63
    (-(2**40), 2**16, 70, 3, False, 16, "floor", 2),
    (-(2**40), 2**16, 70, 3, False, 16, "half_up", 3),
    (2**45, 2**16, 62, 0, False, 16, "half_up", 1),
    (2**45 - 1, 2**16, 62, 0, False, 16, "half_up", 0),
])
def test_requantize_edges(acc, mqm0, shift, zp, relu, n, rounding, want):
    got = requantize(np.array([acc]), mqm0=mqm0, shift=shift, out_zero_point=zp, relu=relu,
                     n_bits=n, rounding=rounding)
    assert got.dtype == np.int64 and got.tolist() == [want]
    assert want == ref_requant(acc, mqm0, shift, zp, relu, n, rounding)


def test_requantize_matches_reference_exhaustively():
    rng = np.random.default_rng(11)
    for n in (2, 5, 8, 12, 16):
        acc = rng.integers(-(2 ** (2 * n + 6)), 2 ** (2 * n + 6), size=400)
        acc[:5] = [0, 1, -1, 2 ** (n + 3), -(2 ** (n + 3))]
        for rounding in ("floor", "half_up"):
            for relu in (False, True):
                mqm0 = int(rng.integers(0, 2 ** n + 1))
                shift = int(rng.integers(0, 3 * n))
                zp = int(rng.integers(0, 2 ** n))
                got = requantize(acc, mqm0=mqm0, shift=shift, out_zero_point=zp, relu=relu,
                                 n_bits=n, rounding=rounding)
                assert got.tolist() == [ref_requant(int(a), mqm0, shift, zp, relu, n, rounding)
                                        for a in acc]


@pytest.mark.parametrize("kwargs,message", [
    (dict(mqm0=257), "requantize.mqm0: expected an integer in [0, 256], found 257"),
    (dict(mqm0=-1), "requantize.mqm0: expected an integer in [0, 256], found -1"),
    (dict(out_zero_point=256), "requantize.out_zero_point: expected an integer in [0, 255]"),
    (dict(shift=-1), "requantize.shift: expected an integer in [0, 1000000], found -1"),
    (dict(rounding="even"), "requantize.rounding: expected 'floor' or 'half_up', found 'even'"),
])
def test_requantize_rejects_bad_parameters(kwargs, message):
    args = dict(mqm0=200, shift=10, out_zero_point=3, relu=False, n_bits=8, rounding="floor")
    args.update(kwargs)
    with pytest.raises(FpgacError) as exc:
        requantize(np.array([1]), **args)
    assert message in str(exc.value)


# ---------------------------------------------------------------------------------------------
# Range assertions

def test_product_overflow_is_rejected_not_wrapped():
    with pytest.raises(FpgacError, match=r"acc \* mqm0: expected \|value\| < 2\^62"):
        requantize(np.array([2**47]), mqm0=2**16, shift=20, out_zero_point=0, relu=False,
                   n_bits=16)


def test_accumulator_bound_over_2_62_is_rejected_by_check_model():
    n = 16
    w = np.zeros((1, 1), dtype=np.int64)
    op = Linear("big", w, np.array([2**62], dtype=np.int64), QuantParams(1.0, 0),
                QuantParams(1.0, 0), 1.0, 0, mn=0, mqm0=1, n_bits=n)
    model = Model(InputSpec((1, 1, 1), QuantParams(1.0, 0), n), [Flatten(), op],
                  QuantParams(1.0, 0))
    with pytest.raises(ModelError) as exc:
        golden.run(model, np.zeros((1, 1, 1, 1), dtype=np.int64))
    assert str(exc.value) == ("ops[1] (big).weight: expected an accumulator bound times mqm0 "
                              f"below 2^62, found a bound of {2**62} with mqm0 1")
    n = 24                                                   # 16 * (2^24-1)^2 * 2^24 > 2^62
    op = Linear("wide", np.full((2, 16), 2**n - 1), None, QuantParams(1.0, 0),
                QuantParams(1.0, 0), 1.0, 0, mn=0, mqm0=2**n, n_bits=n)
    model = Model(InputSpec((1, 4, 4), QuantParams(1.0, 0), n), [Flatten(), op],
                  QuantParams(1.0, 0))
    with pytest.raises(ModelError, match=r"ops\[1\] \(wide\)\.weight: expected an accumulator "
                                         r"bound times mqm0 below 2\^62, found a bound of "
                                         f"{16 * (2**n - 1)**2} with mqm0 {2**n}"):
        golden.run(model, np.zeros((1, 1, 4, 4), dtype=np.int64))
    # the same layer with a small mqm0 runs, exactly
    op.mqm0 = 1
    x = np.full((1, 1, 4, 4), 2**n - 1)
    assert golden.run(model, x).tolist() == [[min(16 * (2**n - 1)**2 >> n, 2**n - 1)] * 2]


def test_accumulator_bound_from_weights():
    rng = np.random.default_rng(5)
    model = tiny_model(rng)
    for op in model.weighted:
        wd = np.abs(op.weight.astype(np.int64) - op.w_zero_point).reshape(op.weight.shape[0], -1)
        inz = op.in_q.zero_point
        want = max(int(r.sum()) * max(inz, 255 - inz) + abs(int(b))
                   for r, b in zip(wd, op.bias))
        assert golden.accumulator_bound(op) == want


def test_bad_inputs_are_rejected():
    rng = np.random.default_rng(1)
    model = tiny_model(rng, n=4)
    x = inputs(rng, model, 2)
    x[1, 0, 3, 3] = 16
    with pytest.raises(FpgacError, match=r"q_input: expected values in \[0, 15\], found values "
                                         r"in \[0, 16\]"):
        golden.run(model, x)
    with pytest.raises(FpgacError, match=r"q_input: expected shape \[N, 2, 9, 9\], found "
                                         r"\[2, 2, 9, 8\]"):
        golden.run(model, x[..., :8])
    with pytest.raises(FpgacError, match="q_input: expected integers, found dtype float64"):
        golden.run(model, x.astype(float))
    bad = dataclasses.replace(model, ops=[dataclasses.replace(model.ops[0], mqm0=17)]
                              + model.ops[1:])
    with pytest.raises(ModelError, match=r"ops\[0\] \(c1\)\.mqm0: expected an integer in "
                                         r"\[0, 16\], found 17"):
        golden.run(bad, inputs(rng, model, 1))
    bad_w = model.ops[0].weight.copy()
    bad_w[0, 0, 0, 0] = 99
    bad = dataclasses.replace(model, ops=[dataclasses.replace(model.ops[0], weight=bad_w)]
                              + model.ops[1:])
    with pytest.raises(ModelError, match=r"ops\[0\] \(c1\)\.weight: expected integers in "
                                         r"\[0, 15\], found a weight of 99"):
        golden.run(bad, inputs(rng, model, 1))


# ---------------------------------------------------------------------------------------------
# Pooling, argmax, predict

def test_pool_floor_mode_drops_partial_windows():
    x = np.arange(2 * 5 * 7).reshape(1, 2, 5, 7)
    model = Model(InputSpec((2, 5, 7), QuantParams(1.0, 0), 8), [MaxPool2d(2, 2)],
                  QuantParams(1.0, 0))
    out = golden.run(model, x).reshape(2, 2, 3)
    assert out.tolist() == np.array(ref_pool(x[0].tolist(), 2, 2)).tolist()
    assert out[0].tolist() == [[8, 10, 12], [22, 24, 26]]


def test_predict_first_maximum_and_preprocessing():
    n = 8
    w = np.zeros((3, 4), dtype=np.int64)                  # every logit = zp + bias term
    op = Linear("fc", w, np.array([5, 9, 9], dtype=np.int64), QuantParams(0.1, 0),
                QuantParams(0.1, 10), 1.0, 0, mn=0, mqm0=2**n, n_bits=n)
    model = Model(InputSpec((1, 2, 2), QuantParams(1 / 127.5, 128), n), [Flatten(), op],
                  QuantParams(0.1, 10))
    logits, classes = golden.predict(model, np.zeros((2, 2, 2), dtype=np.uint8))
    assert logits.tolist() == [[15, 19, 19]] * 2
    assert classes.tolist() == [1, 1]


def test_float32_path_at_its_bound_and_with_dropped_taps():
    """Bound just below 2^24 (float32 path), most taps all-wz (dropped): equal to int64."""
    rng = np.random.default_rng(5)
    w = np.full((4, 3, 5, 5), 128, dtype=np.int64)
    w[:, 0, :2, :] = rng.integers(0, 256, size=(4, 2, 5))      # 10 of 75 taps are used
    w[0, 0, :2, :] = 0                                          # |w - wz| = 128 on 10 taps
    x = rng.choice([0, 255], size=(6, 3, 9, 9))
    x[0] = 255                                  # filter 0 reaches -bound on image 0
    bound = golden.accumulator_bound(Conv2d("c", w, None, QuantParams(1.0, 0),
                                            QuantParams(1.0, 0), 1.0, 128, 0, 1, 8))
    assert bound == 255 * 10 * 128 < 2 ** 24
    a = golden.conv2d_acc(x, w, None, 0, 128, padding=1, n_bits=8)
    b = golden.conv2d_acc(x, w, None, 0, 128, padding=1, n_bits=8, method="int64")
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.int64 and a.min() == -bound == a[0, 0, 4, 4]
