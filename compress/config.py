"""The one configuration schema of a compression run (YAML file + command-line overrides).

Every run is a list of registered stages (:mod:`fpgac.compress.registry`) run by
:func:`fpgac.compress.runner.run_stages`. A config file is a mapping with the common keys::

    name: lenet5_g90_8b
    model: lenet5            # or a spec list (see fpgac.compress.models)
    input_shape: [1, 28, 28]
    data: {dir: null, train_split: train5k, train_limit: null, test_limit: null}

and then **either** a ``stages:`` list (a *staged* config, with a top-level ``seed``)::

    seed: 0
    stages:
      - train: {epochs: 12}
      - prune_macs: {reduction: 5, alpha: 0.5, steps: 3, finetune_epochs: 2}
      - qat: {bits: 8, epochs: 2}
      - export: {legacy: true}

**or** the sections of the fixed ``fpgac compress`` preset (a *preset* config; every key has a
default, :data:`DEFAULTS`, the ``lenet5_g90_8b`` example)::

    train: {epochs: 30, batch_size: 64, lr: 0.002, optimizer: adam, weight_decay: 0.0,
            shift: 2, seed: 0}
    prune: {method: global-l1, amount: 0.9, iterations: 3, dim: 0, norm: 2, threshold: 0.05}
    finetune: {epochs: 6, batch_size: 64, lr: 0.0005, optimizer: adam, shift: 2}
    quant: {bits: 8, calib: 1000, percentile: 99.99, rounding: floor}
    export: {out_dir: out, layout: coo, legacy: true, legacy_dense: true, legacy_float: true,
             legacy_int_name: "{name}_int.yml", legacy_layout: coo,
             own_layouts: [coo, csr, csc]}

:func:`preset_stages` turns these sections into the stage list ``train, prune, quantize, check,
export`` (no ``prune`` when ``amount`` is 0 and the method is not ``custom``); each section
key is a parameter of one of those stages (:data:`PRESET_PARAMS`) and is checked by that
stage's rules. Unknown keys are errors (``ModelError`` with the key path). YAML is loaded with
the project's safe loader.

Deprecated spelling: ``data.limit_test`` (the old preset files) is read as ``data.test_limit``
with a ``FutureWarning`` (``fpgac compress`` prints it as a one-line warning); giving both is an
error.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

from fpgac.errors import ModelError

from . import stages as _stages  # noqa: F401  (registers the stage kinds)
from .models import config_spec
from .registry import STAGES, type_names, type_ok

__all__ = ["DATA", "DEFAULTS", "PRESET_PARAMS", "DEPRECATED", "load_config", "merge_config",
           "validate_config", "spec_of", "preset_stages", "is_staged", "load_any", "validate"]

#: the ``data`` section, common to both forms
DATA: dict[str, Any] = {"dir": None, "train_split": "train5k", "train_limit": None,
                        "test_limit": None}
_DATA_TYPES = {"dir": (str, type(None)), "train_split": str, "train_limit": (int, type(None)),
               "test_limit": (int, type(None))}

#: deprecated ``data`` key -> its canonical name
DEPRECATED = {"limit_test": "test_limit"}

DEFAULTS: dict[str, Any] = {
    "name": "lenet5_g90_8b",
    "model": "lenet5",
    "input_shape": [1, 28, 28],
    "data": dict(DATA),
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

#: preset section -> (stage kind, {section key: stage parameter}); ``train.seed`` and
#: ``export.out_dir`` are the run's seed and output directory
PRESET_PARAMS: dict[str, tuple[str, dict[str, str]]] = {
    "train": ("train", {k: k for k in ("epochs", "batch_size", "lr", "optimizer",
                                       "weight_decay", "shift")}),
    "prune": ("prune", {k: k for k in ("method", "amount", "iterations", "dim", "norm",
                                       "threshold")}),
    "finetune": ("prune", {k: f"finetune_{k}" for k in ("epochs", "batch_size", "lr",
                                                         "optimizer", "shift")}),
    "quant": ("quantize", {k: k for k in ("bits", "calib", "percentile", "rounding")}),
    "export": ("export", {k: k for k in ("layout", "legacy", "own_layouts", "legacy_dense",
                                         "legacy_float", "legacy_int_name",
                                         "legacy_layout")}),
}

_STAGED_TOP = {"name": "strategies", "model": "lenet5", "input_shape": [1, 28, 28], "seed": 0,
               "data": {}, "stages": None}


def is_staged(doc: object) -> bool:
    """True for a mapping with a top-level ``stages`` key (the CLI's dispatch rule)."""
    return isinstance(doc, dict) and "stages" in doc


def load_any(path_or_dict: str | Path | dict | None) -> object:
    """The YAML document of a file (safe loading; ``{}`` for an empty file), or the mapping
    itself."""
    if isinstance(path_or_dict, (str, Path)):
        from fpgac.compiler.frontend.yamlio import load_yaml

        doc = load_yaml(Path(path_or_dict))
        return {} if doc is None else doc
    return path_or_dict


def _canonical(doc: object, source: str | None) -> object:
    """``doc`` with the deprecated ``data`` keys renamed (a ``FutureWarning`` each)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
        return doc
    data = dict(doc["data"])
    for old, new in DEPRECATED.items():
        if old not in data:
            continue
        if new in data:
            raise ModelError(f"data.{old}", f"only one of data.{new} and its deprecated "
                             f"spelling data.{old}", "both", source=source)
        warnings.warn(f"{source + ': ' if source else ''}data.{old} is deprecated: write "
                      f"data.{new} (same meaning)", FutureWarning, stacklevel=3)
        data[new] = data.pop(old)
    return {**doc, "data": data}


def _check_common(cfg: dict, source: str | None) -> None:
    """``name``, ``input_shape``, ``model`` and the ``data`` section (filled in)."""
    if not isinstance(cfg["name"], str) or not cfg["name"] or "/" in cfg["name"]:
        raise ModelError("name", "a non-empty file-name-safe string", cfg["name"], source=source)
    shape = cfg["input_shape"]
    if (not isinstance(shape, list) or len(shape) != 3
            or not all(type_ok(v, int) and v > 0 for v in shape)):
        raise ModelError("input_shape", "a list [C, H, W] of positive integers", shape,
                         source=source)
    config_spec(cfg["model"], tuple(shape), "model", source)
    if not isinstance(cfg["data"], dict):
        raise ModelError("data", "a mapping", cfg["data"], source=source)
    for key, value in cfg["data"].items():
        if key not in DATA:
            raise ModelError(f"data.{key}", "one of " + ", ".join(DATA), f"key {key!r}",
                             source=source)
        if not type_ok(value, _DATA_TYPES[key]):
            raise ModelError(f"data.{key}", type_names(_DATA_TYPES[key]), value, source=source)
        if key.endswith("_limit") and value is not None and value < 1:
            raise ModelError(f"data.{key}", "null or an integer >= 1", value, source=source)
    cfg["data"] = {**DATA, **cfg["data"]}


def validate(doc: object, source: str | None = None) -> dict:
    """Check a staged config; return it with every default filled in.

    Raises
    ------
    ModelError
        With the key path (``stages[2].qat.bits``), what was expected and what was found, for
        unknown keys or stage kinds, wrong types, bad specs, or a stage that needs an integer
        model (``check``, ``export``) with no ``quantize``/``qat`` before it (and no stage
        changing the float network in between).
    """
    if not is_staged(doc):
        raise ModelError("stages", "a mapping with a 'stages' list", "no such key"
                         if isinstance(doc, dict) else type(doc).__name__, source=source)
    for key in doc:
        if key not in _STAGED_TOP:
            raise ModelError(str(key), "one of " + ", ".join(_STAGED_TOP), f"key {key!r}",
                             source=source)
    cfg = {**copy.deepcopy(_STAGED_TOP), **copy.deepcopy(_canonical(doc, source))}
    if not type_ok(cfg["seed"], int):
        raise ModelError("seed", "an integer", cfg["seed"], source=source)
    _check_common(cfg, source)
    stages = cfg["stages"]
    if not isinstance(stages, list) or not stages:
        raise ModelError("stages", "a non-empty list of one-key mappings", stages,
                         source=source)
    out = []
    has_int = False
    for i, st in enumerate(stages):
        where = f"stages[{i}]"
        if not isinstance(st, dict) or len(st) != 1:
            raise ModelError(where, "a one-key mapping {kind: {parameters}}", st, source=source)
        (kind, given), = st.items()
        if kind not in STAGES:
            raise ModelError(where, "a stage kind among " + ", ".join(STAGES), kind,
                             source=source)
        sk = STAGES[kind]
        params = sk.params(given, lambda k: f"{where}.{kind}.{k}", source,
                           tuple(cfg["input_shape"]), what=f"{where}.{kind}")
        if sk.needs_int and not has_int:
            raise ModelError(where, f"{kind} after a quantize or qat stage (with no stage "
                             "changing the float network in between)", kind, source=source)
        has_int = (has_int or sk.makes_int) and not sk.changes_float
        out.append({kind: params})
    cfg["stages"] = out
    return cfg


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


def _preset_params(cfg: dict, source: str | None) -> dict[str, dict]:
    """Stage kind -> its parameters from the preset sections, checked by the stage's rules."""
    given: dict[str, dict] = {}
    paths: dict[str, dict[str, str]] = {}
    for sec, (kind, keys) in PRESET_PARAMS.items():
        for key, param in keys.items():
            given.setdefault(kind, {})[param] = cfg[sec][key]
            paths.setdefault(kind, {})[param] = f"{sec}.{key}"
    shape = tuple(cfg["input_shape"])
    return {kind: STAGES[kind].params(p, paths[kind].__getitem__, source, shape)
            for kind, p in given.items()}


def validate_config(cfg: dict, source: str | None = None) -> dict:
    """Check every value of a (merged) preset config; return ``cfg``."""
    for path, want in ((("train", "seed"), int), (("export", "out_dir"), str)):
        value = cfg[path[0]][path[1]]
        if not type_ok(value, want):
            raise ModelError(".".join(path), type_names(want), value, source=source)
    _check_common(cfg, source)
    _preset_params(cfg, source)
    return cfg


def preset_stages(cfg: dict, *, export: bool = True) -> dict:
    """The staged config of a validated preset config: ``train``, ``prune`` (when ``amount``
    > 0 or the method is ``custom``), ``quantize``, ``check``, ``export`` (when ``export``).

    Seeds as the fixed run has always used them: training ``train.seed``, the fine-tuning
    after pruning step ``k`` ``train.seed + 1 + k``, the calibration subset ``train.seed``.
    The preset's export refuses (rather than skips) legacy files the model cannot be written
    as (``legacy_fallback: false``).
    """
    p = _preset_params(cfg, None)
    seed = cfg["train"]["seed"]
    stages = [{"train": {**p["train"], "seed": seed}}]
    if cfg["prune"]["amount"] > 0 or cfg["prune"]["method"] == "custom":
        stages.append({"prune": {**p["prune"], "seed": seed + 1}})
    stages += [{"quantize": {**p["quantize"], "seed": seed}}, {"check": {}}]
    if export:
        stages.append({"export": {**p["export"], "legacy_fallback": False}})
    return {"name": cfg["name"], "model": copy.deepcopy(cfg["model"]),
            "input_shape": list(cfg["input_shape"]), "seed": seed,
            "data": dict(cfg["data"]), "stages": stages}


def spec_of(cfg: dict) -> list[dict]:
    """The layer spec a config names (:data:`~fpgac.compress.models.LENET5_SPEC` for
    ``model: lenet5``)."""
    return config_spec(cfg["model"], tuple(cfg["input_shape"]))


def load_config(path: str | Path | None, overrides: dict | None = None) -> dict:
    """Defaults, then the preset YAML file ``path`` (if any), then ``overrides``; validated."""
    cfg = copy.deepcopy(DEFAULTS)
    source = None
    if path is not None:
        source = str(path)
        data = load_any(path)
        if not isinstance(data, dict):
            raise ModelError("(top level)", "a mapping", type(data).__name__, source=source)
        cfg = merge_config(cfg, _canonical(data, source), source=source)
    if overrides:
        cfg = merge_config(cfg, _canonical(overrides, None))
    return validate_config(cfg, source)
