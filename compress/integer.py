"""Integer mode: docs/semantics.md executed with PyTorch ``int64`` tensors.

An implementation independent of the NumPy golden model (:mod:`fpgac.sim.golden`): convolution
is ``Tensor.unfold`` + an ``int64`` matmul (``F.conv2d`` has no integer kernel), requantization
is an arithmetic shift. Every intermediate is range-checked against ``[-2**62, 2**62)``; nothing
ever wraps silently.
"""

from __future__ import annotations

import numpy as np
import torch

from fpgac import semantics
from fpgac.compiler import ir
from fpgac.errors import FpgacError

__all__ = ["pixel_table_torch", "IntegerModel", "integer_forward", "integer_predict"]

_LIMIT = 2 ** 62


def pixel_table_torch(model: ir.Model) -> torch.Tensor:
    """The 256-entry ``pixel -> quantized input`` table, computed in float32 as PyTorch does:
    ``q = round_half_even(((p / 255 - mean) / std) / ins) + inz`` exactly (it may be ``2**n``,
    ``docs/semantics.md`` §1), clamped to ``[0, 2**n - 1]`` only when ``model.input.clamp``.

    Raises ``FpgacError`` (without clamp) when a pixel maps outside ``[0, 2**n]``."""
    spec = model.input
    p = torch.arange(256, dtype=torch.float32)
    x = (p / 255 - spec.mean) / spec.std
    q = torch.round(x / spec.quant.scale).to(torch.int64) + spec.quant.zero_point
    if spec.clamp:
        return torch.clamp(q, 0, 2 ** spec.n_bits - 1)
    if int(q.min()) < 0 or int(q.max()) > 2 ** spec.n_bits:
        raise FpgacError(f"integer mode: input: expected pixels to quantize into "
                         f"[0, {2 ** spec.n_bits}], found [{int(q.min())}, {int(q.max())}]")
    return q


def _check(t: torch.Tensor, what: str) -> None:
    if t.numel() and (int(t.max()) >= _LIMIT or int(t.min()) < -_LIMIT):
        raise FpgacError(f"integer mode: {what}: expected values in [-2^62, 2^62), "
                         f"found [{int(t.min())}, {int(t.max())}]")


def _requant(acc: torch.Tensor, op: ir.Conv2d | ir.Linear, relu: bool, rounding: str
             ) -> torch.Tensor:
    if op.bias is not None:
        acc = acc + torch.as_tensor(np.asarray(op.bias), dtype=torch.int64).view(
            -1, *([1] * (acc.dim() - 2)))
    _check(acc, f"{op.name} accumulator")
    bound = int(acc.abs().max()) if acc.numel() else 0
    if bound * op.mqm0 >= _LIMIT:
        raise FpgacError(f"integer mode: {op.name} acc*mqm0: expected |value| < 2^62, found "
                         f"up to {bound * op.mqm0}")
    t = acc * op.mqm0
    s = semantics.shift(op.mn, op.n_bits)
    if s < 0:
        raise FpgacError(f"integer mode: {op.name}.mn: expected mn + n_bits >= 0, found {s}")
    if rounding == "half_up" and s >= 64:
        # |t| < 2^62 < 2^(s-1): t + 2^(s-1) lies in (0, 2^s), so the quotient is 0
        # (adding 2^(s-1) to an int64 tensor would wrap or overflow).
        y = torch.zeros_like(t)
    else:
        rnd = semantics.rounding_constant(s, rounding)
        if rnd:
            t = t + rnd
        y = torch.where(t < 0, -1, 0) if s >= 63 else torch.bitwise_right_shift(t, s)
    y = y + op.out_q.zero_point
    if relu:
        y = torch.clamp(y, min=op.out_q.zero_point)
    return torch.clamp(y, 0, 2 ** op.n_bits - 1)


