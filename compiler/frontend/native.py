"""fpgac's own model format (``format: fpgac-model/1``) <-> IR.

The format is specified in ``docs/model-format.md``: explicit topology (one entry per op, in
execution order), the legacy per-layer quantization keys for weighted ops, the input
preprocessing and the rounding mode. Unknown keys are errors. Version 1 requires one ``n_bits``
for the whole model (input and every weighted op).
"""

from __future__ import annotations

import os

from fpgac import semantics
from fpgac.compiler.analysis.shapes import infer_shapes
from fpgac.compiler.ir import (Conv2d, Flatten, InputSpec, Linear, MaxPool2d, Model, Op,
                               QuantParams, ReLU)
from fpgac.errors import ModelError

from .checks import (check_keys, describe, is_int, req_float, req_int, req_list, req_mapping,
                     req_str)
from .layers import QUANT_KEYS, close, default_name, parse_weighted, weighted_to_dict
from .tensors import LAYOUTS
from .yamlio import dump_yaml

__all__ = ["FORMAT", "from_native", "to_native", "save_model"]

#: The value of the ``format`` key this module reads and writes.
FORMAT = "fpgac-model/1"

_TOP_REQUIRED = ("format", "input", "output", "layers")
_TOP_OPTIONAL = ("name", "rounding")
_WEIGHTED_OPTIONAL = ("bias", "bs", "bz", "relu")
_OPS = ("conv2d", "linear", "relu", "maxpool2d", "flatten")


def _quant(mapping: dict, path: str, source: str, n: int) -> QuantParams:
    scale = req_float(mapping, "scale", path, source, positive=True)
    zero = req_int(mapping, "zero_point", path, source, 0, (1 << n) - 1)
    return QuantParams(scale, zero)


def _positive(mapping: dict, key: str, path: str, source: str, default: int) -> int:
    return req_int(mapping, key, path, source, lo=1, default=default) if key in mapping \
        else default


def from_native(doc: object, source: str) -> Model:
    """Validate a parsed ``fpgac-model/1`` document and build the IR model.

    Raises
    ------
    ModelError
        Unknown or missing keys, wrong types or ranges (``docs/semantics.md``), a scale or
        zero point that does not chain (relative tolerance 1e-6 on scales), a width other than
        the model's ``n_bits``, or a shape chain that does not fit
        (:func:`fpgac.compiler.analysis.shapes.infer_shapes`).
    """
    top = req_mapping(doc, "", source)
    fmt = top.get("format")
    if fmt != FORMAT:
        raise ModelError("format", repr(FORMAT), describe(fmt) if "format" in top else
                         "no such key", source=source)
    check_keys(top, "", source, _TOP_REQUIRED, _TOP_OPTIONAL)
    name = req_str(top, "name", "", source, default="model")
    rounding = req_str(top, "rounding", "", source, choices=["floor", "half_up"],
                       default="floor")
    spec = _parse_input(top["input"], source)
    out = req_mapping(top["output"], "output", source)
    check_keys(out, "output", source, ("scale", "zero_point"))
    out_q = _quant(out, "output", source, spec.n_bits)
    ops, last_q, last_where = _parse_layers(top["layers"], spec, source)
    if not close(out_q.scale, last_q.scale):
        raise ModelError("output.scale", f"{last_q.scale!r} (= {last_where}.outs)", out_q.scale,
                         source=source)
    if out_q.zero_point != last_q.zero_point:
        raise ModelError("output.zero_point", f"{last_q.zero_point} (= {last_where}.outz)",
                         out_q.zero_point, source=source)
    model = Model(input=spec, ops=ops, out_q=out_q, rounding=rounding, name=name,
                  source_format="fpgac")
    shapes = infer_shapes(model, source=source)
    if len(shapes[-1]) != 1:
        raise ModelError(f"layers[{len(ops) - 1}]", "a flat network output (end with a linear "
                         "or flatten op)", "shape [" + ", ".join(map(str, shapes[-1])) + "]",
                         source=source)
    return model


