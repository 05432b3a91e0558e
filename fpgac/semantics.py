"""The derived rules of ``docs/semantics.md``, written once.

Every executor that follows the integer contract takes these rules from here: the golden model
(:mod:`fpgac.sim.golden`), the PyTorch integer mode (:mod:`fpgac.compress.integer`), QAT's float
copy (:mod:`fpgac.compress.strategies.qat`), the model loaders and the compiler
(:mod:`fpgac.compiler`), and the testbenches and reference vectors (:mod:`fpgac.sim.selftest`,
:mod:`fpgac.sim.formal`, :mod:`fpgac.sim.randmodel`). :mod:`fpgac.sim.bigint` does **not**: it
is the independent oracle the others are checked against, so it re-derives everything from
``docs/semantics.md`` on purpose.

Plain Python integers in, plain Python integers out (no NumPy except in
:func:`accumulator_bounds`), no imports from the rest of fpgac: any layer may import this.

* shift and rounding (§2): :func:`shift`, :func:`rounding_constant`, :data:`ROUNDINGS`;
* ranges (§2): :func:`unsigned_max`, :func:`param_ranges`, :data:`N_BITS_FILE`,
  :data:`N_BITS_GOLDEN`, :data:`N_BITS_HW`, :data:`LIMIT`;
* the accumulator bound (§2, §5): :func:`centred_input_max`, :func:`accumulator_bounds`;
* output sizes (§2, §3): :func:`conv_out_size`, :func:`pool_out_size`;
* padded maps (the activation memory, ``docs/architecture.md``): :func:`padded_shape`,
  :func:`padded_offset`.
"""

from __future__ import annotations

__all__ = ["ROUNDINGS", "LIMIT", "MN_MAX", "N_BITS_FILE", "N_BITS_GOLDEN", "N_BITS_HW",
           "shift", "rounding_constant", "unsigned_max", "param_ranges", "centred_input_max",
           "accumulator_bounds", "conv_out_size", "pool_out_size", "padded_shape",
           "padded_offset", "pad_cells"]

#: The rounding modes of the requantizer: ``floor`` (``r = 0``, the legacy default) and
#: ``half_up`` (``r = 2^(s-1)``).
ROUNDINGS = ("floor", "half_up")
#: Every int64 intermediate of the golden model stays strictly inside ``[-LIMIT, LIMIT)``;
#: biases, accumulator bounds and ``bound * mqm0`` must stay below it.
LIMIT = 1 << 62
#: Largest ``mn`` (``-n <= mn <= MN_MAX``, so ``0 <= shift <= n + MN_MAX``).
MN_MAX = 64
#: ``n_bits`` allowed in model files (both formats).
N_BITS_FILE = (2, 16)
#: ``n_bits`` the golden model accepts in the IR.
N_BITS_GOLDEN = (1, 32)
#: ``n_bits`` the accelerator supports.
N_BITS_HW = (1, 16)


def shift(mn: int, n_bits: int) -> int:
    """Total right shift of the requantizer: ``s = mn + n``."""
    return int(mn) + int(n_bits)


def rounding_constant(shift: int, rounding: str) -> int:
    """``r``: ``2^(s-1)`` for ``half_up`` with ``s > 0``, else ``0`` (``floor`` or ``s = 0``)."""
    shift = int(shift)
    return 1 << (shift - 1) if rounding == "half_up" and shift > 0 else 0


def unsigned_max(n_bits: int) -> int:
    """Largest ``n``-bit unsigned value, ``2^n - 1``: the top of activations, weights, zero
    points and the saturation."""
    return (1 << int(n_bits)) - 1


def param_ranges(n_bits: int) -> dict[str, tuple[int, int]]:
    """Inclusive ``(low, high)`` of each weighted-layer parameter for ``n`` bits (§2):
    ``zero_point`` (``inz``, ``wz``, ``outz``), ``weight``, ``mqm0`` and ``mn``."""
    n = int(n_bits)
    top = unsigned_max(n)
    return {"zero_point": (0, top), "weight": (0, top), "mqm0": (0, 1 << n), "mn": (-n, MN_MAX)}


def centred_input_max(in_zero_point: int, n_bits: int) -> int:
    """Largest ``|x - inz|`` over ``n``-bit inputs: ``max(inz, 2^n - 1 - inz)``."""
    inz = int(in_zero_point)
    return max(inz, unsigned_max(n_bits) - inz)


def accumulator_bounds(weight_delta, bias, x_max: int) -> list[int]:
    """Per-output accumulator bound ``B[o] = sum_k |w[o,k] - wz| * x_max + |bias[o]|``.

    ``weight_delta`` is ``w - wz`` (integers, output channel first, any tap shape); ``bias``
    one integer per output or ``None``; ``x_max`` the largest ``|x - inz|``
    (:func:`centred_input_max` for ``n``-bit inputs). Exact Python integers (the tap sums are
    int64, exact for fewer than ``2^31`` taps of at most 32 bits).
    """
    import numpy as np

    wd = np.asarray(weight_delta, dtype=np.int64)
    taps = np.abs(wd.reshape(wd.shape[0], -1)).sum(axis=1)
    x_max = int(x_max)
    if bias is None:
        return [int(t) * x_max for t in taps]
    return [int(t) * x_max + abs(int(b)) for t, b in zip(taps, bias)]


def conv_out_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output size of a convolution along one axis: ``(size + 2*padding - kernel) // stride +
    1`` (``<= 0``: the kernel does not fit)."""
    return (int(size) + 2 * int(padding) - int(kernel)) // int(stride) + 1


def pool_out_size(size: int, kernel: int, stride: int) -> int:
    """Output size of a max-pool along one axis, floor mode: ``(size - kernel) // stride + 1``."""
    return conv_out_size(size, kernel, stride, 0)


def padded_shape(height: int, width: int, pad: int) -> tuple[int, int]:
    """``(H + 2*pad, W + 2*pad)``: a map stored with its padding ring."""
    return int(height) + 2 * int(pad), int(width) + 2 * int(pad)


def padded_offset(c: int, y: int, x: int, height: int, width: int, pad: int) -> int:
    """Offset of element ``(c, y, x)`` of a ``[C, H, W]`` map stored channel-major with its
    padding ring: ``c*Hp*Wp + (y+pad)*Wp + x + pad`` (``y``, ``x`` are unpadded coordinates;
    ``-pad`` reaches into the ring)."""
    hp, wp = padded_shape(height, width, pad)
    return int(c) * hp * wp + (int(y) + int(pad)) * wp + int(x) + int(pad)


def pad_cells(channels: int, height: int, width: int, pad: int) -> list[int]:
    """Offsets of the padding-ring cells of a ``[C, H, W]`` map stored as in
    :func:`padded_offset`, ascending (empty without padding)."""
    pad = int(pad)
    hp, wp = padded_shape(height, width, pad)
    return [(ci * hp + y) * wp + x for ci in range(int(channels)) for y in range(hp)
            for x in range(wp)
            if not (pad <= y < int(height) + pad and pad <= x < int(width) + pad)]
