"""CNN specs and their PyTorch models.

A *spec* is a list of layer mappings, the one description of a network topology shared by the
PyTorch model (:func:`build_cnn`) and the integer IR (:mod:`fpgac.compress.quantize`)::

    [{"type": "conv2d", "out_channels": 6, "kernel": 5, "padding": 2},
     {"type": "relu"}, {"type": "maxpool2d", "kernel": 2},
     ...,
     {"type": "flatten"}, {"type": "linear", "out_features": 10}]

Layer types (the IR's op names): ``conv2d`` (``out_channels``, ``kernel``, optional
``stride`` = 1, ``padding`` = 0, ``bias`` = true), ``linear`` (``out_features``, optional
``bias``), ``relu``, ``maxpool2d`` (``kernel`` = 2, ``stride`` = kernel), ``flatten``.
``maxpool`` is accepted as another spelling of ``maxpool2d`` (:data:`TYPE_ALIASES`; the
shipped specs use it). Input channel / feature counts are inferred from the input shape.
Weighted layers get names ``conv1, conv2, ..`` and ``fc1, fc2, ..``; the others
``relu1, maxpool1, flatten1, ..``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from fpgac import semantics
from fpgac.errors import ModelError

__all__ = ["LENET5_SPEC", "TYPE_ALIASES", "LayerInfo", "CNN", "build_cnn", "lenet5",
           "resolve_spec", "config_spec"]

#: LeNet-5 for 28x28 MNIST (conv1 keeps 28x28 with padding 2; conv3 gives 1x1).
LENET5_SPEC: list[dict] = [
    {"type": "conv2d", "out_channels": 6, "kernel": 5, "padding": 2},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel": 2},
    {"type": "conv2d", "out_channels": 16, "kernel": 5},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel": 2},
    {"type": "conv2d", "out_channels": 120, "kernel": 5},
    {"type": "relu"},
    {"type": "flatten"},
    {"type": "linear", "out_features": 84},
    {"type": "relu"},
    {"type": "linear", "out_features": 10},
]

_KEYS = {
    "conv2d": ({"out_channels", "kernel"}, {"stride", "padding", "bias", "name"}),
    "linear": ({"out_features"}, {"bias", "name"}),
    "relu": (set(), {"name"}),
    "maxpool2d": (set(), {"kernel", "stride", "name"}),
    "flatten": (set(), {"name"}),
}

#: other accepted spellings of a layer type -> the canonical (IR) name
TYPE_ALIASES = {"maxpool": "maxpool2d"}

#: default layer-name prefix per type (pools are ``maxpool1, ..`` as in the shipped model files)
_PREFIX = {"conv2d": "conv", "linear": "fc", "maxpool2d": "maxpool"}


@dataclass(frozen=True)
class LayerInfo:
    """One resolved layer of a spec: its kind, parameters and input/output shapes.

    ``in_shape``/``out_shape`` are ``(C, H, W)`` for maps and ``(F,)`` after ``flatten``.
    """

    index: int
    kind: str
    name: str
    params: dict
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]


def _int(path: str, value: object, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ModelError(path, f"an integer >= {lo}", value)
    return value


def resolve_spec(spec: list[dict], input_shape: tuple[int, int, int] = (1, 28, 28)
                 ) -> list[LayerInfo]:
    """Validate ``spec`` and infer every layer's shapes.

    Raises
    ------
    ModelError
        With the key path (``spec[3].kernel``), what was expected and what was found, when a
        layer is malformed or the shapes do not chain (e.g. a conv after ``flatten``).
    """
    if not isinstance(spec, list) or not spec:
        raise ModelError("spec", "a non-empty list of layers", spec)
    shape: tuple[int, ...] = tuple(input_shape)
    out: list[LayerInfo] = []
    counts = dict.fromkeys(_KEYS, 0)
    for i, layer in enumerate(spec):
        where = f"spec[{i}]"
        if not isinstance(layer, dict) or "type" not in layer:
            raise ModelError(where, "a mapping with a 'type' key", layer)
        kind = TYPE_ALIASES.get(layer["type"], layer["type"])
        if kind not in _KEYS:
            raise ModelError(f"{where}.type", "one of " + ", ".join(_KEYS)
                             + " (or " + ", ".join(TYPE_ALIASES) + ")", kind)
        need, opt = _KEYS[kind]
        keys = set(layer) - {"type"}
        if need - keys:
            raise ModelError(where, f"key {sorted(need - keys)[0]!r}", "no such key")
        if keys - need - opt:
            raise ModelError(where, "keys " + ", ".join(sorted(need | opt)),
                             f"key {sorted(keys - need - opt)[0]!r}")
        counts[kind] += 1
        prefix = _PREFIX.get(kind, kind)
        name = str(layer.get("name", f"{prefix}{counts[kind]}"))
        params: dict = {}
        if kind == "conv2d":
            if len(shape) != 3:
                raise ModelError(where, "a conv2d input of shape (C, H, W)", f"shape {shape}")
            k = _int(f"{where}.kernel", layer["kernel"], 1)
            s = _int(f"{where}.stride", layer.get("stride", 1), 1)
            p = _int(f"{where}.padding", layer.get("padding", 0), 0)
            oc = _int(f"{where}.out_channels", layer["out_channels"], 1)
            c, h, w = shape
            oh, ow = semantics.conv_out_size(h, k, s, p), semantics.conv_out_size(w, k, s, p)
            if oh < 1 or ow < 1:
                raise ModelError(f"{where}.kernel", f"a kernel that fits the {h}x{w} input", k)
            params = dict(in_channels=c, out_channels=oc, kernel=k, stride=s, padding=p,
                          bias=bool(layer.get("bias", True)))
            new: tuple[int, ...] = (oc, oh, ow)
        elif kind == "linear":
            if len(shape) != 1:
                raise ModelError(where, "a flat input (add a 'flatten' layer before)",
                                 f"shape {shape}")
            of = _int(f"{where}.out_features", layer["out_features"], 1)
            params = dict(in_features=shape[0], out_features=of,
                          bias=bool(layer.get("bias", True)))
            new = (of,)
        elif kind == "maxpool2d":
            if len(shape) != 3:
                raise ModelError(where, "a maxpool2d input of shape (C, H, W)",
                                 f"shape {shape}")
            k = _int(f"{where}.kernel", layer.get("kernel", 2), 1)
            s = _int(f"{where}.stride", layer.get("stride", k), 1)
            c, h, w = shape
            if h < k or w < k:
                raise ModelError(f"{where}.kernel", f"a window that fits the {h}x{w} input", k)
            params = dict(kernel=k, stride=s)
            new = (c, semantics.pool_out_size(h, k, s), semantics.pool_out_size(w, k, s))
        elif kind == "flatten":
            if len(shape) != 3:
                raise ModelError(where, "a flatten input of shape (C, H, W)", f"shape {shape}")
            new = (shape[0] * shape[1] * shape[2],)
        else:
            new = shape
        out.append(LayerInfo(i, kind, name, params, tuple(shape), new))
        shape = new
    if out[-1].kind not in ("conv2d", "linear") or len(shape) != 1 and shape[1:] != (1, 1):
        raise ModelError(f"spec[{len(spec) - 1}]",
                         "a last layer that is conv2d or linear with a 1-D or 1x1 output",
                         out[-1].kind)
    return out


def config_spec(model: object, input_shape: tuple[int, int, int] = (1, 28, 28),
                where: str = "model", source: str | None = None) -> list[dict]:
    """The layer spec a config's ``model`` value names, checked: a copy of
    :data:`LENET5_SPEC` for ``"lenet5"``, else the spec list itself (errors at ``where``)."""
    if model == "lenet5":
        return copy.deepcopy(LENET5_SPEC)
    if not isinstance(model, list):
        raise ModelError(where, "'lenet5' or a list of layer specs", model, source=source)
    try:
        resolve_spec(model, tuple(input_shape))
    except ModelError as exc:
        raise ModelError(f"{where}.{exc.path}", exc.expected, exc.found, source=source) from None
    return copy.deepcopy(model)


class CNN(nn.Module):
    """A straight-chain CNN built from a spec.

    ``layers`` is an ``nn.ModuleDict`` keyed by the layer names, in execution order; ``info``
    keeps the resolved :class:`LayerInfo` list. Input ``[N, C, H, W]`` float, output
    ``[N, classes]`` logits.
    """

    def __init__(self, spec: list[dict], input_shape: tuple[int, int, int] = (1, 28, 28)):
        super().__init__()
        self.spec = [dict(layer) for layer in spec]
        self.input_shape = tuple(input_shape)
        self.info = resolve_spec(self.spec, self.input_shape)
        mods: dict[str, nn.Module] = {}
        for li in self.info:
            p = li.params
            if li.kind == "conv2d":
                mod: nn.Module = nn.Conv2d(p["in_channels"], p["out_channels"], p["kernel"],
                                           stride=p["stride"], padding=p["padding"],
                                           bias=p["bias"])
            elif li.kind == "linear":
                mod = nn.Linear(p["in_features"], p["out_features"], bias=p["bias"])
            elif li.kind == "relu":
                mod = nn.ReLU()
            elif li.kind == "maxpool2d":
                mod = nn.MaxPool2d(p["kernel"], p["stride"])
            else:
                mod = nn.Flatten()
            mods[li.name] = mod
        self.layers = nn.ModuleDict(mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for mod in self.layers.values():
            x = mod(x)
        return x.flatten(1)

    def weighted(self) -> list[tuple[str, nn.Module]]:
        """``(name, module)`` of every conv2d / linear layer, in execution order."""
        return [(n, m) for n, m in self.layers.items()
                if isinstance(m, (nn.Conv2d, nn.Linear))]


def build_cnn(spec: list[dict], input_shape: tuple[int, int, int] = (1, 28, 28),
              seed: int | None = None) -> CNN:
    """Build a :class:`CNN` from ``spec``; ``seed`` makes the initial weights reproducible."""
    if seed is not None:
        torch.manual_seed(seed)
    return CNN(spec, input_shape)


def lenet5(seed: int | None = None) -> CNN:
    """LeNet-5 for 1x28x28 inputs (:data:`LENET5_SPEC`)."""
    return build_cnn(LENET5_SPEC, (1, 28, 28), seed=seed)