def _parse_input(value: object, source: str) -> InputSpec:
    """The ``input`` mapping: shape, quantization, width, preprocessing and clamp."""
    inp = req_mapping(value, "input", source)
    check_keys(inp, "input", source, ("shape", "scale", "zero_point", "n_bits"),
               ("preprocess", "clamp"))
    n = req_int(inp, "n_bits", "input", source, *semantics.N_BITS_FILE)
    shape = inp["shape"]
    if not isinstance(shape, list) or len(shape) != 3:
        raise ModelError("input.shape", "3 positive integers [C, H, W]", describe(shape),
                         source=source)
    for i, dim in enumerate(shape):
        if not is_int(dim) or dim < 1:
            raise ModelError(f"input.shape[{i}]", "a positive integer", describe(dim),
                             source=source)
    in_q = _quant(inp, "input", source, n)
    mean, std = 0.5, 0.5
    if "preprocess" in inp:
        pre = req_mapping(inp["preprocess"], "input.preprocess", source)
        check_keys(pre, "input.preprocess", source, (), ("mean", "std"))
        mean = req_float(pre, "mean", "input.preprocess", source, default=0.5)
        std = req_float(pre, "std", "input.preprocess", source, positive=True, default=0.5)
    clamp = inp.get("clamp", False)
    if not isinstance(clamp, bool):
        raise ModelError("input.clamp", "true or false", describe(clamp), source=source)
    return InputSpec(shape=tuple(shape), quant=in_q, n_bits=n, mean=mean, std=std, clamp=clamp)


def _parse_layers(value: object, spec: InputSpec,
                  source: str) -> tuple[list[Op], QuantParams, str]:
    """The ``layers`` list as ops; also the quantization of the last weighted op's output and
    its key path (``input`` when there is none: then a ModelError)."""
    layers = req_list(value, "layers", source, "a non-empty list of op mappings")
    ops: list[Op] = []
    prev_q, prev_where = spec.quant, "input"
    previous_weighted: str | None = None
    names: dict[str, int] = {}
    for i, layer in enumerate(layers):
        path = f"layers[{i}]"
        req_mapping(layer, path, source)
        kind = req_str(layer, "op", path, source, choices=_OPS)
        if kind in ("conv2d", "linear"):
            op = _parse_weighted_op(layer, path, source, kind, spec.n_bits, prev_q, prev_where)
            prev_q, prev_where = op.out_q, path
            previous_weighted = op.name
        else:
            op = _parse_plain_op(layer, path, source, kind,
                                 default=default_name(kind, previous_weighted, i), index=i,
                                 names=names)
        if op.name in names:
            raise ModelError(f"{path}.name", f"a name not used before (layers[{names[op.name]}] "
                             "has it)", op.name, source=source)
        names[op.name] = i
        ops.append(op)
    if not any(isinstance(op, (Conv2d, Linear)) for op in ops):
        raise ModelError("layers", "at least one conv2d or linear op", describe(layers),
                         source=source)
    return ops, prev_q, prev_where


def _parse_weighted_op(layer: dict, path: str, source: str, kind: str, n: int,
                       prev_q: QuantParams, prev_where: str) -> Conv2d | Linear:
    """A ``conv2d`` or ``linear`` mapping whose input must chain to ``prev_q`` (the output of
    the op at ``prev_where``) and whose width must be the model's ``n``."""
    extra = ("stride", "padding") if kind == "conv2d" else ()
    check_keys(layer, path, source, ("op",) + QUANT_KEYS, _WEIGHTED_OPTIONAL + extra)
    ndim = 4 if kind == "conv2d" else 2
    f = parse_weighted(layer, path, source, layouts=LAYOUTS, ndims=(ndim,),
                       ndim_text=f"{ndim} dimensions ({kind})")
    if f.n_bits != n:
        raise ModelError(f"{path}.n_bits", f"{n} (= input.n_bits; one width per model)",
                         f.n_bits, source=source)
    if not close(f.in_q.scale, prev_q.scale):
        raise ModelError(f"{path}.ins", f"{prev_q.scale!r} (= {prev_where}"
                         f"{'.scale' if prev_where == 'input' else '.outs'})",
                         f.in_q.scale, source=source)
    if f.in_q.zero_point != prev_q.zero_point:
        raise ModelError(f"{path}.inz", f"{prev_q.zero_point} (= {prev_where}"
                         f"{'.zero_point' if prev_where == 'input' else '.outz'})",
                         f.in_q.zero_point, source=source)
    relu = layer.get("relu", False)
    if not isinstance(relu, bool):
        raise ModelError(f"{path}.relu", "true or false", describe(relu), source=source)
    common = dict(f.common(), relu=relu)
    if kind == "linear":
        return Linear(**common)
    stride = _positive(layer, "stride", path, source, 1)
    padding = req_int(layer, "padding", path, source, lo=0, default=0) \
        if "padding" in layer else 0
    return Conv2d(**common, stride=stride, padding=padding)


