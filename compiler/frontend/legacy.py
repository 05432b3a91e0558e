"""The legacy LeNet-style export (``head: int_values`` / ``head: float_value``) <-> IR.

Implements ``legacy-format.md`` exactly (summarised in ``docs/model-format.md``): the file lists
weighted layers only, so the topology is inferred, never guessed. Every reading of the
LeNet-style family is considered (:mod:`.topology`: the first conv padded 0 or ``(k-1)/2``,
later convs unpadded, a 2x2 / stride-2 max-pool after a conv whose output is larger than 1x1
or not; ReLU after every layer but the last; a flatten after the last conv; a 28x28 input with
the first conv's in_channels). Exactly one reading chains: it is loaded (``model.topology``
says which). None or several: :class:`TopologyError` lists them, with each candidate's accuracy
on the first 1,000 shipped MNIST test images as a hint when the caller passes the function that
measures it (``hint=fpgac.sim.mnist.candidate_accuracy``: the compiler does not run models), and
points to ``fpgac convert``.
The input integer is ``round_half_even(x / ins) + inz`` with no clamp (``docs/semantics.md``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from fpgac.compiler.analysis.shapes import infer_shapes
from fpgac.compiler.ir import (Conv2d, Flatten, InputSpec, Linear, MaxPool2d, Model, Op,
                               QuantParams, ReLU, Weighted)
from fpgac.errors import ModelError

from .checks import check_keys, req_float, req_int, req_list, req_mapping, req_str
from .layers import QUANT_KEYS, close, default_name, parse_weighted, weighted_to_dict
from .tensors import LEGACY_LAYOUTS, parse_tensor, write_tensor
from .topology import (LEGACY_INPUT_SIZE, Outcome, Reading, convert_flags, describe_reading,
                       enumerate_readings)
from .yamlio import MAX_BYTES, dump_yaml, load_yaml

__all__ = ["from_legacy", "legacy_ops", "TopologyError", "reading_of", "load_float_reference", "save_legacy",
           "save_legacy_float", "LEGACY_INPUT_SIZE"]

_TOP_KEYS = ("head", "ins", "inz", "outs", "outz", "layers")
_LAYER_OPTIONAL = ("bias", "bs", "bz")


def _model_name(source: str) -> str:
    if source.startswith("<"):
        return "model"
    return Path(source).name.split(".")[0] or "model"


def legacy_ops(weighted: list[Conv2d | Linear], reading: Reading | None = None
               ) -> tuple[list[Op], list[int]]:
    """The op chain a reading of the family gives for ``weighted``, and each op's layer index.

    ``weighted`` carries the convs' padding already (``reading.padding``); ``reading.pool``
    says which convs a 2x2 / stride-2 max-pool follows (``None``: no pools). Returns
    ``(ops, owner)`` where ``owner[i]`` is the index in ``weighted`` the op belongs to.
    """
    ops: list[Op] = []
    owner: list[int] = []
    convs = [j for j, op in enumerate(weighted) if isinstance(op, Conv2d)]
    pools = reading.pool if reading is not None else (False,) * len(convs)
    last_conv = convs[-1] if convs else -1
    if weighted and isinstance(weighted[0], Linear):
        ops.append(Flatten(name="flatten"))
        owner.append(0)
    for j, op in enumerate(weighted):
        ops.append(op)
        owner.append(j)
        last = j == len(weighted) - 1
        if not last:
            ops.append(ReLU(name=default_name("relu", op.name, len(ops))))
            owner.append(j)
        if isinstance(op, Conv2d):
            if pools[convs.index(j)]:
                ops.append(MaxPool2d(2, 2, name=default_name("maxpool2d", op.name, len(ops))))
                owner.append(j)
            if j == last_conv:
                ops.append(Flatten(name="flatten"))
                owner.append(j)
    return ops, owner


class TopologyError(ModelError):
    """No reading, or more than one, of the LeNet-style family fits a legacy file.

    ``outcomes`` lists every reading considered (:class:`~.topology.Outcome`); ``accuracy``
    maps the index of a chaining reading to its accuracy on the first MNIST test images (the
    hint of an ambiguous file; empty when it could not be computed).
    """

    def __init__(self, path: str, expected: str, found: str, *, source: str,
                 outcomes: list[Outcome], accuracy: dict[int, float] | None = None):
        super().__init__(path, expected, found, source=source)
        self.outcomes = outcomes
        self.accuracy = accuracy or {}
        where = f"{source}: {path}" if source else path
        self.args = (f"{where}: expected {expected}, found {found}",)


#: Images of the shipped MNIST test set the accuracy hint of an ambiguous file runs on (the
#: contract of ``hint``: ``hint(candidates)`` returns ``{index: accuracy}`` on these images).
HINT_IMAGES = 1000

#: ``hint(candidate models) -> {candidate index: accuracy}`` (candidates it cannot run left out).
Hint = Callable[[list[Model]], dict[int, float]]


def _convert_hint(source: str) -> str:
    stem = _model_name(source)
    return f"'fpgac convert {source} -o {stem}.fpgac.yml --padding P1,P2,.. --pool NAMES'"


def _none_text(outcomes: list[Outcome], conv_names: list[str], names: list[str]) -> str:
    """What each reading gives, grouped by where it stops chaining."""
    groups: dict[tuple[int, str], list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault((o.mismatch.index, o.mismatch.key), []).append(o)
    parts = []
    for (index, key), items in sorted(groups.items()):
        m = items[0].mismatch
        where = f"layers[{index}] ({names[index]})"
        if key == "weight.size[1]" and not isinstance(m.expected, str) or \
                key == "weight.size[1]" and m.expected.isdigit():
            gives = ", ".join(f"{o.mismatch.expected} ({describe_reading(o.reading, conv_names)})"
                              for o in items)
            parts.append(f"{where} takes {m.found} inputs, the readings give {gives}")
        else:
            readings = "; ".join(describe_reading(o.reading, conv_names) for o in items)
            parts.append(f"{where}.{key}: expected {m.expected}, found {m.found} ({readings})")
    return "; ".join(parts)


def _choose_reading(fields: list, source: str, build, padding, pool,
                    hint: Hint | None) -> Outcome:
    """The one reading that chains, or a :class:`TopologyError` (module ``topology``)."""
    shapes = [tuple(int(d) for d in f.weight.shape) for f in fields]
    names = [f.name for f in fields]
    conv_names = [f.name for f in fields if f.weight.ndim == 4]
    stated = padding is not None or pool is not None
    outcomes = enumerate_readings(shapes, padding=padding, pool=pool)
    good = [o for o in outcomes if o.chains]
    family = ("a reading within the stated topology" if stated else
              "a reading of the LeNet-style family (legacy-format.md)")
    if len(good) == 1:
        return good[0]
    if not good:
        raise TopologyError(
            "topology", f"{family} whose shapes chain",
            f"none: {_none_text(outcomes, conv_names, names)}; if the network pads or pools "
            f"otherwise, state its topology: {_convert_hint(source)}", source=source,
            outcomes=outcomes)
    accuracy = hint([build(o.reading) for o in good]) if hint is not None else {}
    parts = []
    for i, o in enumerate(good):
        acc = (f", {accuracy[i]:.1%} on the first {HINT_IMAGES} MNIST test images"
               if i in accuracy else "")
        parts.append(f"({i + 1}) {describe_reading(o.reading, conv_names)} [flatten {o.flat}"
                     f"{acc}; {convert_flags(o.reading, conv_names)}]")
    stem = _model_name(source)
    advice = ("Accuracy is only a hint: check which network you trained, then state it once"
              if accuracy else "Check which network you trained, then state it once")
    raise TopologyError(
        "topology", f"exactly one {family[2:]} that chains (the file does not store its "
        "topology)", f"{len(good)} that chain: " + "; ".join(parts) + f". {advice}: 'fpgac "
        f"convert {source} -o {stem}.fpgac.yml' with that candidate's options", source=source,
        outcomes=good, accuracy=accuracy)


def from_legacy(doc: object, source: str, *, mean: float = 0.5, std: float = 0.5,
                padding: Sequence[int] | None = None,
                pool: Sequence[bool] | Sequence[str] | None = None,
                hint: Hint | None = None) -> Model:
    """Validate a parsed ``int_values`` document and build the IR model.

    Parameters
    ----------
    doc
        The parsed YAML (a mapping with ``head: int_values``).
    source
        File name for messages; its stem becomes ``Model.name``.
    mean, std
        Input preprocessing ``x = (p/255 - mean) / std`` (legacy files do not store it).
    padding, pool
        The topology as the user states it: ``padding`` one integer per conv, ``pool`` one
        boolean per conv or the names of the convs a max-pool follows (``None``: enumerate
        the family's options, module :mod:`.topology`).
    hint
        On an ambiguous file, ``hint(candidates)`` gives each candidate's accuracy on the first
        :data:`HINT_IMAGES` shipped MNIST test images for the message
        (:func:`fpgac.sim.mnist.candidate_accuracy`); None: no accuracy.

    Returns
    -------
    Model
        Built with the one reading that chains; ``model.topology`` describes it.

    Raises
    ------
    ModelError
        Any violation of the format, the ranges of ``docs/semantics.md`` or the scale/zero-point
        chain (relative tolerance 1e-6 on scales).
    TopologyError
        When no reading chains, or several do (never picks one of several).
    """
    top = req_mapping(doc, "", source)
    head = req_str(top, "head", "", source, choices=["int_values", "float_value"])
    if head == "float_value":
        raise ModelError("head", "'int_values' (the hardware needs the integer twin of this "
                         "float reference file)", head, source=source)
    check_keys(top, "", source, _TOP_KEYS)
    fields = _parse_layers(top, source)
    n = fields[0].n_bits
    in_q, out_q = _check_quant_chain(top, fields, n, source)
    conv_names = [f.name for f in fields if f.weight.ndim == 4]
    padding, pool = _check_topology_args(conv_names, padding, pool, source)
    channels = fields[0].weight.shape[1] if fields[0].weight.ndim == 4 else 1

    def build(reading: Reading) -> Model:
        weighted: list[Conv2d | Linear] = []
        c = 0
        for f in fields:
            common = f.common()
            if f.weight.ndim == 4:
                weighted.append(Conv2d(**common, stride=1, padding=reading.padding[c]))
                c += 1
            else:
                weighted.append(Linear(**common))
        ops, owner = legacy_ops(weighted, reading)
        model = Model(
            input=InputSpec(shape=(int(channels), LEGACY_INPUT_SIZE, LEGACY_INPUT_SIZE),
                            quant=in_q, n_bits=n, mean=float(mean), std=float(std)),
            ops=ops, out_q=out_q, rounding="floor",
            name=_model_name(source), source_format="legacy",
            topology=describe_reading(reading, conv_names))
        infer_shapes(model, source=source, labels=[f"layers[{j}]" for j in owner])
        return model

    return build(_choose_reading(fields, source, build, padding, pool, hint).reading)


def _parse_layers(top: dict, source: str) -> list[Weighted]:
    """The checked fields of every layer: one width, unique names, convs before linears."""
    layers = req_list(top["layers"], "layers", source, "a non-empty list of layer mappings")
    if not layers:
        raise ModelError("layers", "a non-empty list of layer mappings", "an empty list",
                         source=source)
    fields = []
    for i, layer in enumerate(layers):
        path = f"layers[{i}]"
        req_mapping(layer, path, source)
        check_keys(layer, path, source, QUANT_KEYS, _LAYER_OPTIONAL)
        fields.append(parse_weighted(layer, path, source, layouts=LEGACY_LAYOUTS))

    n = fields[0].n_bits
    names: dict[str, int] = {}
    seen_linear = None
    for i, f in enumerate(fields):
        if f.n_bits != n:
            raise ModelError(f"layers[{i}].n_bits", f"{n} (= layers[0].n_bits; one width per "
                             "model)", f.n_bits, source=source)
        if f.name in names:
            raise ModelError(f"layers[{i}].name", f"a name not used before (layers[{names[f.name]}]"
                             " has it)", f.name, source=source)
        names[f.name] = i
        if f.weight.ndim == 2 and seen_linear is None:
            seen_linear = i
        if f.weight.ndim == 4 and seen_linear is not None:
            raise ModelError(f"layers[{i}].weight.size", "2 dimensions (convolutions must come "
                             f"before linear layers; layers[{seen_linear}] is linear)",
                             "shape [" + ", ".join(map(str, f.weight.shape)) + "]",
                             source=source)
    return fields


def _check_quant_chain(top: dict, fields: list[Weighted], n: int,
                       source: str) -> tuple[QuantParams, QuantParams]:
    """The model's input and output quantization (top-level ``ins, inz, outs, outz``), after
    checking that scales and zero points chain through the layers, and the channel chain."""
    top_inz = req_int(top, "inz", "", source, 0, (1 << n) - 1)
    top_ins = req_float(top, "ins", "", source, positive=True)
    top_outz = req_int(top, "outz", "", source, 0, (1 << n) - 1)
    top_outs = req_float(top, "outs", "", source, positive=True)
    prev_s, prev_z, prev_name = top_ins, top_inz, "ins"
    for i, f in enumerate(fields):
        if not close(f.in_q.scale, prev_s):
            raise ModelError(f"layers[{i}].ins", f"{prev_s!r} (= {prev_name})", f.in_q.scale,
                             source=source)
        zname = prev_name[:-1] + "z" if prev_name != "ins" else "inz"
        if f.in_q.zero_point != prev_z:
            raise ModelError(f"layers[{i}].inz", f"{prev_z} (= {zname})", f.in_q.zero_point,
                             source=source)
        prev_s, prev_z, prev_name = f.out_q.scale, f.out_q.zero_point, f"layers[{i}].outs"
    last = len(fields) - 1
    if not close(top_outs, prev_s):
        raise ModelError("outs", f"{prev_s!r} (= layers[{last}].outs)", top_outs, source=source)
    if top_outz != prev_z:
        raise ModelError("outz", f"{prev_z} (= layers[{last}].outz)", top_outz, source=source)

    # Channel and feature chains do not depend on the reading: checked once, plainly.
    for i in range(1, len(fields)):
        prev, cur = fields[i - 1].weight, fields[i].weight
        if cur.ndim == prev.ndim and cur.shape[1] != prev.shape[0]:
            what = "channels of the output" if cur.ndim == 4 else "output"
            raise ModelError(f"layers[{i}] ({fields[i].name}).weight.size[1]",
                             f"{prev.shape[0]} (the {what} of layers[{i - 1}])",
                             int(cur.shape[1]), source=source)
    return QuantParams(top_ins, top_inz), QuantParams(top_outs, top_outz)


def _check_topology_args(conv_names: list[str], padding, pool, source: str):
    """``(padding, pool)`` as the user gave them, ``pool`` by conv names turned into one
    boolean per conv; ModelError for unknown names, wrong counts or negative padding."""
    n_convs = len(conv_names)
    if pool is not None and all(isinstance(p, str) for p in pool) and (pool or n_convs):
        unknown = [p for p in pool if p not in conv_names]
        if unknown:
            raise ModelError("pool (argument)", "names of convs of this file ("
                             + (", ".join(conv_names) or "none") + ")", unknown[0],
                             source=source)
        pool = [name in pool for name in conv_names]
    for key, given in (("padding", padding), ("pool", pool)):
        if given is not None and len(given) != n_convs:
            raise ModelError(f"{key} (argument)", f"{n_convs} entries (one per conv)",
                             len(given), source=source)
    if padding is not None and any(int(p) < 0 for p in padding):
        raise ModelError("padding (argument)", "integers >= 0", list(padding), source=source)
    return padding, pool


def load_float_reference(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES
                         ) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Read a ``float_value`` file: ``layer name -> (weight float64, bias float64 or None)``.

    Dense or COO tensors; entries a COO tensor does not list are 0.0. Weights must be 4-D or 2-D
    and biases 1-D with one entry per output channel. The quantization keys of the int twin may
    be present (checked for type only); anything else is an unknown key.
    """
    source = os.fspath(path)
    top = req_mapping(load_yaml(path, max_bytes=max_bytes), "", source)
    req_str(top, "head", "", source, choices=["float_value"])
    check_keys(top, "", source, ("head", "layers"), ("ins", "inz", "outs", "outz"))
    layers = req_list(top["layers"], "layers", source, "a non-empty list of layer mappings")
    if not layers:
        raise ModelError("layers", "a non-empty list of layer mappings", "an empty list",
                         source=source)
    out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for i, layer in enumerate(layers):
        path_i = f"layers[{i}]"
        req_mapping(layer, path_i, source)
        check_keys(layer, path_i, source, ("name", "weight"),
                   [k for k in QUANT_KEYS + _LAYER_OPTIONAL if k not in ("name", "weight")])
        name = req_str(layer, "name", path_i, source)
        if name in out:
            raise ModelError(f"{path_i}.name", "a name not used before", name, source=source)
        for key in ("ins", "outs", "ws", "bs"):
            if key in layer:
                req_float(layer, key, path_i, source, positive=True)
        for key in ("inz", "outz", "wz", "bz", "mn", "mqm0", "n_bits"):
            if key in layer:
                req_int(layer, key, path_i, source)
        weight = parse_tensor(layer["weight"], f"{path_i}.weight", kind="float", fill=0.0,
                              source=source)
        if weight.ndim not in (4, 2):
            raise ModelError(f"{path_i}.weight.size", "4 dimensions (conv2d) or 2 (linear)",
                             "shape [" + ", ".join(map(str, weight.shape)) + "]", source=source)
        bias = None
        if "bias" in layer:
            bias = parse_tensor(layer["bias"], f"{path_i}.bias", kind="float", fill=0.0,
                                source=source)
            if bias.shape != (weight.shape[0],):
                raise ModelError(f"{path_i}.bias.size", f"[{weight.shape[0]}] (one per output "
                                 "channel)", "shape [" + ", ".join(map(str, bias.shape)) + "]",
                                 source=source)
        out[name] = (weight, bias)
    return out


def _check_expressible(model: Model) -> None:
    """Raise unless the legacy topology reproduces ``model`` exactly (up to inferred op names)."""
    def refuse(path: str, expected: str, found: object) -> None:
        raise ModelError(path, expected, found, source="(legacy writer)")

    weighted = model.weighted
    if not weighted:
        refuse("ops", "at least one conv2d or linear op", "no weighted op")
    if model.rounding != "floor":
        refuse("rounding", "'floor' (legacy files cannot store the rounding)", model.rounding)
    if (model.input.mean, model.input.std) != (0.5, 0.5):
        refuse("input.preprocess", "mean 0.5, std 0.5 (legacy files cannot store them)",
               f"a mean of {model.input.mean} and std of {model.input.std}")
    first = weighted[0]
    channels = first.in_channels if isinstance(first, Conv2d) else 1
    want_shape = (channels, LEGACY_INPUT_SIZE, LEGACY_INPUT_SIZE)
    if tuple(model.input.shape) != want_shape:
        refuse("input.shape", f"{list(want_shape)} (the legacy input)",
               "shape [" + ", ".join(map(str, model.input.shape)) + "]")
    if model.input.clamp:
        refuse("input.clamp", "false (legacy files quantize the input without a clamp)", True)
    n = model.input.n_bits
    prev = model.input.quant
    for j, op in enumerate(weighted):
        if op.n_bits != n:
            refuse(f"{op.name}.n_bits", f"{n} (one width per model)", op.n_bits)
        if op.relu:
            refuse(f"{op.name}.relu", "explicit ReLU ops (save before fusing activations)",
                   True)
        if isinstance(op, Conv2d):
            if j == 0:
                pads = sorted({0, (op.kernel - 1) // 2} if op.kernel % 2 else {0})
                want = ("stride 1 and padding " + " or ".join(map(str, pads)) +
                        " (the legacy first conv: 0 or (k-1)/2 for an odd kernel)")
            else:
                pads = [0]
                want = "stride 1 and padding 0 (legacy convs after the first)"
            if op.stride != 1 or op.padding not in pads:
                refuse(f"{op.name}", want, f"a stride of {op.stride}, padding of {op.padding}, "
                       f"kernel {op.kernel}")
        if op.in_q != prev:
            refuse(f"{op.name}.in_q", f"{_quant_text(prev)} (the previous output quantization)",
                   f"a {_quant_text(op.in_q)}")
        prev = op.out_q
    if model.out_q != prev:
        refuse("out_q", f"{_quant_text(prev)} (the last layer's output quantization)",
               f"a {_quant_text(model.out_q)}")
    expected, _ = legacy_ops(weighted, reading_of(model))
    kinds = [type(op).__name__ for op in model.ops]
    want = [type(op).__name__ for op in expected]
    for i, (a, b) in enumerate(zip(expected, model.ops)):
        same = type(a) is type(b) and (not isinstance(a, MaxPool2d) or
                                       (a.kernel, a.stride) == (b.kernel, b.stride))
        if not same:
            refuse(f"ops[{i}] ({model.ops[i].name})", f"a {kinds_text(a)} (legacy topology: "
                   + ", ".join(want) + ")", f"a {kinds_text(b)}")
    if len(kinds) != len(want):
        refuse("ops", f"{len(want)} ops (legacy topology: " + ", ".join(want) + ")",
               f"a chain of {len(kinds)} ops")


def reading_of(model: Model) -> Reading:
    """The family reading of ``model``'s ops: each conv's padding, and whether the op after
    the conv (and its ReLU) is a max-pool. Only meaningful for a LeNet-style chain."""
    padding, pool = [], []
    ops = model.ops
    for i, op in enumerate(ops):
        if isinstance(op, Conv2d):
            padding.append(int(op.padding))
            k = i + 1
            while k < len(ops) and isinstance(ops[k], ReLU):
                k += 1
            pool.append(k < len(ops) and isinstance(ops[k], MaxPool2d))
    return Reading(tuple(padding), tuple(pool))


def _quant_text(q: QuantParams) -> str:
    return f"scale {q.scale!r}, zero point {q.zero_point}"


def kinds_text(op: Op) -> str:
    if isinstance(op, MaxPool2d):
        return f"MaxPool2d({op.kernel}, {op.stride})"
    return type(op).__name__


def _legacy_doc(model: Model, head: str, layers: list[dict]) -> dict:
    return {"head": head, "ins": float(model.input.quant.scale),
            "inz": int(model.input.quant.zero_point), "outs": float(model.out_q.scale),
            "outz": int(model.out_q.zero_point), "layers": layers}


def save_legacy(model: Model, path: str | os.PathLike, *, coo: bool = False) -> None:
    """Write ``model`` as a legacy ``int_values`` file (dense, or COO with ``coo=True``).

    Keys are sorted as PyYAML sorts them; ``bs`` is written as ``ins * ws`` and ``bz`` as 0.
    COO weights list the entries different from ``wz``, COO biases those different from 0.

    Raises
    ------
    ModelError
        When the legacy topology cannot express the model (other rounding or preprocessing,
        input not 28x28, strides/padding/pooling/activations other than the inferred ones).
    """
    _check_expressible(model)
    layout = "coo" if coo else "dense"
    layers = [weighted_to_dict(op, layout, layout_key=False) for op in model.weighted]
    dump_yaml(_legacy_doc(model, "int_values", layers), path, sort_keys=True)


def _check_float(arr: np.ndarray, shape: tuple[int, ...], path: str) -> None:
    want = f"finite values of shape {list(shape)}"
    if arr.shape != tuple(shape):
        raise ModelError(path, want, f"shape {list(arr.shape)}", source="(legacy writer)")
    bad = ~np.isfinite(arr)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ModelError(path, want, f"a {arr[index]} at {list(index)}",
                         source="(legacy writer)")


def save_legacy_float(model: Model, float_weights: dict[str, tuple[np.ndarray, np.ndarray | None]],
                      path: str | os.PathLike, *, coo: bool = False) -> None:
    """Write the ``float_value`` twin of ``model``: its keys with float weights and biases.

    ``float_weights`` maps each weighted layer name to ``(weight, bias or None)`` with the
    layer's weight shape (and ``[out]`` bias). COO lists the entries different from 0.0.
    """
    _check_expressible(model)
    layout = "coo" if coo else "dense"
    layers = []
    for op in model.weighted:
        if op.name not in float_weights:
            raise ModelError(f"float_weights[{op.name!r}]", "a (weight, bias) pair for every "
                             "weighted layer", "no entry", source="(legacy writer)")
        w, b = float_weights[op.name]
        w = np.asarray(w, dtype=np.float64)
        _check_float(w, np.asarray(op.weight).shape, f"float_weights[{op.name!r}][0]")
        entry = weighted_to_dict(op, "dense", layout_key=False)
        entry["weight"] = write_tensor(w, layout, fill=0.0)
        entry.pop("bias", None)
        if b is not None:
            b = np.asarray(b, dtype=np.float64)
            _check_float(b, (w.shape[0],), f"float_weights[{op.name!r}][1]")
            entry["bias"] = write_tensor(b, layout, fill=0.0)
        layers.append(entry)
    dump_yaml(_legacy_doc(model, "float_value", layers), path, sort_keys=True)
