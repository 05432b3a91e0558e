"""Combinations of strategies from one YAML config: ordered stages, a table after each.

A strategies config is a mapping with a top-level ``stages:`` list (that key is what tells it
apart from a plain :mod:`fpgac.compress.config` file)::

    name: lenet5_mac5x_qat8
    model: lenet5                 # or a spec list (fpgac.compress.models)
    seed: 0
    data: {dir: null, train_split: train5k, train_limit: null, test_limit: null}
    stages:
      - train: {epochs: 12}
      - prune_macs: {reduction: 5, alpha: 0.5, steps: 3, finetune_epochs: 2}
      - qat: {bits: 8, epochs: 2}
      - export: {legacy: true}

Each stage is a one-key mapping ``{kind: {parameters}}``; kinds and parameters (defaults in
:data:`STAGES`):

``train`` / ``finetune``
    :func:`fpgac.compress.train.train` on the current network (masks kept).
``distill``
    Train a teacher (``teacher``: ``lenet5`` or a spec; ``teacher_epochs``), then the current
    network as its student (:func:`.distill.distill`: ``alpha``, ``temperature``, ``features``
    as ``[[student_layer, teacher_layer], ..]``, ``feature_weight``).
``prune``
    The base pipeline's :func:`fpgac.compress.prune.prune_model` (``method``, ``amount``,
    ``iterations``), fine-tuning after every step.
``prune_macs``
    :func:`.macs.prune_macs_iterative` (``reduction``, ``alpha``, ``normalize``, ``steps``),
    fine-tuning after every step.
``prune_filters``
    :func:`.filters.prune_filters` (``ratio``, ``include_linear``, ``layers``), then fine-tune.
``sensitivity``
    :func:`.sensitivity.sensitivity_analysis` on ``eval`` training images, :func:`.allocate`
    for ``params_x`` or ``macs_x``, prune, fine-tune; writes ``NAME.sensitivity.{csv,json,png}``.
``lowrank``
    :func:`.lowrank.factorize_linear` (``layer``, ``rank`` or ``energy``), then fine-tune.
``quantize``
    Post-training quantization (:func:`fpgac.compress.quantize.calibrate` +
    ``quantize_model``): ``bits``, ``calib``, ``percentile``, ``rounding``.
``qat``
    :func:`.qat.qat_train` + :func:`.qat.export_qat` (``bits``, ``epochs``, ``lr`` ...).
``export``
    :func:`fpgac.compress.export.export_all` of the integer model (legacy files only when the
    legacy topology can express the model), then ``load_model`` of the own-format file and a
    golden-model check on the test images: accuracy and 0 mismatches against the integer mode.

Pruning stages keep the masks while fine-tuning, then make them permanent and assert that every
pruned weight is still exactly 0. A stage that changes the float network drops the integer
model, so ``export`` must follow ``quantize``/``qat`` (checked before anything runs).

After every stage a row records float test accuracy, integer test accuracy (torch integer mode;
once an integer model exists), parameters, non-zero parameters, MACs, non-zero MACs and their
reduction factors against the dense network of the first stage. :func:`run_config` returns a
:class:`RunRecord` and writes it to ``<out_dir>/<name>.run.json``.
"""

from __future__ import annotations

import copy
import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.nn.utils import prune

from fpgac.compiler import ir
from fpgac.errors import FpgacError, ModelError

from ..data import Dataset, load_split
from ..integer import integer_forward
from ..models import LENET5_SPEC, CNN, build_cnn, resolve_spec
from ..pipeline import calibration_set, golden_check
from ..prune import METHODS, check_zeros, make_permanent, masks_of, prune_model
from ..quantize import calibrate, quantize_model
from ..train import TrainConfig, evaluate, train
from .costs import footprint, ir_footprint
from .distill import distill
from .filters import prune_filters
from .lowrank import factorize_linear
from .macs import prune_macs_iterative
from .qat import export_qat, qat_train
from .sensitivity import DEFAULT_RATIOS, allocate, apply_ratios, sensitivity_analysis

