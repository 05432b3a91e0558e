"""The fixed ``fpgac compress`` run: the preset stage list, run by the one stage runner.

:func:`run_compress` takes a validated preset config (:func:`fpgac.compress.config.load_config`),
turns it into the stages ``train -> prune -> quantize -> check -> export``
(:func:`fpgac.compress.config.preset_stages`), runs them with
:func:`fpgac.compress.runner.run_stages` and returns a JSON-serializable run record (also
written to ``<out_dir>/<name>.run.json``) with the accuracy of the dense float, pruned float,
pruned integer (torch integer mode) and golden models, the per-layer sparsity and MAC counts, the
quantization parameters and the exported files.

Fine-tuning: ``finetune.epochs`` epochs after *every* pruning step (so ``iterations * epochs``
in all), with the prune masks in place; afterwards the masks are made permanent with
``prune.remove`` and the pruned weights are checked to be exactly 0.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from fpgac.compiler import ir

from .data import Dataset, calibration_set
from .integer import integer_forward
from .prune import sparsity_report

__all__ = ["run_compress", "calibration_set", "golden_check", "check_exports", "print_summary"]


def golden_check(model: ir.Model, data: Dataset, logits: np.ndarray | None = None
                 ) -> tuple[float, int]:
    """Golden-model accuracy on ``data`` and the number of images whose golden logits differ
    from the torch integer mode's (``logits``, computed when not given)."""
    from fpgac.sim import golden
    from fpgac.sim.preprocess import quantize_images

    gold = golden.run(model, quantize_images(data.pixels.numpy(), model))
    if logits is None:
        logits = integer_forward(model, data.pixels).numpy()
    mismatches = int((gold != logits).any(axis=1).sum())
    acc = float((gold.argmax(1) == data.labels.numpy()).mean())
    return acc, mismatches


def check_exports(files: dict[str, str], data: Dataset, logits: np.ndarray) -> dict[str, int]:
    """Reload every exported integer model file and run it in the golden model on ``data``.

    Returns ``kind -> number of images whose golden logits differ from ``logits``
    (the integer mode of the exported model)``; every value must be 0. ``float_value`` files
    (not executable integers) are skipped.
    """
    from fpgac.compiler.frontend import load_model

    out = {}
    for kind, path in files.items():
        if kind.startswith("legacy_float"):
            continue
        out[kind] = golden_check(load_model(path), data, logits)[1]
    return out


def _quant_record(model: ir.Model) -> list[dict]:
    return [{"name": op.name, "ins": op.in_q.scale, "inz": op.in_q.zero_point,
             "outs": op.out_q.scale, "outz": op.out_q.zero_point, "ws": op.w_scale,
             "wz": op.w_zero_point, "mn": op.mn, "mqm0": op.mqm0, "n_bits": op.n_bits,
             "nonzero": int((op.weight != op.w_zero_point).sum())} for op in model.weighted]


#: record key of the seconds of each preset stage
_SECONDS = {"train": "train", "prune": "prune_finetune", "quantize": "quantize_check",
            "check": "quantize_check", "export": "export"}


