"""The one stage runner: every compression run is a list of registered stages run in order.

:func:`run_stages` takes a validated config (:func:`fpgac.compress.config.validate`: ``name``,
``model``, ``input_shape``, ``seed``, ``data`` and the ``stages`` list), loads the data, builds
the network, runs each stage (:mod:`fpgac.compress.stages`) and records a :class:`StageRow`
after each one: float test accuracy, integer test accuracy (torch integer mode; once an integer
model exists), parameters, non-zero parameters, MACs, non-zero MACs and their reduction factors
against the network as built. It returns a :class:`RunRecord`. The fixed ``fpgac compress``
run is the preset list :func:`fpgac.compress.config.preset_stages` run by this same function
(:func:`fpgac.compress.pipeline.run_compress`).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from fpgac.compiler import ir
from fpgac.errors import FpgacError

from . import stages as _stages  # noqa: F401  (registers the stage kinds)
from .config import load_any, validate
from .data import Dataset, calibration_set, load_split
from .models import CNN, build_cnn, config_spec
from .registry import STAGES, Run
from .strategies.costs import footprint, ir_footprint
from .train import evaluate

__all__ = ["StageRow", "RunRecord", "stage_table", "load_data", "run_stages", "run_config",
           "run_config_file"]


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
    """Everything a staged run produced (JSON-serializable except ``model`` /
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


def load_data(data: dict, seed: int, limit: int | None = None) -> tuple[Dataset, Dataset]:
    """The training and test images of a config's ``data`` section.

    At most ``train_limit`` (and ``limit``) training images: a seeded random subset
    (:func:`~fpgac.compress.data.calibration_set`; the shipped training set is sorted by label);
    the first ``test_limit`` (and ``limit``) test images.
    """
    train_set = load_split(data["train_split"], data["dir"])
    n_train = min(x for x in (len(train_set), data["train_limit"], limit) if x is not None)
    if n_train < len(train_set):
        train_set = calibration_set(train_set, n_train, seed)
    tests = [x for x in (data["test_limit"], limit) if x is not None]
    return train_set, load_split("test", data["dir"], min(tests) if tests else None)


def _row(run: Run, i: int, kind: str, dense, t0: float, info: dict) -> StageRow:
    float_acc = evaluate(run.model, run.test_set)
    int_acc = None
    if run.qmodel is not None:
        int_acc = float((run.int_logits().argmax(1) == run.test_set.labels).double().mean())
    fp = ir_footprint(run.qmodel) if run.qmodel is not None else footprint(run.model)
    red = fp.reduction(dense)
    return StageRow(i, kind, float_acc, int_acc, fp.params, fp.nonzero_params, fp.macs,
                    fp.nonzero_macs, red["params_x"], red["macs_x"], time.perf_counter() - t0,
                    info)


def run_stages(cfg: dict, *, out_dir: str | Path, epochs_scale: float = 1.0,
               limit: int | None = None, progress: bool = False, log=None, console=None,
               source: str | None = None,
               on_stage: Callable[[StageRow, Run], Any] | None = None) -> RunRecord:
    """Run the stages of the validated config ``cfg``; return (and save) the record.

    Parameters
    ----------
    out_dir
        Where the exported models, sensitivity files and ``<name>.run.json`` go.
    epochs_scale
        Multiplies every epoch count (rounded, at least 1 where it was > 0): quick runs.
    limit
        At most this many training images (a seeded random subset), test images (the first
        ones), calibration and sensitivity images.
    progress
        Show rich progress bars while training.
    log
        ``callable(str)`` for progress lines (default: silent).
    console
        A ``rich.console.Console``: the table of all stages so far is printed after each stage.
    on_stage
        ``on_stage(row, run)`` after every stage (the preset reads the network there).
    """
    if not epochs_scale > 0:
        raise FpgacError(f"epochs_scale: expected a number > 0, found {epochs_scale!r}")
    if limit is not None and limit < 1:
        raise FpgacError(f"limit: expected a positive integer, found {limit!r}")
    t_start = time.perf_counter()
    shape = tuple(cfg["input_shape"])
    train_set, test_set = load_data(cfg["data"], cfg["seed"], limit)
    model = build_cnn(config_spec(cfg["model"], shape, "model", source), shape, seed=cfg["seed"])
    run = Run(cfg["name"], cfg["seed"], shape, Path(out_dir), train_set, test_set, model,
              source, epochs_scale, limit, progress, log or (lambda _msg: None))
    run.out.mkdir(parents=True, exist_ok=True)
    dense = footprint(model)
    rows: list[StageRow] = []
    for i, st in enumerate(cfg["stages"]):
        (kind, p), = st.items()
        kind_ = STAGES[kind]
        t0 = time.perf_counter()
        run.say(f"[{run.name}] stage {i}: {kind} {p}")
        if kind_.changes_float:
            run.qmodel = None
        seed = p["seed"] if p.get("seed") is not None else run.seed + 101 * (i + 1)
        info = kind_.run(run, p, seed)
        run.sparse = run.sparse or kind_.sparsifies
        rows.append(_row(run, i, kind, dense, t0, info))
        if on_stage is not None:
            on_stage(rows[-1], run)
        if console is not None:
            console.print(stage_table(run.name, rows, len(test_set)))
        r = rows[-1]
        run.say(f"[{run.name}] stage {i} {kind}: float {r.float_acc:.2%}"
                + ("" if r.int_acc is None else f", int {r.int_acc:.2%}")
                + f", non-zero MACs {r.nonzero_macs} ({r.macs_x:.2f}x fewer)")
    record = RunRecord(run.name, cfg, rows, run.files, len(test_set), len(train_set),
                       time.perf_counter() - t_start,
                       {"torch": torch.__version__, "python": platform.python_version(),
                        "threads": torch.get_num_threads(), "epochs_scale": epochs_scale,
                        "limit": limit, "dense": dense.as_dict()},
                       run.qmodel, run.model)
    path = run.out / f"{run.name}.run.json"
    run.files["run_record"] = str(path)
    record.to_json(path)
    return record


def run_config(path_or_dict: str | Path | dict, *, out_dir: str | Path, **kwargs) -> RunRecord:
    """Validate a staged config (a YAML file, safe loading, or a loaded mapping) and run it
    with :func:`run_stages` (``kwargs``: its options)."""
    source = str(path_or_dict) if isinstance(path_or_dict, (str, Path)) else None
    doc = load_any(path_or_dict)
    return run_stages(validate(doc, source), out_dir=out_dir, source=source, **kwargs)


def run_config_file(path: str | Path, *, out_dir: str | Path | None = None, console=None,
                    progress: bool = False) -> int | None:
    """The ``fpgac compress --config FILE`` hook: run ``FILE`` if it is a staged config.

    Returns ``None`` (nothing done) when the file has no top-level ``stages`` key, so the
    caller runs the fixed preset; else runs :func:`run_config` (outputs in ``out_dir``,
    default ``out``), printing the stage table after every stage, and returns 0.
    Errors are :class:`~fpgac.errors.FpgacError` (one line each).
    """
    from rich.console import Console

    from .config import is_staged

    if not is_staged(load_any(path)):
        return None
    console = console or Console()
    record = run_config(path, out_dir=out_dir or "out", console=console, log=console.print,
                        progress=progress)
    for key, file in record.files.items():
        console.print(f"  {key}: {file}")
    return 0