__all__ = ["STAGES", "StageRow", "RunRecord", "is_strategies_config", "validate",
           "stage_table", "keep_zeros", "run_config", "run_config_file"]

_TRAIN = {"epochs": 10, "lr": 2e-3, "batch_size": 64, "optimizer": "adam",
          "weight_decay": 0.0, "shift": 2}
_FT = {"finetune_epochs": 2, "finetune_lr": 5e-4}
_Q = {"bits": 8, "calib": 1000, "percentile": 99.99, "rounding": "floor"}

#: Stage kind -> parameter defaults (``None``: optional, no default; type from the default or
#: from :data:`_TYPES`).
STAGES: dict[str, dict[str, Any]] = {
    "train": dict(_TRAIN),
    "finetune": {**_TRAIN, "epochs": 3, "lr": 5e-4},
    "distill": {**_TRAIN, "teacher": "lenet5", "teacher_epochs": 10, "teacher_lr": 2e-3,
                "alpha": 0.7, "temperature": 4.0, "features": [], "feature_weight": 1.0},
    "prune": {"method": "global-l1", "amount": 0.9, "iterations": 1, **_FT},
    "prune_macs": {"reduction": 5.0, "alpha": 0.0, "normalize": False, "steps": 1, **_FT},
    "prune_filters": {"ratio": 0.5, "include_linear": False, "layers": None, **_FT},
    "sensitivity": {"params_x": None, "macs_x": None, "ratios": list(DEFAULT_RATIOS),
                    "eval": 1000, **_FT},
    "lowrank": {"layer": "fc1", "rank": None, "energy": None, **_FT},
    "quantize": dict(_Q),
    "qat": {**_Q, "epochs": 2, "lr": 5e-4, "batch_size": 64, "optimizer": "adam",
            "weight_decay": 0.0, "shift": 2},
    "export": {"legacy": True, "layout": "coo", "own_layouts": ["coo"],
               "legacy_dense": False},
}

_TYPES = {"layers": (list, type(None)), "params_x": (float, type(None)),
          "macs_x": (float, type(None)), "rank": (int, type(None)),
          "energy": (float, type(None)), "teacher": (str, list)}
_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
          list: "a list", type(None): "null"}
_CHANGES_FLOAT = {"train", "finetune", "distill", "prune", "prune_macs", "prune_filters",
                  "sensitivity", "lowrank"}
_MAKES_INT = {"quantize", "qat"}
_TOP = {"name": "strategies", "model": "lenet5", "input_shape": [1, 28, 28], "seed": 0,
        "data": {}, "stages": None}
_DATA = {"dir": None, "train_split": "train5k", "train_limit": None, "test_limit": None}


def _type_ok(value: object, want) -> bool:
    for w in want if isinstance(want, tuple) else (want,):
        if w is bool:
            if isinstance(value, bool):
                return True
        elif w in (int, float):
            if isinstance(value, bool):
                continue
            if isinstance(value, int) or (w is float and isinstance(value, float)):
                return True
        elif isinstance(value, w):
            return True
    return False


def is_strategies_config(doc: object) -> bool:
    """True for a mapping with a top-level ``stages`` key (the CLI's dispatch rule)."""
    return isinstance(doc, dict) and "stages" in doc


def _spec(model: object, path: str, source: str | None, shape: tuple) -> list[dict]:
    if model == "lenet5":
        return copy.deepcopy(LENET5_SPEC)
    if not isinstance(model, list):
        raise ModelError(path, "'lenet5' or a list of layer specs", model, source=source)
    try:
        resolve_spec(model, shape)
    except ModelError as exc:
        raise ModelError(f"{path}.{exc.path}", exc.expected, exc.found, source=source) from None
    return copy.deepcopy(model)