def run_compress(cfg: dict, *, progress: bool = True, export: bool = True,
                 log=print) -> dict:
    """Run the preset stages of ``cfg``; return (and save, when ``export``) the run record.

    Returns
    -------
    dict
        ``accuracy`` (``dense_float``, ``pruned_float``, ``pruned_int``, ``golden``),
        ``golden_mismatches`` (must be 0), ``sparsity`` (per layer + ``total``),
        ``quant`` (per layer), ``files``, ``seconds`` (per stage), ``config``,
        and the ``model`` (the :class:`~fpgac.compiler.ir.Model`, not serialized) and
        ``float_model`` (the pruned :class:`CNN`).
    """
    import tempfile

    from .config import preset_stages
    from .runner import run_stages

    sparsity: dict[str, tuple] = {}

    def after(row, run) -> None:       # the float network's sparsity after train and prune
        if row.stage in ("train", "prune"):
            sparsity[row.stage] = sparsity_report(run.model)

    t0 = time.perf_counter()
    out_dir = Path(cfg["export"]["out_dir"])
    with tempfile.TemporaryDirectory() as tmp:
        rec = run_stages(preset_stages(cfg, export=export),
                         out_dir=out_dir if export else tmp, progress=progress, log=log,
                         on_stage=after)
    rows = {r.stage: r for r in rec.rows}
    dense_rows, dense_total = sparsity["train"]
    layers, total = sparsity.get("prune", sparsity["train"])
    seconds: dict[str, float] = {}
    for r in rec.rows:
        seconds[_SECONDS[r.stage]] = seconds.get(_SECONDS[r.stage], 0.0) + r.seconds
    seconds["total"] = time.perf_counter() - t0
    files = {k: v for k, v in rec.files.items() if k != "run_record"} if export else {}
    record = {
        "name": cfg["name"],
        "accuracy": {"dense_float": rows["train"].float_acc,
                     "pruned_float": rows.get("prune", rows["train"]).float_acc,
                     "pruned_int": rows["quantize"].int_acc,
                     "golden": rows["check"].info["golden_acc"]},
        "test_images": rec.test_images,
        "golden_mismatches": rows["check"].info["golden_mismatches"],
        "roundtrip_mismatches": rows["export"].info["roundtrip_mismatches"] if export else {},
        "sparsity": {"layers": [r.as_dict() for r in layers], "total": total.as_dict(),
                     "dense_macs": dense_total.macs},
        "dense": {"layers": [r.as_dict() for r in dense_rows]},
        "quant": _quant_record(rec.model),
        "files": files,
        "seconds": seconds,
        "config": cfg,
        "versions": {"torch": torch.__version__, "python": platform.python_version(),
                     "threads": torch.get_num_threads()},
    }
    if export:
        path = out_dir / f"{cfg['name']}.run.json"
        path.write_text(json.dumps(record, indent=2) + "\n")
        record["files"]["run_record"] = str(path)
    record["model"] = rec.model
    record["float_model"] = rec.float_model
    return record


def print_summary(record: dict, console=None) -> None:
    """Print the accuracy table and the per-layer sparsity / MAC table with rich."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    acc = record["accuracy"]
    n = record["test_images"]
    bits = record["config"]["quant"]["bits"]
    tab = Table(title=f"{record['name']}: accuracy on {n} MNIST test images")
    tab.add_column("model")
    tab.add_column("accuracy", justify="right")
    tab.add_row("dense float", f"{acc['dense_float']:.2%}")
    tab.add_row("pruned float", f"{acc['pruned_float']:.2%}")
    tab.add_row(f"pruned int{bits} (torch integer mode)", f"{acc['pruned_int']:.2%}")
    tab.add_row(f"pruned int{bits} (golden)", f"{acc['golden']:.2%}")
    console.print(tab)
    sp = Table(title="sparsity and MACs per image")
    for col in ("layer", "weights", "non-zero", "sparsity", "MACs", "non-zero MACs"):
        sp.add_column(col, justify="left" if col == "layer" else "right")
    for r in record["sparsity"]["layers"] + [record["sparsity"]["total"]]:
        sp.add_row(r["name"], str(r["weights"]), str(r["nonzero"]), f"{r['sparsity']:.1%}",
                   str(r["macs"]), str(r["nonzero_macs"]))
    console.print(sp)
    mism = record["golden_mismatches"]
    console.print(f"integer mode vs golden: {mism} mismatching images of {n}"
                  + ("" if mism == 0 else "  [bold red]NOT BIT-EXACT[/]"))
    for kind, bad in record.get("roundtrip_mismatches", {}).items():
        console.print(f"exported {kind} reloaded, golden vs integer mode: {bad} mismatching "
                      f"images of {n}" + ("" if bad == 0 else "  [bold red]NOT BIT-EXACT[/]"))
    for key, path in record["files"].items():
        console.print(f"  {key}: {path}")
    console.print(f"time: {record['seconds']['total']:.1f} s")
