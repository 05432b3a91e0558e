"""The exporting tool's own "quantized mode" -- a float64 reference, NOT hardware arithmetic.

The PyTorch code that writes legacy files evaluates its quantized network with the shift
``(acc * mqm0) >> (mn + n_bits)`` applied to float tensors, which in torch 1.x was the division
``acc * mqm0 / 2**(mn + n_bits)``: nothing is rounded and nothing saturates
(``legacy-format.md``, "Integer semantics"). Users compare fpgac's accuracy with the figure that
mode printed, so :func:`tool_logits` recomputes it, in float64:

    x      = the exact input integers (pixel table, docs/semantics.md §1)
    acc[o] = sum_k (x[k] - inz) * (w[o,k] - wz) + bias[o]          (x real-valued after layer 1)
    y[o]   = acc[o] * mqm0 / 2**(mn + n_bits) + outz                (no floor, no clamp)
    ReLU   : y = max(y, outz);   max-pool: max;   flatten: channel-major

This is a different function from the integer definition (``docs/semantics.md``, what golden,
the PyTorch integer mode and the RTL compute): the integer requantizer floors, which costs
about half an LSB per layer and matters at low bit widths. Use it only for that comparison.
"""

from __future__ import annotations

import numpy as np

from fpgac.compiler.ir import Conv2d, Flatten, Linear, MaxPool2d, Model, ReLU
from fpgac.errors import FpgacError

from .preprocess import quantize_images

__all__ = ["tool_logits", "tool_predict"]


def tool_logits(model: Model, images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    """Float64 logits ``[N, classes]`` of the tool's quantized mode (module docstring).

    ``images`` are uint8 ``[N, H, W]`` or ``[N, C, H, W]``. Raises ``FpgacError`` for an op
    the legacy family does not have.
    """
    import torch
    import torch.nn.functional as F

    q = quantize_images(images, model.input)
    out = []
    for start in range(0, q.shape[0], batch_size):
        x = torch.from_numpy(q[start:start + batch_size]).to(torch.float64)
        zp = float(model.input.quant.zero_point)
        for op in model.ops:
            if isinstance(op, (Conv2d, Linear)):
                inz = float(op.in_q.zero_point)
                w = torch.from_numpy(np.asarray(op.weight, dtype=np.float64)) - op.w_zero_point
                b = None if op.bias is None else torch.from_numpy(
                    np.asarray(op.bias, dtype=np.float64))
                if isinstance(op, Conv2d):
                    acc = F.conv2d(x - inz, w, b, stride=op.stride, padding=op.padding)
                else:
                    acc = F.linear(x - inz, w, b)
                x = acc * float(op.mqm0) / 2.0 ** (op.mn + op.n_bits) + op.out_q.zero_point
                zp = float(op.out_q.zero_point)
                if op.relu:
                    x = torch.clamp(x, min=zp)
            elif isinstance(op, ReLU):
                x = torch.clamp(x, min=zp)
            elif isinstance(op, MaxPool2d):
                x = F.max_pool2d(x, op.kernel, op.stride)
            elif isinstance(op, Flatten):
                x = x.flatten(1)
            else:
                raise FpgacError(f"tool mode: op {type(op).__name__} is not supported")
        out.append(x.flatten(1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def tool_predict(model: Model, images: np.ndarray) -> np.ndarray:
    """Predicted classes (first maximum) of :func:`tool_logits`."""
    return np.argmax(tool_logits(model, images), axis=1).astype(np.int64)


#: Above this gap (percentage points) between the tool's mode and the integer definition,
#: ``fpgac eval`` explains it and says what to do.
GAP_POINTS = 0.5


def compare_with_tool(model: Model, images: np.ndarray, labels: np.ndarray,
                      integer_accuracy: float, *, source: str = "MODEL.yml") -> dict:
    """The tool's quantized-mode accuracy next to the integer one, and advice on a gap.

    Returns a dict: ``tool_accuracy`` (fraction), ``gap_points`` (tool minus integer, in
    percentage points), and when ``gap_points > GAP_POINTS``: ``half_up_accuracy`` (the golden
    integer model with round-half-up requantization, same file and images) and ``advice``
    (text naming the figures and the commands). Every figure is measured on ``images``.
    """
    import dataclasses

    from . import golden

    labels = np.asarray(labels, dtype=np.int64)
    tool = float((tool_predict(model, images) == labels).mean())
    gap = 100.0 * (tool - integer_accuracy)
    result = {"tool_accuracy": tool, "gap_points": gap}
    if gap > GAP_POINTS:
        half = dataclasses.replace(model, rounding="half_up")
        _, classes = golden.predict(half, images)
        half_up = float((classes == labels).mean())
        n = model.input.n_bits
        layers = len(model.weighted)
        stem = source.rsplit("/", 1)[-1].split(".")[0] or "model"
        result["half_up_accuracy"] = half_up
        result["advice"] = (
            f"the gap of {gap:.2f} points is the rounding: the integer requantizer floors "
            f"(about -0.5 LSB per layer, {layers} layers, at {n} bits an LSB is 1/{2**n} of "
            f"each range) where the tool's mode divides without rounding. With round-half-up "
            f"requantization this file scores {half_up:.2%} on the same images: 'fpgac convert "
            f"{source} -o {stem}.fpgac.yml --rounding half_up' (then eval/verify/build that "
            f"file), or train with quantization-aware training in 'fpgac compress' (QAT "
            f"strategy, docs/strategies.md).")
    return result