def validate(doc: object, source: str | None = None) -> dict:
    """Check a strategies config; return it with every default filled in.

    Raises
    ------
    ModelError
        With the key path (``stages[2].qat.bits``), what was expected and what was found, for
        unknown keys or stage kinds, wrong types, bad specs, or an ``export`` that no
        ``quantize``/``qat`` precedes (with no float-changing stage in between).
    """
    if not is_strategies_config(doc):
        raise ModelError("stages", "a mapping with a 'stages' list", "no such key"
                         if isinstance(doc, dict) else type(doc).__name__, source=source)
    for key in doc:
        if key not in _TOP:
            raise ModelError(str(key), "one of " + ", ".join(_TOP), f"key {key!r}",
                             source=source)
    cfg = {**copy.deepcopy(_TOP), **copy.deepcopy(doc)}
    if not isinstance(cfg["name"], str) or not cfg["name"] or "/" in cfg["name"]:
        raise ModelError("name", "a non-empty file-name-safe string", cfg["name"], source=source)
    if not _type_ok(cfg["seed"], int):
        raise ModelError("seed", "an integer", cfg["seed"], source=source)
    shape = cfg["input_shape"]
    if (not isinstance(shape, list) or len(shape) != 3
            or not all(_type_ok(v, int) and v > 0 for v in shape)):
        raise ModelError("input_shape", "a list [C, H, W] of positive integers", shape,
                         source=source)
    _spec(cfg["model"], "model", source, tuple(shape))
    if not isinstance(cfg["data"], dict):
        raise ModelError("data", "a mapping", cfg["data"], source=source)
    for key, value in cfg["data"].items():
        if key not in _DATA:
            raise ModelError(f"data.{key}", "one of " + ", ".join(_DATA), f"key {key!r}",
                             source=source)
        want = (int, type(None)) if key.endswith("limit") else (str, type(None))
        if not _type_ok(value, want):
            raise ModelError(f"data.{key}", " or ".join(_NAMES[w] for w in want), value,
                             source=source)
    cfg["data"] = {**_DATA, **cfg["data"]}
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
        kind, params = next(iter(st.items()))
        if kind not in STAGES:
            raise ModelError(where, "a stage kind among " + ", ".join(STAGES), kind,
                             source=source)
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise ModelError(f"{where}.{kind}", "a mapping of parameters", params,
                             source=source)
        full = copy.deepcopy(STAGES[kind])
        for key, value in params.items():
            path = f"{where}.{kind}.{key}"
            if key not in full:
                raise ModelError(path, "one of " + ", ".join(full), f"key {key!r}",
                                 source=source)
            want = _TYPES.get(key, type(full[key]))
            if not _type_ok(value, want):
                wants = want if isinstance(want, tuple) else (want,)
                raise ModelError(path, " or ".join(_NAMES[w] for w in wants), value,
                                 source=source)
            full[key] = copy.deepcopy(value)
        _check_stage(kind, full, f"{where}.{kind}", source, tuple(shape))
        if kind == "export" and not has_int:
            raise ModelError(where, "export after a quantize or qat stage (with no stage "
                             "changing the float network in between)", kind, source=source)
        has_int = (has_int or kind in _MAKES_INT) and kind not in _CHANGES_FLOAT
        out.append({kind: full})
    cfg["stages"] = out
    return cfg


