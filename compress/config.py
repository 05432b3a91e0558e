"""The configuration of one compression run (YAML file + command-line overrides).

A config file is a mapping with the optional sections below; every key has a default, unknown
keys are errors (``ModelError`` with the key path). Loaded with the project's safe YAML loader.

.. code-block:: yaml

    name: lenet5_g90_8b
    model: lenet5            # or a spec list (see fpgac.compress.models)
    input_shape: [1, 28, 28]
    data: {dir: null, train_split: train5k, train_limit: null, limit_test: null}
    train: {epochs: 30, batch_size: 64, lr: 0.002, optimizer: adam, weight_decay: 0.0,
            shift: 2, seed: 0}
    prune: {method: global-l1, amount: 0.9, iterations: 3, dim: 0, norm: 2, threshold: 0.05}
    finetune: {epochs: 6, batch_size: 64, lr: 0.0005, optimizer: adam, shift: 2}
    quant: {bits: 8, calib: 1000, percentile: 99.99, rounding: floor}
    export: {out_dir: out, layout: coo, legacy: true, legacy_dense: true, legacy_float: true,
             legacy_int_name: "{name}_int.yml", legacy_layout: coo,
             own_layouts: [coo, csr, csc]}
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from fpgac.errors import ModelError

from .models import LENET5_SPEC, resolve_spec

__all__ = ["DEFAULTS", "load_config", "merge_config", "validate_config", "spec_of"]

DEFAULTS: dict[str, Any] = {
    "name": "lenet5_g90_8b",
    "model": "lenet5",
    "input_shape": [1, 28, 28],
    "data": {"dir": None, "train_split": "train5k", "train_limit": None, "limit_test": None},
    "train": {"epochs": 30, "batch_size": 64, "lr": 0.002, "optimizer": "adam",
              "weight_decay": 0.0, "shift": 2, "seed": 0},
    "prune": {"method": "global-l1", "amount": 0.9, "iterations": 3, "dim": 0, "norm": 2,
              "threshold": 0.05},
    "finetune": {"epochs": 6, "batch_size": 64, "lr": 0.0005, "optimizer": "adam", "shift": 2},
    "quant": {"bits": 8, "calib": 1000, "percentile": 99.99, "rounding": "floor"},
    "export": {"out_dir": "out", "layout": "coo", "legacy": True, "legacy_dense": True,
               "legacy_float": True, "legacy_int_name": "{name}_int.yml",
               "legacy_layout": "coo",
               "own_layouts": ["coo", "csr", "csc"]},
}

_TYPES = {
    ("data", "dir"): (str, type(None)), ("data", "train_split"): str,
    ("data", "train_limit"): (int, type(None)), ("data", "limit_test"): (int, type(None)),
    ("train", "epochs"): int, ("train", "batch_size"): int, ("train", "lr"): float,
    ("train", "optimizer"): str, ("train", "weight_decay"): float, ("train", "shift"): int,
    ("train", "seed"): int,
    ("prune", "method"): str, ("prune", "amount"): float, ("prune", "iterations"): int,
    ("prune", "dim"): int, ("prune", "norm"): float, ("prune", "threshold"): float,
    ("finetune", "epochs"): int, ("finetune", "batch_size"): int, ("finetune", "lr"): float,
    ("finetune", "optimizer"): str, ("finetune", "shift"): int,
    ("quant", "bits"): int, ("quant", "calib"): int, ("quant", "percentile"): float,
    ("quant", "rounding"): str,
    ("export", "out_dir"): str, ("export", "layout"): str, ("export", "legacy"): bool,
    ("export", "own_layouts"): list, ("export", "legacy_dense"): bool,
    ("export", "legacy_float"): bool, ("export", "legacy_int_name"): str,
    ("export", "legacy_layout"): str,
}

_LAYOUTS = ("dense", "coo", "csr", "csc")
_METHODS = ("global-l1", "l1", "random", "ln-structured", "custom")

#: value checks beyond the type, so that a bad value fails before any training
_RANGES = {
    ("quant", "bits"): (lambda v: 2 <= v <= 16, "an integer in [2, 16]"),
    ("quant", "calib"): (lambda v: v >= 1, "an integer >= 1"),
    ("quant", "percentile"): (lambda v: 50 < v <= 100, "a number in (50, 100]"),
    ("quant", "rounding"): (lambda v: v in ("floor", "half_up"), "'floor' or 'half_up'"),
    ("prune", "method"): (lambda v: v in _METHODS, "one of " + ", ".join(_METHODS)),
    ("prune", "amount"): (lambda v: 0 <= v < 1, "a fraction in [0, 1)"),
    ("prune", "iterations"): (lambda v: v >= 1, "an integer >= 1"),
    ("prune", "dim"): (lambda v: v in (0, 1), "0 (filters) or 1 (channels)"),
    ("prune", "threshold"): (lambda v: v >= 0, "a number >= 0"),
    ("train", "epochs"): (lambda v: v >= 0, "an integer >= 0"),
    ("train", "batch_size"): (lambda v: v >= 1, "an integer >= 1"),
    ("train", "lr"): (lambda v: v > 0, "a number > 0"),
    ("train", "optimizer"): (lambda v: v in ("adam", "sgd"), "'adam' or 'sgd'"),
    ("finetune", "epochs"): (lambda v: v >= 0, "an integer >= 0"),
    ("finetune", "batch_size"): (lambda v: v >= 1, "an integer >= 1"),
    ("finetune", "lr"): (lambda v: v > 0, "a number > 0"),
    ("finetune", "optimizer"): (lambda v: v in ("adam", "sgd"), "'adam' or 'sgd'"),
    ("data", "train_limit"): (lambda v: v is None or v >= 1, "null or an integer >= 1"),
    ("data", "limit_test"): (lambda v: v is None or v >= 1, "null or an integer >= 1"),
    ("export", "layout"): (lambda v: v in _LAYOUTS, "one of " + ", ".join(_LAYOUTS)),
    ("export", "legacy_layout"): (lambda v: v in ("coo", "dense"), "'coo' or 'dense'"),
    ("export", "legacy_int_name"): (lambda v: "{name}" in v and "/" not in v,
                                    "a file name containing '{name}'"),
}

_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
          list: "a list", type(None): "null"}


def _type_ok(value: object, want) -> bool:
    wants = want if isinstance(want, tuple) else (want,)
    for w in wants:
        if w is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if w is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if w not in (int, float) and isinstance(value, w):
            return True
    return False


def merge_config(base: dict, override: dict, path: str = "", source: str | None = None) -> dict:
    """Deep-merge ``override`` into a copy of ``base``; unknown keys raise ``ModelError``."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in base:
            raise ModelError(where, "one of " + ", ".join(sorted(map(str, base))),
                             f"key {key!r}", source=source)
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ModelError(where, "a mapping", value, source=source)
            out[key] = merge_config(base[key], value, where, source)
        else:
            out[key] = copy.deepcopy(value)
    return out


