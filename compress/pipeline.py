"""The whole compression run: train -> prune -> fine-tune -> quantize -> check -> export.

:func:`run_compress` takes a validated config (:mod:`fpgac.compress.config`) and returns a
JSON-serializable run record (also written to ``<out_dir>/<name>.run.json``) with the accuracy
of the dense float, pruned float, pruned integer (torch integer mode) and golden models, the
per-layer sparsity and MAC counts, the quantization parameters and the exported files.

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

from .config import spec_of
from .data import Dataset, load_split
from .integer import integer_forward
from .models import CNN, build_cnn
from .prune import check_zeros, make_permanent, masks_of, prune_model, sparsity_report
from .quantize import calibrate, quantize_model
from .train import TrainConfig, evaluate, train

__all__ = ["run_compress", "calibration_set", "golden_check", "check_exports", "print_summary"]


def calibration_set(data: Dataset, n: int, seed: int) -> Dataset:
    """``n`` training images drawn at random (seeded) from ``data`` (which may be sorted)."""
    gen = torch.Generator().manual_seed(seed + 7919)
    idx = torch.randperm(len(data), generator=gen)[:max(1, min(n, len(data)))]
    return Dataset(data.pixels[idx], data.labels[idx])


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


def _train_cfg(sec: dict, seed: int) -> TrainConfig:
    return TrainConfig(epochs=sec["epochs"], batch_size=sec["batch_size"], lr=sec["lr"],
                       optimizer=sec["optimizer"], weight_decay=sec.get("weight_decay", 0.0),
                       shift=sec["shift"], seed=seed)


def _quant_record(model: ir.Model) -> list[dict]:
    return [{"name": op.name, "ins": op.in_q.scale, "inz": op.in_q.zero_point,
             "outs": op.out_q.scale, "outz": op.out_q.zero_point, "ws": op.w_scale,
             "wz": op.w_zero_point, "mn": op.mn, "mqm0": op.mqm0, "n_bits": op.n_bits,
             "nonzero": int((op.weight != op.w_zero_point).sum())} for op in model.weighted]


def run_compress(cfg: dict, *, progress: bool = True, export: bool = True,
                 log=print) -> dict:
    """Run the whole pipeline for ``cfg``; return (and save) the run record.

    Returns
    -------
    dict
        ``accuracy`` (``dense_float``, ``pruned_float``, ``pruned_int``, ``golden``),
        ``golden_mismatches`` (must be 0), ``sparsity`` (per layer + ``total``),
        ``quant`` (per layer), ``files``, ``seconds`` (per stage), ``config``,
        and the ``model`` (the :class:`~fpgac.compiler.ir.Model`, not serialized) and
        ``float_model`` (the pruned :class:`CNN`).
    """
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    seed = cfg["train"]["seed"]
    data_dir = cfg["data"]["dir"]
    train_set = load_split(cfg["data"]["train_split"], data_dir)
    if cfg["data"]["train_limit"] is not None:
        # a seeded random subset: the shipped train5k is sorted by label
        gen = torch.Generator().manual_seed(seed + 104729)
        idx = torch.randperm(len(train_set), generator=gen)[:max(1, cfg["data"]["train_limit"])]
        train_set = Dataset(train_set.pixels[idx], train_set.labels[idx])
    test_set = load_split("test", data_dir, cfg["data"]["limit_test"])
    torch.manual_seed(seed)
    model: CNN = build_cnn(spec_of(cfg), tuple(cfg["input_shape"]), seed=seed)

    log(f"[{cfg['name']}] training {cfg['train']['epochs']} epochs on {len(train_set)} images")
    train(model, train_set, _train_cfg(cfg["train"], seed), progress=progress, label="train")
    dense_acc = evaluate(model, test_set)
    dense_rows, dense_total = sparsity_report(model)
    seconds["train"] = time.perf_counter() - t0

    t = time.perf_counter()
    pc = cfg["prune"]
    ft = cfg["finetune"]

    def finetune(step: int) -> None:
        train(model, train_set, _train_cfg(ft, seed + 1 + step), progress=progress,
              label=f"fine-tune {step + 1}/{pc['iterations']}")

    if pc["amount"] > 0 or pc["method"] == "custom":
        log(f"[{cfg['name']}] pruning: {pc['method']} to {pc['amount']:.0%} in "
            f"{pc['iterations']} step(s), {ft['epochs']} fine-tune epochs per step")
        prune_model(model, pc["method"], pc["amount"], pc["iterations"], between=finetune,
                    dim=pc["dim"], norm=pc["norm"],
                    custom_kwargs={"threshold": pc["threshold"]})
        masks = masks_of(model)
        finetune(pc["iterations"] - 1)
        make_permanent(model)
        check_zeros(model, masks)
    pruned_acc = evaluate(model, test_set)
    rows, total = sparsity_report(model)
    seconds["prune_finetune"] = time.perf_counter() - t

    t = time.perf_counter()
    qc = cfg["quant"]
    calib = calibration_set(train_set, qc["calib"], seed)
    ranges = calibrate(model, calib, qc["percentile"])
    qmodel = quantize_model(model, ranges, qc["bits"], name=cfg["name"],
                            rounding=qc["rounding"])
    logits = integer_forward(qmodel, test_set.pixels).numpy()
    int_acc = float((logits.argmax(1) == test_set.labels.numpy()).mean())
    gold_acc, mismatches = golden_check(qmodel, test_set, logits)
    seconds["quantize_check"] = time.perf_counter() - t

    files: dict[str, str] = {}
    roundtrip: dict[str, int] = {}
    out_dir = Path(cfg["export"]["out_dir"])
    if export:
        from .export import export_all

        t = time.perf_counter()
        files = export_all(qmodel, out_dir, cfg["name"], layout=cfg["export"]["layout"],
                           legacy=cfg["export"]["legacy"],
                           own_layouts=cfg["export"]["own_layouts"],
                           legacy_dense=cfg["export"]["legacy_dense"],
                           legacy_float=cfg["export"]["legacy_float"],
                           legacy_int_name=cfg["export"]["legacy_int_name"],
                           legacy_layout=cfg["export"]["legacy_layout"])
        roundtrip = check_exports(files, test_set, logits)
        seconds["export"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0

    record = {
        "name": cfg["name"],
        "accuracy": {"dense_float": dense_acc, "pruned_float": pruned_acc,
                     "pruned_int": int_acc, "golden": gold_acc},
        "test_images": len(test_set),
        "golden_mismatches": mismatches,
        "roundtrip_mismatches": roundtrip,
        "sparsity": {"layers": [r.as_dict() for r in rows], "total": total.as_dict(),
                     "dense_macs": dense_total.macs},
        "dense": {"layers": [r.as_dict() for r in dense_rows]},
        "quant": _quant_record(qmodel),
        "files": files,
        "seconds": seconds,
        "config": cfg,
        "versions": {"torch": torch.__version__, "python": platform.python_version(),
                     "threads": torch.get_num_threads()},
    }
    if export:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{cfg['name']}.run.json"
        path.write_text(json.dumps(record, indent=2) + "\n")
        record["files"]["run_record"] = str(path)
    record["model"] = qmodel
    record["float_model"] = model
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