def _check_stage(kind: str, p: dict, where: str, source: str | None, shape: tuple) -> None:
    def bad(key: str, expected: str) -> ModelError:
        return ModelError(f"{where}.{key}", expected, p[key], source=source)

    for key in ("epochs", "teacher_epochs", "finetune_epochs", "steps", "iterations",
                "batch_size", "calib", "eval", "rank"):
        if key in p and p[key] is not None and p[key] < (1 if key in (
                "steps", "iterations", "batch_size", "calib", "eval", "rank") else 0):
            raise bad(key, "a positive integer" if key != "epochs" else "an integer >= 0")
    if "bits" in p and not 2 <= p["bits"] <= 16:
        raise bad("bits", "an integer in [2, 16]")
    if "rounding" in p and p["rounding"] not in ("floor", "half_up"):
        raise bad("rounding", "'floor' or 'half_up'")
    if "optimizer" in p and p["optimizer"] not in ("adam", "sgd"):
        raise bad("optimizer", "'adam' or 'sgd'")
    if kind == "prune":
        if p["method"] not in METHODS or p["method"] == "custom":
            raise bad("method", "one of " + ", ".join(m for m in METHODS if m != "custom"))
        if not 0.0 <= p["amount"] < 1.0:
            raise bad("amount", "a fraction in [0, 1)")
    if kind == "prune_macs" and not p["reduction"] >= 1.0:
        raise bad("reduction", "a factor >= 1")
    if kind == "prune_filters" and not 0.0 <= p["ratio"] < 1.0:
        raise bad("ratio", "a fraction in [0, 1)")
    if kind == "sensitivity" and (p["params_x"] is None) == (p["macs_x"] is None):
        raise bad("macs_x", "exactly one of params_x, macs_x")
    if kind == "lowrank" and (p["rank"] is None) == (p["energy"] is None):
        raise bad("energy", "exactly one of rank, energy")
    if kind == "distill":
        _spec(p["teacher"], f"{where}.teacher", source, shape)
        for j, pair in enumerate(p["features"]):
            if (not isinstance(pair, list) or len(pair) != 2
                    or not all(isinstance(s, str) for s in pair)):
                raise ModelError(f"{where}.features[{j}]", "a pair [student_layer, "
                                 "teacher_layer]", pair, source=source)


@dataclass
class StageRow:
    """Metrics after one stage (accuracies are fractions; ``int_acc`` None before quantization;
    the footprint is the integer model's when there is one, else the float network's)."""

    index: int
    stage: str
    float_acc: float
    int_acc: float | None
    params: int
    nonzero_params: int
    macs: int
    nonzero_macs: int
    params_x: float
    macs_x: float
    seconds: float
    info: dict = field(default_factory=dict)


@dataclass
class RunRecord:
    """Everything a strategies run produced (JSON-serializable except ``model`` /
    ``float_model``, which are dropped by :meth:`as_dict`)."""

    name: str
    config: dict
    rows: list[StageRow]
    files: dict[str, str]
    test_images: int
    train_images: int
    seconds: float
    versions: dict
    model: ir.Model | None = None
    float_model: CNN | None = None

    def as_dict(self) -> dict:
        return {"name": self.name, "config": self.config,
                "rows": [asdict(r) for r in self.rows], "files": self.files,
                "test_images": self.test_images, "train_images": self.train_images,
                "seconds": self.seconds, "versions": self.versions}

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.as_dict(), indent=2) + "\n")

    def table(self):
        """A rich ``Table`` with one row per stage."""
        return stage_table(self.name, self.rows, self.test_images)


def stage_table(name: str, rows: list[StageRow], test_images: int):
    """The rich ``Table`` of ``rows``: accuracies, sizes and MACs with their reductions."""
    from rich.table import Table

    tab = Table(title=f"{name}: after each stage ({test_images} test images)")
    for col in ("#", "stage", "float acc", "int acc", "params", "non-zero", "MACs",
                "non-zero MACs", "params x", "MACs x", "s"):
        tab.add_column(col, justify="left" if col == "stage" else "right")
    for r in rows:
        tab.add_row(str(r.index), r.stage, f"{r.float_acc:.2%}",
                    "-" if r.int_acc is None else f"{r.int_acc:.2%}", str(r.params),
                    str(r.nonzero_params), str(r.macs), str(r.nonzero_macs),
                    f"{r.params_x:.2f}", f"{r.macs_x:.2f}", f"{r.seconds:.1f}")
    return tab


def _scaled(epochs: int, scale: float) -> int:
    return 0 if epochs <= 0 else max(1, int(round(epochs * scale)))


def _tcfg(p: dict, seed: int, scale: float, *, epochs_key: str = "epochs",
          lr_key: str = "lr") -> TrainConfig:
    return TrainConfig(epochs=_scaled(p[epochs_key], scale), batch_size=p.get("batch_size", 64),
                       lr=float(p[lr_key]), optimizer=p.get("optimizer", "adam"),
                       weight_decay=float(p.get("weight_decay", 0.0)), shift=p.get("shift", 2),
                       seed=seed)