def validate_config(cfg: dict, source: str | None = None) -> dict:
    """Check every value's type and the model spec; return ``cfg``."""
    for (sec, key), want in _TYPES.items():
        value = cfg[sec][key]
        if not _type_ok(value, want):
            wants = want if isinstance(want, tuple) else (want,)
            raise ModelError(f"{sec}.{key}", " or ".join(_NAMES[w] for w in wants), value,
                             source=source)
    for (sec, key), (ok, what) in _RANGES.items():
        if not ok(cfg[sec][key]):
            raise ModelError(f"{sec}.{key}", what, cfg[sec][key], source=source)
    for i, lay in enumerate(cfg["export"]["own_layouts"]):
        if lay not in _LAYOUTS:
            raise ModelError(f"export.own_layouts[{i}]", "one of " + ", ".join(_LAYOUTS), lay,
                             source=source)
    if not isinstance(cfg["name"], str) or not cfg["name"] or "/" in cfg["name"]:
        raise ModelError("name", "a non-empty file-name-safe string", cfg["name"], source=source)
    shape = cfg["input_shape"]
    if (not isinstance(shape, list) or len(shape) != 3
            or not all(isinstance(v, int) and v > 0 for v in shape)):
        raise ModelError("input_shape", "a list [C, H, W] of positive integers", shape,
                         source=source)
    model = cfg["model"]
    if model != "lenet5" and not isinstance(model, list):
        raise ModelError("model", "'lenet5' or a list of layer specs", model, source=source)
    try:
        resolve_spec(spec_of(cfg), tuple(shape))
    except ModelError as exc:
        raise ModelError(f"model.{exc.path}", exc.expected, exc.found, source=source) from None
    return cfg


def spec_of(cfg: dict) -> list[dict]:
    """The layer spec a config names (:data:`LENET5_SPEC` for ``model: lenet5``)."""
    return copy.deepcopy(LENET5_SPEC if cfg["model"] == "lenet5" else cfg["model"])


def load_config(path: str | Path | None, overrides: dict | None = None) -> dict:
    """Defaults, then the YAML file ``path`` (if any), then ``overrides``; validated."""
    from fpgac.compiler.frontend.yamlio import load_yaml

    cfg = copy.deepcopy(DEFAULTS)
    source = None
    if path is not None:
        source = str(path)
        data = load_yaml(Path(path))
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ModelError("(top level)", "a mapping", type(data).__name__, source=source)
        cfg = merge_config(cfg, data, source=source)
    if overrides:
        cfg = merge_config(cfg, overrides)
    return validate_config(cfg, source)
