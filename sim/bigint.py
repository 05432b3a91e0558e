"""An independent reference of ``docs/semantics.md`` in plain Python integers.

Nothing here shares code with :mod:`fpgac.sim.golden` (NumPy, int64 with range checks) or the
PyTorch integer mode (:mod:`fpgac.compress.integer`): Python ints never overflow, floor
division is exact at every size, and every loop is written out, so a disagreement with either
implementation is a bug in one of them, not in a shared helper. It is slow (pure Python loops)
and meant for small inputs: the random models of :mod:`fpgac.sim.randmodel` and the primitive
test vectors of :func:`requant_vectors`.

Contract
--------
* :func:`requantize` is semantics.md section 2 for one accumulator, any size of integers.
* :func:`run` executes a whole :class:`~fpgac.compiler.ir.Model` on quantized inputs and
  returns the last op's output flattened per image, as Python ints.
* :func:`requant_vectors` yields seeded random and edge-case primitive vectors (ties, largest
  operands, shift extremes) whose ``|acc * mqm0|`` stays below ``2^62`` (the golden's range).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..compiler import ir

__all__ = ["requantize", "accumulate", "run", "RequantVector", "requant_vectors",
           "ACC_LIMIT"]

#: ``|acc * mqm0|`` of every generated vector is below this (the golden's int64 range).
ACC_LIMIT = 2 ** 62


def requantize(acc: int, *, mqm0: int, shift: int, out_zero_point: int, relu: bool,
               n_bits: int, rounding: str = "floor") -> int:
    """``y = (acc*mqm0 + r) // 2^shift + outz``, ReLU at ``outz``, saturate to ``n_bits``.

    ``r = 2^(shift-1)`` for ``half_up`` with ``shift > 0``, else 0. Python ints: exact for any
    operand size.
    """
    if rounding not in ("floor", "half_up"):
        raise ValueError(f"rounding: expected 'floor' or 'half_up', found {rounding!r}")
    if shift < 0:
        raise ValueError(f"shift: expected >= 0, found {shift}")
    t = int(acc) * int(mqm0)
    r = (1 << (shift - 1)) if (rounding == "half_up" and shift > 0) else 0
    y = (t + r) // (1 << shift) + int(out_zero_point)
    if relu:
        y = max(y, int(out_zero_point))
    return min(max(y, 0), (1 << n_bits) - 1)


def accumulate(xs: list[int], ws: list[int], inz: int, wz: int, bias: int = 0) -> int:
    """``sum (x - inz) * (w - wz) + bias`` over paired taps, in Python ints."""
    if len(xs) != len(ws):
        raise ValueError(f"accumulate: expected equal lengths, found {len(xs)} and {len(ws)}")
    acc = int(bias)
    for x, w in zip(xs, ws):
        acc += (int(x) - inz) * (int(w) - wz)
    return acc


def _requant_op(acc: int, op: ir.Conv2d | ir.Linear, rounding: str) -> int:
    return requantize(acc, mqm0=op.mqm0, shift=op.mn + op.n_bits,
                      out_zero_point=op.out_q.zero_point, relu=op.relu, n_bits=op.n_bits,
                      rounding=rounding)


def _conv(x: list, op: ir.Conv2d, rounding: str) -> list:
    """``x`` is ``[C][H][W]`` of ints; returns ``[O][Ho][Wo]``."""
    w = op.weight.tolist()
    bias = op.bias.tolist() if op.bias is not None else [0] * op.out_channels
    inz, wz, k, s, p = op.in_q.zero_point, op.w_zero_point, op.kernel, op.stride, op.padding
    c, h, wd = len(x), len(x[0]), len(x[0][0])
    hp, wp = h + 2 * p, wd + 2 * p
    padded = [[[inz] * wp for _ in range(hp)] for _ in range(c)]
    for ci in range(c):
        for yy in range(h):
            padded[ci][yy + p][p:p + wd] = x[ci][yy]
    ho, wo = (hp - k) // s + 1, (wp - k) // s + 1
    out = []
    for o in range(op.out_channels):
        # only taps whose weight differs from wz (the rest contribute exactly 0)
        taps = [(ci, ky, kx, w[o][ci][ky][kx] - wz) for ci in range(c) for ky in range(k)
                for kx in range(k) if w[o][ci][ky][kx] != wz]
        plane = []
        for oy in range(ho):
            row = []
            for ox in range(wo):
                acc = bias[o]
                for ci, ky, kx, dw in taps:
                    acc += (padded[ci][oy * s + ky][ox * s + kx] - inz) * dw
                row.append(_requant_op(acc, op, rounding))
            plane.append(row)
        out.append(plane)
    return out


def _linear(x: list, op: ir.Linear, rounding: str) -> list:
    w = op.weight.tolist()
    bias = op.bias.tolist() if op.bias is not None else [0] * op.out_features
    inz, wz = op.in_q.zero_point, op.w_zero_point
    return [_requant_op(accumulate(x, w[o], inz, wz, bias[o]), op, rounding)
            for o in range(op.out_features)]


def _flat(x) -> list:
    if isinstance(x, list) and x and isinstance(x[0], list):
        return [v for sub in x for v in _flat(sub)]
    return list(x)


def run_one(model: ir.Model, q_image) -> list[int]:
    """Execute ``model`` on one quantized image ``[C][H][W]``; returns the flat output ints."""
    x = np.asarray(q_image).tolist()
    zp = model.input.quant.zero_point
    for op in model.ops:
        if isinstance(op, ir.Conv2d):
            x = _conv(x, op, model.rounding)
            zp = op.out_q.zero_point
        elif isinstance(op, ir.Linear):
            x = _linear(_flat(x), op, model.rounding)
            zp = op.out_q.zero_point
        elif isinstance(op, ir.ReLU):
            x = _map(x, lambda v, z=zp: max(v, z))
        elif isinstance(op, ir.MaxPool2d):
            x = [_pool(plane, op.kernel, op.stride) for plane in x]
        elif isinstance(op, ir.Flatten):
            x = _flat(x)
        else:
            raise TypeError(f"bigint.run: unknown op {type(op).__name__}")
    return _flat(x)


def _map(x, f):
    if isinstance(x, list):
        return [_map(v, f) for v in x]
    return f(x)


def _pool(plane: list, k: int, s: int) -> list:
    h, w = len(plane), len(plane[0])
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    return [[max(plane[oy * s + ky][ox * s + kx] for ky in range(k) for kx in range(k))
             for ox in range(wo)] for oy in range(ho)]


def run(model: ir.Model, q_input) -> list[list[int]]:
    """Execute ``model`` on quantized inputs ``[N, C, H, W]``; ``[N][classes]`` Python ints."""
    return [run_one(model, img) for img in np.asarray(q_input)]


@dataclass(frozen=True)
class RequantVector:
    """One requantizer test case: parameters plus a batch of accumulators."""

    accs: tuple[int, ...]
    mqm0: int
    shift: int
    out_zero_point: int
    relu: bool
    n_bits: int
    rounding: str
    kind: str                   # "random", "tie", "max", "shift", ...

    def expected(self) -> list[int]:
        return [requantize(a, mqm0=self.mqm0, shift=self.shift,
                           out_zero_point=self.out_zero_point, relu=self.relu,
                           n_bits=self.n_bits, rounding=self.rounding) for a in self.accs]


def requant_vectors(seed: int, count: int, *, per_vector: int = 64,
                    n_bits: tuple[int, int] = (2, 16), max_shift: int | None = None,
                    acc_bits: int | None = None) -> Iterator[RequantVector]:
    """Yield ``RequantVector`` s holding ``count`` accumulators in total.

    Parameters are drawn per vector (``n_bits`` in range, ``mqm0`` in ``[0, 2^n]`` with
    extremes, ``shift`` in ``[0, 64 + n]`` (``mn`` in ``[-n, 64]``) or ``max_shift``), then
    ``per_vector`` accumulators: a mix of uniform values, exact rounding ties
    (``acc*mqm0 = k*2^s +- 2^(s-1)``, +-1), the largest and smallest allowed operands, 0 and
    +-1. ``acc_bits`` caps ``|acc| < 2^acc_bits`` (for a hardware requantizer of that width).
    """
    rng = np.random.default_rng(seed)
    made = 0
    kinds = ["random", "tie", "max", "shift", "small"]
    while made < count:
        n = int(rng.integers(n_bits[0], n_bits[1] + 1))
        top = 1 << n
        kind = kinds[int(rng.integers(0, len(kinds)))]
        r = rng.random()
        mqm0 = int(rng.choice([0, 1, top, top - 1, top // 2])) if r < 0.2 else \
            int(rng.integers(0, top + 1))
        smax = 64 + n if max_shift is None else max_shift
        if kind == "shift":
            shift = int(rng.choice([0, 1, 2, 61, 62, 63, 64, smax, smax - 1]))
            shift = min(shift, smax)
        else:
            shift = int(rng.integers(0, min(smax, 2 * n + 24) + 1))
        zp = int(rng.choice([0, top - 1])) if rng.random() < 0.25 else \
            int(rng.integers(0, top))
        relu = bool(rng.random() < 0.5)
        rounding = "floor" if rng.random() < 0.5 else "half_up"
        amax = (ACC_LIMIT - 1) // max(mqm0, 1)
        if acc_bits is not None:
            amax = min(amax, (1 << (acc_bits - 1)) - 1)
        m = min(per_vector, count - made)
        accs = []
        for _ in range(m):
            accs.append(_acc(rng, kind, amax, mqm0, shift, n))
        made += m
        yield RequantVector(tuple(accs), mqm0, shift, zp, relu, n, rounding, kind)


def _acc(rng: np.random.Generator, kind: str, amax: int, mqm0: int, shift: int, n: int) -> int:
    if kind == "max":
        return int(rng.choice([amax, -amax, amax - 1, -amax + 1, 0, 1, -1]))
    if kind == "small":
        return int(rng.integers(-(1 << (n + 2)), (1 << (n + 2)) + 1))
    if kind == "tie" and mqm0 > 0 and shift > 0:
        # acc*mqm0 near (k + 1/2) * 2^shift: pick k, solve for acc, keep exact ties when
        # mqm0 divides the target.
        span = max(1, min(amax * mqm0 >> shift, 1 << 40))
        k = int(rng.integers(-span, span + 1))
        target = k * (1 << shift) + (1 << (shift - 1)) + int(rng.integers(-1, 2))
        acc = target // mqm0 + int(rng.integers(-1, 2))
        return max(-amax, min(amax, acc))
    # random: a uniform magnitude on a random bit scale
    bits = int(rng.integers(0, max(1, amax.bit_length()) + 1))
    mag = int(rng.integers(0, 1 << bits)) if bits < 63 else int(rng.integers(0, 2 ** 62))
    mag = min(mag, amax)
    return -mag if rng.random() < 0.5 else mag