def _ft_cfg(p: dict, seed: int, scale: float) -> TrainConfig:
    return _tcfg(p, seed, scale, epochs_key="finetune_epochs", lr_key="finetune_lr")


def _masked_finetune(model: CNN, train_set: Dataset, cfg: TrainConfig) -> None:
    """Fine-tune with the masks in place, make them permanent, assert the zeros held."""
    masks = masks_of(model)
    train(model, train_set, cfg, progress=False, label="fine-tune")
    make_permanent(model)
    check_zeros(model, masks)


def keep_zeros(model: CNN, fn: Callable[[], Any]) -> Any:
    """Run ``fn()`` (a training run) with every weight that is exactly 0 now held at 0.

    ``prune.custom_from_mask`` attaches the mask ``weight != 0`` to every weighted layer, so
    training (also QAT and distillation, which go through the same modules) cannot revive a
    pruned weight; afterwards the masks are made permanent and the zeros are checked.
    """
    masks = {}
    for name, mod in model.weighted():
        if prune.is_pruned(mod):
            prune.remove(mod, "weight")
        masks[name] = (mod.weight.detach() != 0).to(mod.weight.dtype)
        prune.custom_from_mask(mod, "weight", masks[name])
    try:
        result = fn()
    finally:
        make_permanent(model)
    check_zeros(model, masks)
    return result