def _conv(x: torch.Tensor, op: ir.Conv2d, relu: bool, rounding: str) -> torch.Tensor:
    w = torch.as_tensor(np.asarray(op.weight), dtype=torch.int64) - op.w_zero_point
    k, s, p = op.kernel, op.stride, op.padding
    inz = op.in_q.zero_point
    if p:
        x = torch.nn.functional.pad(x, (p, p, p, p), value=inz)
    n, c, h, wd = x.shape
    if c != op.in_channels:
        raise FpgacError(f"integer mode: {op.name}: expected {op.in_channels} input channels, "
                         f"found {c}")
    cols = x.unfold(2, k, s).unfold(3, k, s)              # [n, c, oh, ow, k, k]
    oh, ow = cols.shape[2], cols.shape[3]
    cols = cols.permute(0, 2, 3, 1, 4, 5).reshape(n, oh * ow, c * k * k) - inz
    acc = torch.matmul(cols, w.reshape(w.shape[0], -1).T)  # [n, oh*ow, o]
    acc = acc.permute(0, 2, 1).reshape(n, -1, oh, ow)
    return _requant(acc, op, relu, rounding)


def _linear(x: torch.Tensor, op: ir.Linear, relu: bool, rounding: str) -> torch.Tensor:
    w = torch.as_tensor(np.asarray(op.weight), dtype=torch.int64) - op.w_zero_point
    if x.shape[1] != op.in_features:
        raise FpgacError(f"integer mode: {op.name}: expected {op.in_features} input features, "
                         f"found {x.shape[1]}")
    acc = torch.matmul(x - op.in_q.zero_point, w.T)
    return _requant(acc, op, relu, rounding)


class IntegerModel:
    """An IR model executed in PyTorch integers.

    ``forward(pixels)`` takes ``[N, C, H, W]`` uint8 pixels (or ``[N, H, W]``) and returns the
    ``[N, classes]`` int64 logits of docs/semantics.md; ``quantize_input`` exposes the input
    integers. ReLU is applied as its own op (``max(q, zp)``) unless the weighted op has
    ``relu=True`` (fused), which gives identical integers.
    """

    def __init__(self, model: ir.Model):
        self.model = model
        self.table = pixel_table_torch(model)

    def quantize_input(self, pixels: torch.Tensor) -> torch.Tensor:
        pixels = torch.as_tensor(pixels)
        if pixels.dim() == 3:
            pixels = pixels[:, None]
        return self.table[pixels.to(torch.int64)]

    @torch.no_grad()
    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.quantize_input(pixels)
        zp = self.model.input.quant.zero_point
        for op in self.model.ops:
            if isinstance(op, ir.Conv2d):
                x = _conv(x, op, op.relu, self.model.rounding)
                zp = op.out_q.zero_point
            elif isinstance(op, ir.Linear):
                if x.dim() != 2:
                    raise FpgacError(f"integer mode: {op.name}: expected a flat input, "
                                     f"found shape {tuple(x.shape[1:])}")
                x = _linear(x, op, op.relu, self.model.rounding)
                zp = op.out_q.zero_point
            elif isinstance(op, ir.ReLU):
                x = torch.clamp(x, min=zp)
            elif isinstance(op, ir.MaxPool2d):
                x = x.unfold(2, op.kernel, op.stride).unfold(3, op.kernel, op.stride)
                x = x.amax(dim=(-2, -1))
            elif isinstance(op, ir.Flatten):
                x = x.flatten(1)
            else:
                raise FpgacError(f"integer mode: op {op!r}: expected an IR op, found "
                                 f"{type(op).__name__}")
        return x.flatten(1)

    __call__ = forward


def integer_forward(model: ir.Model, pixels: torch.Tensor, batch_size: int = 500
                    ) -> torch.Tensor:
    """Integer logits ``[N, classes]`` (int64) of ``model`` for uint8 ``pixels``."""
    im = IntegerModel(model)
    return torch.cat([im(pixels[i:i + batch_size]) for i in range(0, len(pixels), batch_size)])


def integer_predict(model: ir.Model, pixels: torch.Tensor, batch_size: int = 500
                    ) -> torch.Tensor:
    """Predicted class (index of the first maximum) of every image."""
    logits = integer_forward(model, pixels, batch_size)
    # torch.argmax on CPU returns the first maximal index
    return logits.argmax(1)

