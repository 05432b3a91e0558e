"""Quantization-aware training (QAT): the integer path simulated in float, with an STE.

:class:`QATNet` wraps a :class:`~fpgac.compress.models.CNN` and runs it the way
:func:`fpgac.compress.quantize.quantize_model` and docs/semantics.md will run it after export,
for any ``n_bits``, asymmetric and per layer, with the *same* range rules:

* input: normalized pixels quantized with the exact normalized pixel range (as the pixel table);
* weights: ``quantize_weight``'s rule, recomputed every step from the current weights
  (``[min(w.min(), 0), max(w.max(), 0)]``, so a pruned 0.0 stays exactly ``wz``);
* bias: ``round(b / (ins * ws))`` at scale ``ins * ws``;
* outputs: the activation ranges are those of :func:`fpgac.compress.quantize.calibrate` (same
  percentile rule), measured on the float network before QAT and then frozen;
* requantization: the accumulator ``acc = round(y / (ins * ws))`` (an integer up to float
  error) is requantized exactly as the integer path does, ``(acc * mqm0 + r) // 2**(mn + n)``
  with ``mn``/``mqm0`` from :func:`~fpgac.compress.quantize.multiplier` and the model's rounding,
  in float64 (exact for these magnitudes), then saturated; ReLU / max-pool / flatten act on
  the dequantized values, which is exact because they commute with requantization.

Gradients use the clipped straight-through estimator: every rounding is the identity for the
backward pass, and values clipped by saturation get no gradient. After training,
:func:`export_qat` calls ``quantize_model`` with the frozen ranges: the exported integer model is
the one the network was trained against, and the golden model runs it bit-exactly (it is an
ordinary IR model).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from fpgac import semantics
from fpgac.compiler import ir
from fpgac.errors import FpgacError

from ..data import Dataset
from ..models import CNN
from ..quantize import affine_params, calibrate, multiplier, quantize_model
from ..train import TrainConfig, train

__all__ = ["ste", "fake_quant", "QATNet", "qat_train", "export_qat"]


def ste(x: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``value`` in the forward pass, the gradient of ``x`` in the backward pass."""
    return x + (value - x).detach()


def fake_quant(x: torch.Tensor, scale: float, zero_point: int, n_bits: int,
               rounding: str = "half_even") -> torch.Tensor:
    """``(clamp(rnd(x / scale) + zp, 0, 2**n - 1) - zp) * scale`` with a clipped STE.

    ``rounding``: ``half_even`` (``torch.round``), ``floor`` or ``half_up``
    (``floor(v + 1/2)``). The gradient is 1 where ``x`` lies inside the representable range and
    0 where saturation clips it.
    """
    qmax = 2 ** n_bits - 1
    lo, hi = (0 - zero_point) * scale, (qmax - zero_point) * scale
    v = x / scale
    if rounding == "half_even":
        r = torch.round(v)
    elif rounding == "floor":
        r = torch.floor(v)
    elif rounding == "half_up":
        r = torch.floor(v + 0.5)
    else:
        raise FpgacError(f"qat.rounding: expected half_even, floor or half_up, "
                         f"found {rounding!r}")
    q = torch.clamp(r + zero_point, 0, qmax)
    return ste(torch.clamp(x, lo, hi), (q - zero_point) * scale)


def _weight(mod: nn.Module) -> torch.Tensor:
    """The effective weight, also for a module under ``torch.nn.utils.prune``."""
    if hasattr(mod, "weight_orig"):
        return mod.weight_orig * mod.weight_mask
    return mod.weight


