"""Shape inference and shape-chain checking of an IR :class:`~fpgac.compiler.ir.Model`.

Read-only analysis. Shapes are ``(C, H, W)`` for feature maps and ``(N,)`` for flat vectors;
the network input is ``model.input.shape``. Rules (``docs/semantics.md``):

* ``conv2d``: needs ``(C, H, W)`` with ``C == in_channels``; square kernel ``k``, ``stride >= 1``,
  ``padding >= 0``; output ``(out_channels, (H + 2p - k) // s + 1, (W + 2p - k) // s + 1)``,
  each at least 1;
* ``linear``: needs ``(N,)`` with ``N == in_features``; output ``(out_features,)``;
* ``relu``: shape unchanged;
* ``maxpool2d``: needs ``(C, H, W)`` with ``kernel <= H, W``; output
  ``(C, (H - k) // s + 1, (W - k) // s + 1)`` (floor mode);
* ``flatten``: ``(C, H, W) -> (C*H*W,)``; a flat input stays as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fpgac import semantics
from fpgac.compiler.ir import Conv2d, Flatten, Linear, MaxPool2d, Model, ReLU
from fpgac.errors import ModelError

__all__ = ["infer_shapes"]


def _shape(shape: tuple[int, ...]) -> str:
    return "shape [" + ", ".join(str(d) for d in shape) + "]"


def infer_shapes(model: Model, *, source: str | None = None,
                 labels: Sequence[str] | None = None) -> list[tuple[int, ...]]:
    """Shape after each op of ``model.ops``, checking that the chain is consistent.

    Parameters
    ----------
    model
        The IR model.
    source
        File name used in error messages.
    labels
        Key-path prefix of each op in the source file (default ``layers[i]``, the own format's
        indexing). The legacy loader passes the ``layers[j]`` of the weighted layer an inferred
        op belongs to.

    Returns
    -------
    list of tuple
        ``shapes[i]`` is the output shape of ``model.ops[i]``.

    Raises
    ------
    ModelError
        Naming the op (``layers[7] (fc1).weight.size[1]``), the expected value and where it comes
        from (``the flattened output of layers[6]``), and what was found.
    """
    if labels is None:
        labels = [f"layers[{i}]" for i in range(len(model.ops))]
    shape: tuple[int, ...] = tuple(int(d) for d in model.input.shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ModelError("input.shape", "3 positive integers [C, H, W]", _shape(shape),
                         source=source)
    shapes: list[tuple[int, ...]] = []
    for i, op in enumerate(model.ops):
        where = f"{labels[i]} ({op.name})"
        if i == 0:
            origin = "the network input"
        elif isinstance(model.ops[i - 1], Flatten):
            origin = f"the flattened output of {labels[i - 1]}"
        else:
            origin = f"the output of {labels[i - 1]}"
        if isinstance(op, Conv2d):
            shape = _conv_shape(op, shape, where, origin, source)
        elif isinstance(op, Linear):
            shape = _linear_shape(op, shape, where, origin, source)
        elif isinstance(op, MaxPool2d):
            shape = _pool_shape(op, shape, where, origin, source)
        elif isinstance(op, Flatten):
            shape = (int(np.prod(shape)),)
        elif isinstance(op, ReLU):
            pass
        else:
            raise ModelError(where, "an op of conv2d, linear, relu, maxpool2d, flatten",
                             f"a {type(op).__name__}", source=source)
        shapes.append(shape)
    return shapes


def _conv_shape(op: Conv2d, shape: tuple[int, ...], where: str, origin: str,
                source: str | None) -> tuple[int, ...]:
    """Output shape of a conv on ``shape`` (``where`` names the op, ``origin`` its input)."""
    weight = np.asarray(op.weight)
    if weight.ndim != 4 or weight.shape[2] != weight.shape[3]:
        raise ModelError(f"{where}.weight.size", "4 dimensions [O, I, k, k] (square)",
                         _shape(weight.shape), source=source)
    if len(shape) != 3:
        raise ModelError(where, f"a [C, H, W] input ({origin})", _shape(shape), source=source)
    if weight.shape[1] != shape[0]:
        raise ModelError(f"{where}.weight.size[1]", f"{shape[0]} (the channels of {origin})",
                         int(weight.shape[1]), source=source)
    if op.stride < 1:
        raise ModelError(f"{where}.stride", "an integer >= 1", op.stride, source=source)
    if op.padding < 0:
        raise ModelError(f"{where}.padding", "an integer >= 0", op.padding, source=source)
    k = int(weight.shape[2])
    span = min(shape[1], shape[2]) + 2 * op.padding
    if k > span:
        raise ModelError(f"{where}.weight.size[2]",
                         f"a kernel of at most {span} ({origin} is {shape[1]}x{shape[2]}"
                         f" with padding {op.padding})", k, source=source)
    return (int(weight.shape[0]),
            semantics.conv_out_size(shape[1], k, op.stride, op.padding),
            semantics.conv_out_size(shape[2], k, op.stride, op.padding))


def _linear_shape(op: Linear, shape: tuple[int, ...], where: str, origin: str,
                  source: str | None) -> tuple[int, ...]:
    """Output shape of a linear layer on ``shape``."""
    weight = np.asarray(op.weight)
    if weight.ndim != 2:
        raise ModelError(f"{where}.weight.size", "2 dimensions [out, in]",
                         _shape(weight.shape), source=source)
    if len(shape) != 1:
        raise ModelError(where, f"a flat input (add a flatten op; {origin} has "
                         f"{_shape(shape)})", _shape(shape), source=source)
    if weight.shape[1] != shape[0]:
        raise ModelError(f"{where}.weight.size[1]", f"{shape[0]} ({origin})",
                         int(weight.shape[1]), source=source)
    return (int(weight.shape[0]),)


def _pool_shape(op: MaxPool2d, shape: tuple[int, ...], where: str, origin: str,
                source: str | None) -> tuple[int, ...]:
    """Output shape of a max-pool on ``shape``."""
    if op.kernel < 1:
        raise ModelError(f"{where}.kernel", "an integer >= 1", op.kernel, source=source)
    if op.stride < 1:
        raise ModelError(f"{where}.stride", "an integer >= 1", op.stride, source=source)
    if len(shape) != 3:
        raise ModelError(where, f"a [C, H, W] input ({origin})", _shape(shape), source=source)
    if op.kernel > min(shape[1], shape[2]):
        raise ModelError(f"{where}.kernel", f"at most {min(shape[1], shape[2])} ({origin} is "
                         f"{shape[1]}x{shape[2]})", op.kernel, source=source)
    return (shape[0], semantics.pool_out_size(shape[1], op.kernel, op.stride),
            semantics.pool_out_size(shape[2], op.kernel, op.stride))