def run_config(path_or_dict: str | Path | dict, *, out_dir: str | Path,
               epochs_scale: float = 1.0, limit: int | None = None,
               log=None, console=None) -> RunRecord:
    """Run the stages of a strategies config; return (and save) the :class:`RunRecord`.

    Parameters
    ----------
    path_or_dict
        A YAML file (safe loading) or an already-loaded mapping.
    out_dir
        Where the exported models, sensitivity files and ``<name>.run.json`` go.
    epochs_scale
        Multiplies every epoch count (rounded, at least 1 where it was > 0): quick runs.
    limit
        At most this many training images (a seeded random subset: the shipped training set is
        sorted by label), test images (the first ones), calibration and sensitivity images.
    log
        ``callable(str)`` for progress lines (default: silent).
    console
        A ``rich.console.Console``: the table of all stages so far is printed after each stage.
    """
    source = None
    if isinstance(path_or_dict, (str, Path)):
        from fpgac.compiler.frontend import load_yaml
        source = str(path_or_dict)
        doc = load_yaml(Path(path_or_dict))
    else:
        doc = path_or_dict
    cfg = validate(doc, source)
    if not epochs_scale > 0:
        raise FpgacError(f"epochs_scale: expected a number > 0, found {epochs_scale!r}")
    if limit is not None and limit < 1:
        raise FpgacError(f"limit: expected a positive integer, found {limit!r}")
    say = log or (lambda _msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    seed = cfg["seed"]
    shape = tuple(cfg["input_shape"])
    dcfg = cfg["data"]
    train_set = load_split(dcfg["train_split"], dcfg["dir"])
    n_train = min(x for x in (len(train_set), dcfg["train_limit"], limit) if x is not None)
    if n_train < len(train_set):
        train_set = calibration_set(train_set, n_train, seed)
    n_test = min(x for x in (dcfg["test_limit"], limit) if x is not None) if (
        dcfg["test_limit"] is not None or limit is not None) else None
    test_set = load_split("test", dcfg["dir"], n_test)
    model = build_cnn(_spec(cfg["model"], "model", source, shape), shape, seed=seed)
    dense = footprint(model)
    qmodel: ir.Model | None = None
    rows: list[StageRow] = []
    files: dict[str, str] = {}
    name = cfg["name"]
    sparse = False                  # once pruned, later training keeps the zeros at 0

    def cap(n: int) -> int:
        return n if limit is None else min(n, limit)

    for i, stage in enumerate(cfg["stages"]):
        kind, p = next(iter(stage.items()))
        t0 = time.perf_counter()
        info: dict[str, Any] = {}
        s = seed + 101 * (i + 1)
        say(f"[{name}] stage {i}: {kind} {p}")
        if kind in _CHANGES_FLOAT:
            qmodel = None

        def fit(fn: Callable[[], Any]) -> Any:
            return keep_zeros(model, fn) if sparse else fn()

        if kind in ("train", "finetune"):
            info["losses"] = fit(lambda: train(model, train_set, _tcfg(p, s, epochs_scale),
                                               progress=False, label=kind))
        elif kind == "distill":
            teacher = build_cnn(_spec(p["teacher"], "teacher", source, shape), shape, seed=s)
            train(teacher, train_set, _tcfg(p, s, epochs_scale, epochs_key="teacher_epochs",
                                            lr_key="teacher_lr"), progress=False,
                  label="teacher")
            info["teacher_acc"] = evaluate(teacher, test_set)
            info["teacher"] = footprint(teacher).as_dict()
            info["losses"] = fit(lambda: distill(
                model, teacher, train_set, _tcfg(p, s + 1, epochs_scale), alpha=p["alpha"],
                temperature=p["temperature"], features=[tuple(f) for f in p["features"]],
                feature_weight=p["feature_weight"]))
        elif kind == "prune":
            ft = _ft_cfg(p, s, epochs_scale)
            prune_model(model, p["method"], p["amount"], p["iterations"],
                        between=lambda k: train(model, train_set, ft, progress=False))
            _masked_finetune(model, train_set, ft)
        elif kind == "prune_macs":
            ft = _ft_cfg(p, s, epochs_scale)
            res = prune_macs_iterative(model, p["reduction"], p["steps"], alpha=p["alpha"],
                                       normalize=p["normalize"],
                                       between=lambda k: train(model, train_set, ft,
                                                               progress=False))
            info["after_prune"] = res["after"].as_dict()
            _masked_finetune(model, train_set, ft)
        elif kind == "prune_filters":
            model = prune_filters(model, p["ratio"], layers=p["layers"],
                                  include_linear=p["include_linear"])
            info["spec"] = model.spec
            fit(lambda: train(model, train_set, _ft_cfg(p, s, epochs_scale), progress=False))
        elif kind == "sensitivity":
            evals = calibration_set(train_set, cap(p["eval"]), s)
            sens = sensitivity_analysis(model, evals, ratios=p["ratios"])
            ratios = allocate(sens, params_x=p["params_x"], macs_x=p["macs_x"])
            stem = out / f"{name}.sensitivity"
            sens.to_json(f"{stem}.json")
            sens.to_csv(f"{stem}.csv")
            sens.plot(f"{stem}.png")
            files.update({"sensitivity_json": f"{stem}.json", "sensitivity_csv": f"{stem}.csv",
                          "sensitivity_png": f"{stem}.png"})
            info["ratios"] = ratios
            apply_ratios(model, ratios)
            _masked_finetune(model, train_set, _ft_cfg(p, s, epochs_scale))
        elif kind == "lowrank":
            model, info["lowrank"] = factorize_linear(model, p["layer"], rank=p["rank"],
                                                      energy=p["energy"])
            info["spec"] = model.spec
            fit(lambda: train(model, train_set, _ft_cfg(p, s, epochs_scale), progress=False))
        elif kind == "quantize":
            calib = calibration_set(train_set, cap(p["calib"]), s)
            ranges = calibrate(model, calib, p["percentile"])
            qmodel = quantize_model(model, ranges, p["bits"], name=name,
                                    rounding=p["rounding"])
        elif kind == "qat":
            calib = calibration_set(train_set, cap(p["calib"]), s)
            net = fit(lambda: qat_train(model, train_set, _tcfg(p, s, epochs_scale),
                                        p["bits"], calib=calib, percentile=p["percentile"],
                                        rounding=p["rounding"]))
            qmodel = export_qat(net, name=name)
        elif kind == "export":
            info.update(_export(qmodel, model, out, name, p, test_set, files))
        if kind in ("prune", "prune_macs", "sensitivity"):
            sparse = True
        float_acc = evaluate(model, test_set)
        int_acc = None
        if qmodel is not None:
            logits = integer_forward(qmodel, test_set.pixels)
            int_acc = float((logits.argmax(1) == test_set.labels).double().mean())
        fp = ir_footprint(qmodel) if qmodel is not None else footprint(model)
        red = fp.reduction(dense)
        rows.append(StageRow(i, kind, float_acc, int_acc, fp.params, fp.nonzero_params,
                             fp.macs, fp.nonzero_macs, red["params_x"], red["macs_x"],
                             time.perf_counter() - t0, info))
        if console is not None:
            console.print(stage_table(name, rows, len(test_set)))
        say(f"[{name}] stage {i} {kind}: float {float_acc:.2%}"
            + ("" if int_acc is None else f", int {int_acc:.2%}")
            + f", non-zero MACs {fp.nonzero_macs} ({red['macs_x']:.2f}x fewer)")
    record = RunRecord(name, cfg, rows, files, len(test_set), len(train_set),
                       time.perf_counter() - t_start,
                       {"torch": torch.__version__, "python": platform.python_version(),
                        "threads": torch.get_num_threads(), "epochs_scale": epochs_scale,
                        "limit": limit, "dense": dense.as_dict()},
                       qmodel, model)
    path = out / f"{name}.run.json"
    files["run_record"] = str(path)
    record.to_json(path)
    return record


def _export(qmodel: ir.Model, model: CNN, out: Path, name: str, p: dict, test_set: Dataset,
            files: dict[str, str]) -> dict:
    """Export, reload the own-format file, check it against golden and the integer mode."""
    from fpgac.compiler.frontend import load_model

    from ..export import export_all

    info: dict[str, Any] = {}
    legacy = p["legacy"]
    try:
        written = export_all(qmodel, out, name, layout=p["layout"], legacy=legacy,
                             own_layouts=p["own_layouts"], legacy_dense=p["legacy_dense"])
    except ModelError as exc:           # the legacy topology cannot express this model
        if not legacy:
            raise
        info["legacy_skipped"] = str(exc)
        legacy = False
        written = export_all(qmodel, out, name, layout=p["layout"], legacy=False,
                             own_layouts=p["own_layouts"])
    files.update(written)
    reloaded = load_model(written[f"fpgac_{p['layout']}"])
    gold_acc, mismatches = golden_check(reloaded, test_set,
                                        integer_forward(qmodel, test_set.pixels).numpy())
    if mismatches:
        raise FpgacError(f"export: {name}: expected the reloaded model to match the integer "
                         f"mode on every test image (golden), found {mismatches} mismatches")
    info.update({"golden_acc": gold_acc, "golden_mismatches": mismatches})
    if legacy:
        relegacy = load_model(written["legacy_int_coo"])
        g2, m2 = golden_check(relegacy, test_set,
                              integer_forward(qmodel, test_set.pixels).numpy())
        info.update({"legacy_golden_acc": g2, "legacy_golden_mismatches": m2})
        if m2:
            raise FpgacError(f"export: {name}: expected the legacy file to match the integer "
                             f"mode on every test image (golden), found {m2} mismatches")
    return info


def run_config_file(path: str | Path, *, out_dir: str | Path | None = None,
                    console=None) -> int | None:
    """The ``fpgac compress --config FILE`` hook: run ``FILE`` if it is a strategies config.

    Returns ``None`` (nothing done) when the file has no top-level ``stages`` key, so the
    caller falls back to the base pipeline; else runs :func:`run_config` (outputs in
    ``out_dir``, default ``out``), printing the stage table after every stage, and returns 0.
    Errors are :class:`~fpgac.errors.FpgacError` (one line each).
    """
    from rich.console import Console

    from fpgac.compiler.frontend import load_yaml

    doc = load_yaml(Path(path))
    if not is_strategies_config(doc):
        return None
    console = console or Console()
    record = run_config(path, out_dir=out_dir or "out", console=console,
                        log=console.print)
    for key, file in record.files.items():
        console.print(f"  {key}: {file}")
    return 0
