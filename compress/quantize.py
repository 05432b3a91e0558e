"""Post-training asymmetric quantization of a (pruned) float CNN into the integer IR.

Contract
--------
* Weights, per layer: range ``[min(w.min(), 0), max(w.max(), 0)]`` (0 always inside, so a pruned
  0.0 quantizes to exactly ``wz`` and counts as zero), ``ws = (hi - lo) / (2**n - 1)``,
  ``wz = clamp(round(-lo / ws))``, ``q = clamp(round(w / ws) + wz, 0, 2**n - 1)``.
* Activations: the network input range is the exact normalized pixel range
  ``[(0 - mean)/std, (1 - mean)/std]``; every other activation (the input of each following
  weighted layer and the network output) is calibrated on training images: ``lo`` / ``hi`` are
  the ``100 - percentile`` / ``percentile`` percentiles of the observed float values, widened to
  contain 0; ``scale = (hi - lo) / (2**n - 1)``, ``zero_point = clamp(round(-lo / scale))``.
* Bias: ``round(b / (ins * ws))``, signed, zero point 0.
* Requantization multiplier exactly as the legacy format: ``M = ws * ins / outs = 2**-mn * M0``
  with ``M0`` in ``[0.5, 1)`` (``math.frexp``), ``mqm0 = round(M0 * 2**n)``; ``mqm0 == 2**n``
  is kept (allowed).
* ``round`` is round-half-even everywhere (Python ``round`` / ``torch.round``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from fpgac.compiler import ir
from fpgac.errors import FpgacError

from .data import Dataset, normalize
from .models import CNN

__all__ = [
    "affine_params", "quantize_weight", "multiplier", "calibrate", "quantize_model",
]


def _bits(n_bits: int) -> int:
    if isinstance(n_bits, bool) or not isinstance(n_bits, int) or not 2 <= n_bits <= 16:
        raise FpgacError(f"quant.bits: expected an integer in [2, 16], found {n_bits!r}")
    return n_bits


def affine_params(lo: float, hi: float, n_bits: int) -> tuple[float, int]:
    """``(scale, zero_point)`` mapping ``[min(lo, 0), max(hi, 0)]`` onto ``[0, 2**n - 1]``.

    A degenerate range (both 0) gets scale 1.0 and zero point 0.
    """
    qmax = 2 ** _bits(n_bits) - 1
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo <= 0.0:
        return 1.0, 0
    scale = (hi - lo) / qmax
    zp = min(max(int(round(-lo / scale)), 0), qmax)
    return scale, zp


def quantize_weight(w: torch.Tensor, n_bits: int) -> tuple[np.ndarray, float, int]:
    """``(q, ws, wz)``: ``q`` int64 with the shape of ``w``; ``q == wz`` exactly where
    ``w == 0``."""
    w64 = w.detach().to(torch.float64)
    ws, wz = affine_params(float(w64.min()), float(w64.max()), n_bits)
    q = torch.clamp(torch.round(w64 / ws) + wz, 0, 2 ** n_bits - 1).to(torch.int64)
    return q.numpy(), ws, wz


def multiplier(ws: float, ins: float, outs: float, n_bits: int) -> tuple[int, int]:
    """``(mn, mqm0)`` with ``ws * ins / outs = 2**-mn * M0``, ``M0`` in ``[0.5, 1)``,
    ``mqm0 = round(M0 * 2**n_bits)`` (``2**n_bits`` kept when ``M0`` rounds up to it).

    Raises
    ------
    FpgacError
        When ``M`` is not positive or ``mn`` falls outside ``[-n_bits, 64]``.
    """
    m = ws * ins / outs
    if not m > 0 or not math.isfinite(m):
        raise FpgacError(f"quant.multiplier: expected M = ws*ins/outs > 0, found {m!r}")
    m0, e = math.frexp(m)
    mn = -e
    if not -n_bits <= mn <= 64:
        raise FpgacError(f"quant.multiplier: expected mn in [{-n_bits}, 64], found {mn} "
                         f"(M = {m!r})")
    return mn, int(round(m0 * 2 ** n_bits))


@torch.no_grad()
def calibrate(model: CNN, data: Dataset, percentile: float = 99.99,
              batch_size: int = 500, max_values: int = 4_000_000) -> dict[str, tuple[float, float]]:
    """Float activation ranges ``name -> (lo, hi)`` at the *output side* of each weighted layer.

    The range of layer ``L`` is observed where it is consumed: at the input of the next weighted
    layer (after any ReLU / max-pool / flatten in between) or at the network output. ``lo`` and
    ``hi`` are the ``100 - percentile`` and ``percentile`` percentiles (at most ``max_values``
    evenly strided samples per layer are used for the percentile).
    """
    if not 50.0 < percentile <= 100.0:
        raise FpgacError(f"quant.percentile: expected a number in (50, 100], found {percentile!r}")
    if len(data) == 0:
        raise FpgacError("quant.calib: expected at least 1 calibration image, found 0")
    model.eval()
    names = [li.name for li in model.info]
    owner: dict[str, str] = {}
    current = None
    for li in model.info:
        if li.kind in ("conv2d", "linear"):
            current = li.name
        owner[li.name] = current
    # the tensor observed for weighted layer L: output of the last op before the next weighted op
    observe_at: dict[str, str] = {}
    for i, li in enumerate(model.info):
        nxt = model.info[i + 1] if i + 1 < len(model.info) else None
        if nxt is None or nxt.kind in ("conv2d", "linear"):
            observe_at[li.name] = owner[li.name]
    seen: dict[str, list[torch.Tensor]] = {w: [] for w in observe_at.values()}
    for start in range(0, len(data), batch_size):
        x = normalize(data.pixels[start:start + batch_size])
        for name in names:
            x = model.layers[name](x)
            if name in observe_at:
                seen[observe_at[name]].append(x.detach().flatten().to(torch.float64))
    ranges = {}
    for name, chunks in seen.items():
        v = torch.cat(chunks).numpy()
        if v.size > max_values:
            v = v[:: -(-v.size // max_values)]
        ranges[name] = (float(np.percentile(v, 100.0 - percentile)),
                        float(np.percentile(v, percentile)))
    return ranges


def quantize_model(model: CNN, ranges: dict[str, tuple[float, float]], n_bits: int,
                   name: str = "model", mean: float = 0.5, std: float = 0.5,
                   rounding: str = "floor") -> ir.Model:
    """Quantize ``model`` (weights as they are now: prune masks applied) into an IR model.

    The op chain mirrors the spec (explicit ReLU / MaxPool2d / Flatten ops), the input spec is
    ``mean``/``std`` normalization of 8-bit pixels, and ``float_reference`` holds the float
    weights and biases.
    """
    _bits(n_bits)
    in_scale, in_zp = affine_params((0.0 - mean) / std, (1.0 - mean) / std, n_bits)
    q_in = ir.QuantParams(in_scale, in_zp)
    ops: list[ir.Op] = []
    floats: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    cur = q_in
    for li in model.info:
        mod = model.layers[li.name]
        if li.kind in ("conv2d", "linear"):
            q, ws, wz = quantize_weight(mod.weight, n_bits)
            out = ir.QuantParams(*affine_params(*ranges[li.name], n_bits))
            bias = None
            if mod.bias is not None:
                b = mod.bias.detach().to(torch.float64)
                bias = torch.round(b / (cur.scale * ws)).to(torch.int64).numpy()
            mn, mqm0 = multiplier(ws, cur.scale, out.scale, n_bits)
            common = dict(name=li.name, weight=q, bias=bias, in_q=cur, out_q=out, w_scale=ws,
                          w_zero_point=wz, mn=mn, mqm0=mqm0, n_bits=n_bits)
            if li.kind == "conv2d":
                ops.append(ir.Conv2d(**common, stride=li.params["stride"],
                                     padding=li.params["padding"]))
            else:
                ops.append(ir.Linear(**common))
            floats[li.name] = (mod.weight.detach().numpy().astype(np.float64),
                               None if mod.bias is None
                               else mod.bias.detach().numpy().astype(np.float64))
            cur = out
        elif li.kind == "relu":
            ops.append(ir.ReLU(name=li.name))
        elif li.kind == "maxpool2d":
            ops.append(ir.MaxPool2d(kernel=li.params["kernel"], stride=li.params["stride"],
                                    name=li.name))
        else:
            ops.append(ir.Flatten(name=li.name))
    spec = ir.InputSpec(shape=tuple(model.input_shape), quant=q_in, n_bits=n_bits,
                        mean=mean, std=std)
    return ir.Model(input=spec, ops=ops, out_q=cur, rounding=rounding, name=name,
                    source_format="pytorch", float_reference=floats)