class QATNet(nn.Module):
    """``cnn`` run with fake quantization (see the module doc); shares ``cnn``'s parameters.

    Parameters
    ----------
    cnn
        The float network; its weights are trained in place through this wrapper.
    ranges
        Activation ranges ``name -> (lo, hi)`` as returned by ``quantize.calibrate``.
    n_bits
        Width of every weight and activation (2..16).
    rounding
        Requantization rounding of the exported model (``floor`` or ``half_up``).
    """

    def __init__(self, cnn: CNN, ranges: dict[str, tuple[float, float]], n_bits: int, *,
                 rounding: str = "floor", mean: float = 0.5, std: float = 0.5):
        super().__init__()
        if rounding not in ("floor", "half_up"):
            raise FpgacError(f"qat.rounding: expected 'floor' or 'half_up', found {rounding!r}")
        self.cnn = cnn
        self.ranges = dict(ranges)
        self.n_bits = n_bits
        self.rounding = rounding
        self.input_q = affine_params((0.0 - mean) / std, (1.0 - mean) / std, n_bits)
        self.out_q = {name: affine_params(lo, hi, n_bits) for name, (lo, hi) in ranges.items()}
        missing = [li.name for li in cnn.info
                   if li.kind in ("conv2d", "linear") and li.name not in self.out_q]
        if missing:
            raise FpgacError(f"qat.ranges: expected a range for every weighted layer, found "
                             f"none for {missing[0]!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.n_bits
        s_in, z_in = self.input_q
        with torch.no_grad():
            x = fake_quant(x, s_in, z_in, n)
        for li in self.cnn.info:
            mod = self.cnn.layers[li.name]
            if li.kind not in ("conv2d", "linear"):
                x = mod(x)
                continue
            w = _weight(mod)
            with torch.no_grad():
                lo, hi = min(float(w.min()), 0.0), max(float(w.max()), 0.0)
                ws, wz = affine_params(lo, hi, n)
                s_out, z_out = self.out_q[li.name]
                mn, mqm0 = multiplier(ws, s_in, s_out, n)
            with torch.no_grad():      # quantize_weight / quantize_model work in float64
                wv = torch.clamp(torch.round(w.detach().double() / ws) + wz, 0, 2 ** n - 1)
                wv = ((wv - wz) * ws).to(w.dtype)
            wq = ste(torch.clamp(w, (0 - wz) * ws, (2 ** n - 1 - wz) * ws), wv)
            b = mod.bias
            if b is not None:
                b = ste(b, (torch.round(b.detach().double() / (s_in * ws)) * (s_in * ws))
                        .to(b.dtype))
            if li.kind == "conv2d":
                y = F.conv2d(x, wq, b, stride=mod.stride, padding=mod.padding)
            else:
                y = F.linear(x, wq, b)
            with torch.no_grad():      # the integer requantizer, exact in float64
                acc = torch.round(y.detach().double() / (s_in * ws)) * mqm0
                shift = semantics.shift(mn, n)
                rnd = semantics.rounding_constant(shift, self.rounding)
                if rnd:
                    acc = acc + float(rnd)
                r = torch.floor(acc / 2.0 ** shift).to(y.dtype)
            qmax = 2 ** n - 1
            s_eff = s_in * ws * 2.0 ** (mn + n) / mqm0
            q = torch.clamp(r + z_out, 0, qmax)
            lo_r, hi_r = (0 - z_out) * s_out, (qmax - z_out) * s_out
            x = ste(torch.clamp(y * (s_out / s_eff), lo_r, hi_r), (q - z_out) * s_out)
            s_in, z_in = s_out, z_out
        return x.flatten(1)


def qat_train(cnn: CNN, data: Dataset, cfg: TrainConfig, n_bits: int, *,
              calib: Dataset | None = None, percentile: float = 99.99,
              rounding: str = "floor", progress: bool = False) -> QATNet:
    """Calibrate ranges (``quantize.calibrate`` on ``calib``, default ``data``), then train
    ``cnn`` in place through a :class:`QATNet` with ``fpgac.compress.train.train``.

    Pruning masks on ``cnn`` are honoured (pruned weights stay exactly 0). Returns the
    :class:`QATNet`, whose ``ranges`` :func:`export_qat` uses.
    """
    if not isinstance(n_bits, int) or isinstance(n_bits, bool) or not 2 <= n_bits <= 16:
        raise FpgacError(f"qat.bits: expected an integer in [2, 16], found {n_bits!r}")
    ranges = calibrate(cnn, calib if calib is not None else data, percentile)
    net = QATNet(cnn, ranges, n_bits, rounding=rounding)
    train(net, data, cfg, progress=progress, label=f"qat{n_bits}")
    cnn.eval()
    return net


def export_qat(net: QATNet, name: str = "model") -> ir.Model:
    """The integer IR model of a trained :class:`QATNet`: ``quantize.quantize_model`` of its
    network with the frozen QAT ranges, bit width and rounding."""
    with torch.no_grad():       # refresh ``weight`` of pruned modules (a forward pre-hook)
        net.cnn(torch.zeros((1, *net.cnn.input_shape)))
    return quantize_model(net.cnn, net.ranges, net.n_bits, name=name, rounding=net.rounding)
