"""Per-layer quantization keys shared by the legacy and the own format (parsing and writing).

A weighted layer mapping carries ``name, n_bits, ins, inz, outs, outz, ws, wz, bs, bz, mn, mqm0,
weight`` and optionally ``bias``; the checks are the "Ranges" of ``docs/semantics.md``:
``n_bits`` in [2, 16], zero points in [0, 2^n - 1], scales finite and > 0, ``bz == 0``,
``mn`` in [-n, 64], ``mqm0`` in [0, 2^n], weights in [0, 2^n - 1], bias 1-D with one entry per
output channel and ``|bias| < 2^62``.
"""

from __future__ import annotations

import math

import numpy as np

from fpgac import semantics
from fpgac.compiler.ir import Conv2d, Linear, QuantParams, Weighted
from fpgac.errors import ModelError

from .checks import describe, key_path, req_float, req_int, req_str
from .tensors import parse_tensor, write_tensor

__all__ = ["parse_weighted", "weighted_to_dict", "close", "default_name",
           "QUANT_KEYS", "BIAS_LIMIT"]

#: Quantization keys of a weighted layer, required in both formats.
QUANT_KEYS = ("name", "n_bits", "ins", "inz", "outs", "outz", "ws", "wz", "mn", "mqm0", "weight")

#: Biases must satisfy ``-BIAS_LIMIT <= bias < BIAS_LIMIT`` (the golden model's int64 guard).
BIAS_LIMIT = semantics.LIMIT

#: Relative tolerance when a scale must equal another one (``layers[1].ins == layers[0].outs``).
REL_TOL = 1e-6


def close(a: float, b: float) -> bool:
    """Scales agree to a relative tolerance of 1e-6."""
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)


def _shape(shape: tuple[int, ...]) -> str:
    return "shape [" + ", ".join(str(d) for d in shape) + "]"


def parse_weighted(layer: dict, path: str, source: str | None, *,
                   layouts: tuple[str, ...], ndims: tuple[int, ...] = (4, 2),
                   ndim_text: str = "4 dimensions (conv2d) or 2 (linear)") -> Weighted:
    """Check and convert the quantization keys, weight and bias of one layer mapping (a bare
    :class:`~fpgac.compiler.ir.Weighted`: the caller builds the op with ``common()``).

    Key presence (and unknown keys) must have been checked by the caller.
    """
    n = req_int(layer, "n_bits", path, source, *semantics.N_BITS_FILE)
    ranges = semantics.param_ranges(n)
    zlo, top = ranges["zero_point"]
    name = req_str(layer, "name", path, source)
    ins = req_float(layer, "ins", path, source, positive=True)
    inz = req_int(layer, "inz", path, source, zlo, top)
    outs = req_float(layer, "outs", path, source, positive=True)
    outz = req_int(layer, "outz", path, source, zlo, top)
    ws = req_float(layer, "ws", path, source, positive=True)
    wz = req_int(layer, "wz", path, source, zlo, top)
    if "bs" in layer:
        req_float(layer, "bs", path, source, positive=True)
    if "bz" in layer and not (layer["bz"] == 0 and type(layer["bz"]) is int):
        raise ModelError(key_path(path, "bz"), "0 (biases have no zero point)",
                         describe(layer["bz"]), source=source)
    mn = req_int(layer, "mn", path, source, *ranges["mn"])
    mqm0 = req_int(layer, "mqm0", path, source, *ranges["mqm0"])
    wpath = key_path(path, "weight")
    wlo, whi = ranges["weight"]
    weight = parse_tensor(layer["weight"], wpath, kind="int", fill=wz, layouts=layouts, lo=wlo,
                          hi=whi, source=source)
    if weight.ndim not in ndims:
        raise ModelError(f"{wpath}.size", ndim_text, _shape(weight.shape), source=source)
    if weight.ndim == 4 and weight.shape[2] != weight.shape[3]:
        raise ModelError(f"{wpath}.size[3]", f"{weight.shape[2]} (square kernels only)",
                         int(weight.shape[3]), source=source)
    bias = None
    if "bias" in layer:
        bpath = key_path(path, "bias")
        bias = parse_tensor(layer["bias"], bpath, kind="int", fill=0, layouts=layouts,
                            lo=-BIAS_LIMIT, hi=BIAS_LIMIT - 1, source=source)
        if bias.shape != (weight.shape[0],):
            raise ModelError(f"{bpath}.size", f"[{weight.shape[0]}] (one per output channel)",
                             _shape(bias.shape), source=source)
    return Weighted(name=name, weight=weight, bias=bias, in_q=QuantParams(ins, inz),
                    out_q=QuantParams(outs, outz), w_scale=ws, w_zero_point=wz, mn=mn, mqm0=mqm0,
                    n_bits=n)


def default_name(kind: str, previous: str | None, index: int) -> str:
    """Name of an op the file does not name: ``<weighted>_relu``, ``<weighted>_pool``, ...

    ``previous`` is the name of the closest weighted op before it (None if there is none).
    """
    if kind == "flatten":
        return "flatten"
    suffix = {"relu": "relu", "maxpool2d": "pool"}[kind]
    return f"{previous}_{suffix}" if previous else f"{suffix}{index}"


def weighted_to_dict(op: Conv2d | Linear, layout: str, *, layout_key: bool) -> dict:
    """The quantization keys, weight and bias of ``op`` as plain data (``bs = ins * ws``)."""
    out: dict = {
        "name": op.name,
        "n_bits": int(op.n_bits),
        "ins": float(op.in_q.scale),
        "inz": int(op.in_q.zero_point),
        "outs": float(op.out_q.scale),
        "outz": int(op.out_q.zero_point),
        "ws": float(op.w_scale),
        "wz": int(op.w_zero_point),
        "bs": float(op.in_q.scale) * float(op.w_scale),
        "bz": 0,
        "mn": int(op.mn),
        "mqm0": int(op.mqm0),
        "weight": write_tensor(np.asarray(op.weight), layout, fill=int(op.w_zero_point),
                               layout_key=layout_key),
    }
    if op.bias is not None:
        out["bias"] = write_tensor(np.asarray(op.bias), layout, fill=0, layout_key=layout_key)
    return out
