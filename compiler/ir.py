"""The integer model IR: plain dataclasses, the one thing every fpgac stage agrees on.

A :class:`Model` is what the loaders produce (from the legacy export or fpgac's own format),
what the golden model executes (:mod:`fpgac.sim.golden`), what the compression side exports,
and what the compiler passes transform into a hardware plan.

Contract
--------
* Tensors are NumPy ``int64`` arrays (weights, biases) or Python floats (scales).
* Activations are unsigned ``n_bits`` integers with an affine zero point:
  ``real = scale * (q - zero_point)``.
* Weighted ops (:class:`Conv2d`, :class:`Linear`) carry their own quantization parameters
  and requantization multiplier; see ``docs/semantics.md`` for the exact integer arithmetic.
* ``ops`` is in execution order and is a straight chain (each op consumes the previous op's
  output; the first consumes the network input).
* Nothing here validates: the frontends validate on the way in
  (:mod:`fpgac.compiler.frontend`); :mod:`fpgac.compiler.analysis.shapes` infers and checks
  the shape chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal, Union

import numpy as np

from fpgac import semantics

__all__ = [
    "Rounding", "QuantParams", "InputSpec", "Weighted", "Conv2d", "Linear", "ReLU", "MaxPool2d",
    "Flatten", "Op", "WeightedOp", "Model",
]

#: ``floor``: arithmetic shift right (legacy default).
#: ``half_up``: add ``2**(shift-1)`` before the arithmetic shift (round half towards +inf).
Rounding = Literal["floor", "half_up"]


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization of an activation tensor: ``real = scale * (q - zero_point)``."""

    scale: float
    zero_point: int


@dataclass
class InputSpec:
    """The network input and how raw 8-bit pixels become quantized input integers.

    ``x = (p / 255 - mean) / std`` in float32, then
    ``q = round_half_even(x / quant.scale) + quant.zero_point`` exactly (it may be ``2**n_bits``,
    one past the n-bit range: the legacy calibration maps a white pixel there for many widths);
    only with ``clamp=True`` (stated explicitly in fpgac's own format) is ``q`` clamped to
    ``[0, 2**n_bits - 1]``. See ``docs/semantics.md`` §1.
    """

    shape: tuple[int, int, int]          # (channels, height, width)
    quant: QuantParams
    n_bits: int
    mean: float = 0.5
    std: float = 0.5
    clamp: bool = False


@dataclass
class Weighted:
    """The fields every weighted op carries (the base of :class:`Conv2d` and :class:`Linear`).

    ``weight`` is an array of unsigned ``n_bits`` integers (its shape is the op's),
    ``bias`` is ``[out_channels]`` of signed integers (scale ``in_q.scale * w_scale``,
    zero point 0) or ``None``. The frontends check these fields first
    (:func:`fpgac.compiler.frontend.layers.parse_weighted` returns a bare ``Weighted``) and then
    build the op with :meth:`common`.
    """

    name: str
    weight: np.ndarray
    bias: np.ndarray | None
    in_q: QuantParams
    out_q: QuantParams
    w_scale: float
    w_zero_point: int
    mn: int
    mqm0: int
    n_bits: int

    @property
    def shift(self) -> int:
        """Total right shift of the requantizer: ``mn + n_bits``."""
        return semantics.shift(self.mn, self.n_bits)

    def common(self) -> dict:
        """The :class:`Weighted` fields by name (no copies), to build a Conv2d or a Linear."""
        return {f.name: getattr(self, f.name) for f in fields(Weighted)}


@dataclass
class Conv2d(Weighted):
    """2-D convolution with square kernel, followed by requantization.

    ``weight`` is ``[out_channels, in_channels, k, k]``; the other fields as in
    :class:`Weighted`. Padding pads with the input zero point ``in_q.zero_point``.
    """

    stride: int = 1
    padding: int = 0
    #: Set by :mod:`fpgac.compiler.passes.fuse_activations`; the frontends emit explicit ops.
    relu: bool = False

    @property
    def out_channels(self) -> int:
        return int(self.weight.shape[0])

    @property
    def in_channels(self) -> int:
        return int(self.weight.shape[1])

    @property
    def kernel(self) -> int:
        return int(self.weight.shape[2])


@dataclass
class Linear(Weighted):
    """Fully connected layer, ``weight`` is ``[out_features, in_features]``; else as Conv2d."""

    relu: bool = False

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])


@dataclass
class ReLU:
    """``q = max(q, zero_point)`` of the incoming activation (exact ReLU in the quantized domain)."""

    name: str = "relu"


@dataclass
class MaxPool2d:
    """Max of integer values over ``kernel x kernel`` windows; floor mode (partial windows dropped)."""

    kernel: int = 2
    stride: int = 2
    name: str = "maxpool2d"


@dataclass
class Flatten:
    """``[C, H, W] -> [C*H*W]`` in C-order (channel-major), as ``torch.flatten``."""

    name: str = "flatten"


WeightedOp = Union[Conv2d, Linear]
Op = Union[Conv2d, Linear, ReLU, MaxPool2d, Flatten]


@dataclass
class Model:
    """A quantized network: input spec, op chain, output quantization, rounding mode.

    ``float_reference`` optionally keeps the float twin (``name -> (weight, bias)``) read from a
    ``float_value`` file; it is never used to build hardware. ``topology`` describes the
    reading a legacy file was loaded with (for messages; not compared).
    """

    input: InputSpec
    ops: list[Op]
    out_q: QuantParams
    rounding: Rounding = "floor"
    name: str = "model"
    source_format: str = "fpgac"
    float_reference: dict[str, tuple[np.ndarray, np.ndarray | None]] | None = field(
        default=None, repr=False)
    #: How a loader chose the topology of a file that does not store it (the legacy reading,
    #: e.g. ``conv1 pad 2 + pool, conv2 + pool, conv3``); ``None`` when the file states it.
    topology: str | None = field(default=None, compare=False)

    @property
    def weighted(self) -> list[WeightedOp]:
        return [op for op in self.ops if isinstance(op, (Conv2d, Linear))]

    @property
    def n_bits(self) -> int:
        """Widest activation/weight width in the model."""
        return max([self.input.n_bits] + [op.n_bits for op in self.weighted])
