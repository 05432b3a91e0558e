"""Bit widths of the accelerator datapath, derived from the model's actual values.

Contract (``docs/semantics.md`` §5): every width returned here holds every value the datapath
can produce for *any* input image, so the hardware never overflows.

* ``x - inz`` and ``w - wz``: ``n + 1`` bits signed (:func:`delta_bits`).
* accumulator incl. bias: from the per-output bound
  ``B[o] = sum_k |w[o,k] - wz| * max(inz, 2**n - 1 - inz) + |bias[o]|``
  (:func:`acc_bound`, :func:`signed_bits`). Partial sums, pooled maxima and the value fed to the
  requantizer are all bounded by ``max_o B[o]``.
* one-window slices (:func:`slice_bound`): a lane's partial sum over one slice of a
  channel's taps, every partial sum of the adder tree and the tree's sum (the whole dot
  product, without the bias) are sub-sums of ``B[o]``'s terms, so ``B[o]`` bounds them too;
  ``lower_to_plan`` asserts it for every sliced layer.
"""

from __future__ import annotations

import numpy as np

from fpgac import semantics
from fpgac.compiler import ir
from fpgac.errors import UnsupportedError

__all__ = ["signed_bits", "unsigned_bits", "delta_bits", "acc_bound", "centred_input_bound",
           "layer_acc_bits", "slice_bound"]

#: Bounds above this are rejected: the golden model keeps every intermediate in int64.
LIMIT = semantics.LIMIT


def unsigned_bits(value: int) -> int:
    """Bits of an unsigned integer holding ``[0, value]`` (at least 1)."""
    value = int(value)
    if value < 0:
        raise ValueError(f"unsigned_bits: expected a value >= 0, found {value}")
    return max(1, value.bit_length())


def signed_bits(bound: int) -> int:
    """Bits of a two's complement integer holding ``[-bound, bound]`` (at least 2)."""
    bound = int(bound)
    if bound < 0:
        raise ValueError(f"signed_bits: expected a bound >= 0, found {bound}")
    return max(2, bound.bit_length() + 1)


def delta_bits(n_bits: int) -> int:
    """Signed width of ``x - inz`` and ``w - wz`` for ``n_bits`` operands: ``n + 1``."""
    return int(n_bits) + 1


def acc_bound(op: ir.Conv2d | ir.Linear, in_hi: int | None = None) -> list[int]:
    """Per-output accumulator bound ``B[o]`` (module docstring), exact Python ints.

    ``in_hi`` is the largest input integer when it is not ``2**n - 1``: the layer fed by the
    network input passes ``fpgac.sim.preprocess.input_max`` (``2**n`` when a pixel quantizes
    one past the n-bit range, ``docs/semantics.md`` §1); the bound then uses
    ``max(inz, in_hi - inz)``.

    Raises
    ------
    UnsupportedError
        If a bound reaches ``2**62`` (outside what the golden model can check).
    """
    wd = np.asarray(op.weight, dtype=np.int64) - int(op.w_zero_point)
    bounds = semantics.accumulator_bounds(wd, op.bias, centred_input_bound(op, in_hi))
    for o, b in enumerate(bounds):
        if b >= LIMIT:
            raise UnsupportedError(
                f"{op.name}: accumulator bound of output {o} is {b}, expected < 2**62")
    return bounds


def centred_input_bound(op: ir.Conv2d | ir.Linear, in_hi: int | None = None) -> int:
    """Largest ``|x - inz|`` of a layer's input: ``max(inz, 2**n - 1 - inz)``, or
    ``max(inz, in_hi - inz)`` with ``in_hi`` (:func:`acc_bound`)."""
    inz = int(op.in_q.zero_point)
    if in_hi is None:
        return semantics.centred_input_max(inz, op.n_bits)
    return max(inz, int(in_hi) - inz)


def layer_acc_bits(op: ir.Conv2d | ir.Linear, in_hi: int | None = None) -> int:
    """Signed accumulator width (incl. bias) of one weighted layer (``in_hi``: acc_bound)."""
    return signed_bits(max(acc_bound(op, in_hi), default=0))


def slice_bound(weights, wz: int, x_max: int, starts, total: int) -> int:
    """Largest ``sum |w - wz| * x_max`` over one contiguous run of the ``s`` slices
    ``[starts[i], starts[i + 1])`` (``starts[s] = total``) of one channel's ``(w, tap)``
    weights: the bound of every lane partial sum and every adder-tree node (a node sums
    ``2^k`` adjacent slices; the root, all of them: the dot product without the bias)."""
    edges = list(starts) + [int(total)]
    per = [0] * len(starts)
    for w, tap in weights:
        i = max(k for k in range(len(starts)) if edges[k] <= tap)
        per[i] += abs(int(w) - int(wz)) * int(x_max)
    best, size = 0, 1
    while size <= len(per):
        best = max([best] + [sum(per[i:i + size]) for i in range(0, len(per), size)])
        size *= 2
    return best
