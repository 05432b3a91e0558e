"""Pass: place a fused model's weighted layers in the accelerator's chain, with their shapes.

Contract
--------
``place_layers(model)`` accepts a fused model (:mod:`.fuse_activations`) whose ops form a chain
``(conv [maxpool])* [flatten] linear*``, the last weighted op producing ``classes <=``
:data:`MAX_CLASSES` outputs of shape 1x1, and returns one :class:`PlacedLayer` per weighted op
(its fused max-pool, input shape and padding, conv output size and output map). It raises
:class:`~fpgac.errors.UnsupportedError` for anything else, naming the op and the reason, and
:class:`~fpgac.errors.ModelError` for values out of the ranges of ``docs/semantics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fpgac import semantics
from fpgac.compiler import ir
from fpgac.errors import ModelError, UnsupportedError

__all__ = ["PlacedLayer", "place_layers", "MAX_CLASSES"]

#: Most classes the result unit handles.
MAX_CLASSES = 64


@dataclass(frozen=True)
class PlacedLayer:
    """One weighted op with its fused max-pool and its shapes: input ``in_shape`` ``(C, H, W)``
    read with padding ``in_pad``, conv output ``conv_out`` ``(Ho, Wo)`` (``(1, 1)`` for a
    linear layer), output map ``out_map`` ``(O, Hq, Wq)`` after the pool."""

    op: object
    pool: tuple[int, int] | None
    in_shape: tuple[int, int, int]
    in_pad: int
    conv_out: tuple[int, int]
    out_map: tuple[int, int, int]


class _Layer:
    """Scratch description of one hardware layer while chaining."""

    def __init__(self, op, pool):
        self.op = op
        self.pool = pool


def _chain(model: ir.Model) -> list[_Layer]:
    layers: list[_Layer] = []
    flat = False
    for i, op in enumerate(model.ops):
        where = f"ops[{i}] ({getattr(op, 'name', type(op).__name__)})"
        if isinstance(op, ir.Conv2d):
            if flat or any(isinstance(layer.op, ir.Linear) for layer in layers):
                raise UnsupportedError(f"{where}: a conv after a flatten or linear layer is "
                                       "not supported by the accelerator")
            layers.append(_Layer(op, None))
        elif isinstance(op, ir.Linear):
            layers.append(_Layer(op, None))
            flat = True
        elif isinstance(op, ir.MaxPool2d):
            if not layers or not isinstance(layers[-1].op, ir.Conv2d) or layers[-1].pool \
                    or not isinstance(model.ops[i - 1], ir.Conv2d):
                raise UnsupportedError(f"{where}: a max-pool must directly follow a conv "
                                       "(one pool per conv)")
            k, s = int(op.kernel), int(op.stride)
            if k < 1 or s < 1:
                raise ModelError(f"{where}.kernel/stride", "positive integers", (k, s))
            layers[-1].pool = (k, s)
        elif isinstance(op, ir.Flatten):
            flat = True
        elif isinstance(op, ir.ReLU):
            raise UnsupportedError(f"{where}: a ReLU that does not follow a weighted layer "
                                   "cannot be fused; the accelerator has no standalone ReLU")
        else:
            raise UnsupportedError(f"{where}: op type {type(op).__name__} is not supported")
    if not layers:
        raise UnsupportedError("model: expected at least one conv or linear layer, found none")
    return layers


def _check_op(op, idx: int) -> None:
    n = int(op.n_bits)
    where = f"layers[{idx}] ({op.name})"
    nlo, nhi = semantics.N_BITS_HW
    if not nlo <= n <= nhi:
        raise UnsupportedError(f"{where}.n_bits: expected an integer in [{nlo}, {nhi}], found {n}")
    ranges = semantics.param_ranges(n)
    for key, val, kind in (("inz", op.in_q.zero_point, "zero_point"),
                           ("outz", op.out_q.zero_point, "zero_point"),
                           ("wz", op.w_zero_point, "zero_point"), ("mqm0", op.mqm0, "mqm0")):
        lo, top = ranges[kind]
        if not lo <= int(val) <= top:
            raise ModelError(f"{where}.{key}", f"an integer in [{lo}, {top}]", int(val))
    if int(op.shift) < 0:
        raise ModelError(f"{where}.mn", f"an integer >= {-n} (mn + n_bits >= 0)", int(op.mn))
    w = np.asarray(op.weight)
    lo, top = ranges["weight"]
    if w.size and (int(w.min()) < lo or int(w.max()) > top):
        bad = int(w.min()) if int(w.min()) < lo else int(w.max())
        raise ModelError(f"{where}.weight", f"integers in [{lo}, {top}]", bad)


def _shapes(model, chain) -> list[PlacedLayer]:
    """The shapes of the chained layers (checked against the weights)."""
    shape = tuple(int(v) for v in model.input.shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ModelError("input.shape", "three positive integers (C, H, W)", shape)
    out = []
    cur = shape
    for i, layer in enumerate(chain):
        op = layer.op
        where = f"layers[{i}] ({op.name})"
        if isinstance(op, ir.Conv2d):
            c, h, w = cur
            k, s, pad = op.kernel, int(op.stride), int(op.padding)
            if op.weight.ndim != 4 or op.weight.shape[2] != op.weight.shape[3]:
                raise ModelError(f"{where}.weight.size", "[O, C, k, k]", list(op.weight.shape))
            if op.in_channels != c:
                raise ModelError(f"{where}.weight.size[1]", f"{c} input channels",
                                 op.in_channels)
            if s < 1 or pad < 0:
                raise ModelError(f"{where}.stride/padding", "stride >= 1, padding >= 0",
                                 (s, pad))
            ho, wo = (semantics.conv_out_size(h, k, s, pad),
                      semantics.conv_out_size(w, k, s, pad))
            if ho < 1 or wo < 1:
                raise ModelError(f"{where}.weight.size", f"a kernel <= {h + 2 * pad}", k)
            if layer.pool:
                pk, ps = layer.pool
                hq, wq = semantics.pool_out_size(ho, pk, ps), semantics.pool_out_size(wo, pk, ps)
                if hq < 1 or wq < 1:
                    raise UnsupportedError(f"{where}: max-pool {pk}x{pk} does not fit the "
                                           f"{ho}x{wo} conv output")
            else:
                hq, wq = ho, wo
            out.append(PlacedLayer(op, layer.pool, (c, h, w), pad, (ho, wo),
                                   (op.out_channels, hq, wq)))
            cur = (op.out_channels, hq, wq)
        else:
            feats = cur[0] * cur[1] * cur[2]
            if op.weight.ndim != 2 or op.in_features != feats:
                raise ModelError(f"{where}.weight.size[1]", f"{feats} input features",
                                 list(op.weight.shape))
            out.append(PlacedLayer(op, None, cur, 0, (1, 1), (op.out_features, 1, 1)))
            cur = (op.out_features, 1, 1)
    last = chain[-1].op
    classes = out[-1].out_map[0]
    if out[-1].out_map[1:] != (1, 1):
        raise UnsupportedError(f"{last.name}: the last layer must produce a 1x1 map (classes), "
                               f"found {out[-1].out_map[1]}x{out[-1].out_map[2]}")
    if classes > MAX_CLASSES:
        raise UnsupportedError(f"{last.name}: expected at most {MAX_CLASSES} classes, "
                               f"found {classes}")

    return out


def place_layers(model: ir.Model) -> list[PlacedLayer]:
    """The weighted layers of ``model`` with their shapes (module docstring)."""
    chain = _chain(model)
    for i, layer in enumerate(chain):
        _check_op(layer.op, i)
    return _shapes(model, chain)