def _parse_plain_op(layer: dict, path: str, source: str, kind: str, *, default: str,
                    index: int, names: dict[str, int]) -> Op:
    """A ``relu``, ``flatten`` or ``maxpool2d`` mapping; an unnamed op gets ``default`` (made
    unique with ``index`` when an earlier op of ``names`` has it)."""
    allowed = {"relu": ("name",), "flatten": ("name",),
               "maxpool2d": ("name", "kernel", "stride")}[kind]
    check_keys(layer, path, source, ("op",), allowed)
    if "name" in layer:
        op_name = req_str(layer, "name", path, source)
    else:
        op_name = default if default not in names else f"{default}{index}"
    if kind == "relu":
        return ReLU(name=op_name)
    if kind == "flatten":
        return Flatten(name=op_name)
    kernel = _positive(layer, "kernel", path, source, 2)
    return MaxPool2d(kernel=kernel, stride=_positive(layer, "stride", path, source, kernel),
                     name=op_name)


def to_native(model: Model, *, layout: str = "coo") -> dict:
    """``model`` as a ``fpgac-model/1`` document (plain data), tensors in ``layout``.

    Every op is written with its name; ``bs`` (= ``ins * ws``) and ``bz`` (0) are written for
    compatibility with the legacy keys; ``relu: true`` only for fused activations.
    """
    if layout not in LAYOUTS:
        raise ModelError("layout", "one of " + ", ".join(repr(x) for x in LAYOUTS), layout)
    layers: list[dict] = []
    for op in model.ops:
        if isinstance(op, (Conv2d, Linear)):
            entry: dict = {"op": "conv2d" if isinstance(op, Conv2d) else "linear"}
            if isinstance(op, Conv2d):
                entry.update(stride=int(op.stride), padding=int(op.padding))
            entry.update(weighted_to_dict(op, layout, layout_key=True))
            if op.relu:
                entry["relu"] = True
            entry = {"op": entry.pop("op"), "name": entry.pop("name"), **entry}
        elif isinstance(op, ReLU):
            entry = {"op": "relu", "name": op.name}
        elif isinstance(op, MaxPool2d):
            entry = {"op": "maxpool2d", "name": op.name, "kernel": int(op.kernel),
                     "stride": int(op.stride)}
        elif isinstance(op, Flatten):
            entry = {"op": "flatten", "name": op.name}
        else:
            raise ModelError(f"ops[{len(layers)}]", "conv2d, linear, relu, maxpool2d or flatten",
                             f"an op of type {type(op).__name__}")
        layers.append(entry)
    spec = model.input
    inp = {"shape": [int(d) for d in spec.shape], "scale": float(spec.quant.scale),
           "zero_point": int(spec.quant.zero_point), "n_bits": int(spec.n_bits),
           "preprocess": {"mean": float(spec.mean), "std": float(spec.std)}}
    if spec.clamp:
        inp["clamp"] = True
    return {
        "format": FORMAT,
        "name": model.name,
        "rounding": model.rounding,
        "input": inp,
        "output": {"scale": float(model.out_q.scale), "zero_point": int(model.out_q.zero_point)},
        "layers": layers,
    }


def save_model(model: Model, path: str | os.PathLike, *, layout: str = "coo") -> None:
    """Write ``model`` in fpgac's own format with tensors in ``layout``.

    ``layout`` is ``"coo"`` (default), ``"dense"``, ``"csr"`` or ``"csc"``; sparse layouts list
    the weights different from ``wz`` and the biases different from 0. Loading the file with
    :func:`fpgac.compiler.frontend.load_model` gives back an identical IR.
    """
    dump_yaml(to_native(model, layout=layout), path, sort_keys=False)
