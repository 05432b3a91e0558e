"""Compression strategies on LeNet-5 / MNIST: the measurements recorded in docs/strategies.md.

Trains on the shipped 5,000-image training subset and evaluates on the 10,000 test images.
Three experiments, sharing one dense LeNet-5 (the teacher / starting point):

``macs``
    Best integer accuracy at >= 5x fewer non-zero MACs with 8-bit post-training quantization:
    MAC-aware global pruning (``alpha`` 0 = plain global magnitude, 0.5, 1; raw and
    layer-RMS-normalized magnitudes), sensitivity-driven
    per-layer ratios for a ``macs_x`` target, and uniform filter pruning followed by MAC-aware
    pruning. Non-zero MACs are counted on the exported integer model (``weight != wz``).
``bits``
    Post-training quantization (PTQ) against quantization-aware training (QAT) at 4 and 3 bits,
    on the dense network and on the best 5x-MAC network (its zeros held during QAT).
``distill``
    A small student (conv 1->4 5x5, conv 4->8 5x5, fc 200->10: 21x fewer parameters and 2.6x
    fewer MACs than LeNet-5; ``--student-width 0.5`` halves its channels) trained on labels
    only, with soft-target distillation (``--alpha``, ``--temperature``), and with soft targets
    plus a feature (L2) loss on conv2; 8-bit PTQ; several seeds.

Every integer model is also run through the golden model on the first ``--golden`` test images
and must match the torch integer mode exactly (0 mismatching images).

Usage::

    python bench/strategies_bench.py                       # everything (about 25 min, 1 thread)
    python bench/strategies_bench.py --only distill --seeds 0 1 2
    python bench/strategies_bench.py --quick               # smoke run: tiny epochs / data

Writes ``--out`` (default ``bench/out/strategies``): ``results.json`` and ``results.md``.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import time
from pathlib import Path

import torch

from fpgac.compress.data import Dataset, load_split
from fpgac.compress.integer import integer_forward
from fpgac.compress.models import CNN, build_cnn, lenet5
from fpgac.compress.pipeline import calibration_set, golden_check
from fpgac.compress.prune import check_zeros, make_permanent, masks_of
from fpgac.compress.quantize import calibrate, quantize_model
from fpgac.compress.strategies.costs import footprint, ir_footprint
from fpgac.compress.strategies.distill import distill
from fpgac.compress.strategies.filters import prune_filters
from fpgac.compress.strategies.macs import prune_macs_iterative
from fpgac.compress.strategies.qat import export_qat, qat_train
from fpgac.compress.strategies.sensitivity import allocate, apply_ratios, sensitivity_analysis
from fpgac.compress.registry import keep_zeros
from fpgac.compress.train import TrainConfig, evaluate, train

STUDENT_SPEC = [
    {"type": "conv2d", "out_channels": 4, "kernel": 5, "padding": 2},
    {"type": "relu"}, {"type": "maxpool", "kernel": 2},
    {"type": "conv2d", "out_channels": 8, "kernel": 5},
    {"type": "relu"}, {"type": "maxpool", "kernel": 2},
    {"type": "flatten"},
    {"type": "linear", "out_features": 10},
]


class Bench:
    def __init__(self, args):
        self.args = args
        self.train_set = load_split("train5k", limit=None)
        self.test_set = load_split("test")
        if args.quick:
            idx = torch.randperm(len(self.train_set),
                                 generator=torch.Generator().manual_seed(0))[:500]
            self.train_set = Dataset(self.train_set.pixels[idx], self.train_set.labels[idx])
            self.test_set = self.test_set.head(1000)
        self.calib = calibration_set(self.train_set, 1000, 0)
        self.rows: dict[str, list[dict]] = {"macs": [], "bits": [], "distill": []}
        self.dense_fp = footprint(lenet5(seed=0))

    def ep(self, n: int) -> int:
        return max(1, n // 5) if self.args.quick else n

    def int_eval(self, q) -> dict:
        logits = integer_forward(q, self.test_set.pixels)
        acc = float((logits.argmax(1) == self.test_set.labels).double().mean())
        head = self.test_set.head(self.args.golden)
        _, mism = golden_check(q, head, logits[:len(head)].numpy())
        if mism:
            raise SystemExit(f"golden mismatch: {mism} images")
        fp = ir_footprint(q)
        red = fp.reduction(self.dense_fp)
        return {"int_acc": acc, "golden_images": len(head), "golden_mismatches": mism,
                "nonzero_params": fp.nonzero_params, "nonzero_macs": fp.nonzero_macs,
                "params_x": red["params_x"], "macs_x": red["macs_x"]}

    def ptq(self, model: CNN, bits: int):
        ranges = calibrate(model, self.calib, 99.99)
        return quantize_model(model, ranges, bits, name="bench")

    def dense(self) -> CNN:
        if not hasattr(self, "_dense"):
            t = time.perf_counter()
            m = lenet5(seed=0)
            train(m, self.train_set, TrainConfig(epochs=self.ep(self.args.epochs), seed=0),
                  progress=False)
            self._dense = m
            acc = evaluate(m, self.test_set)
            q = self.ptq(m, 8)
            row = {"variant": "dense LeNet-5", "float_acc": acc, **self.int_eval(q),
                   "seconds": time.perf_counter() - t}
            self.rows["macs"].append(row)
            print(row, flush=True)
        return copy.deepcopy(self._dense)

    # ------------------------------------------------------------------ experiment 1
    def ft_cfg(self, seed: int) -> TrainConfig:
        return TrainConfig(epochs=self.ep(self.args.ft_epochs), lr=5e-4, seed=seed)

    def finish(self, variant: str, model: CNN, t0: float, **extra) -> CNN:
        acc = evaluate(model, self.test_set)
        row = {"variant": variant, "float_acc": acc, **self.int_eval(self.ptq(model, 8)),
               "seconds": time.perf_counter() - t0, **extra}
        self.rows["macs"].append(row)
        print(row, flush=True)
        return model

    def masked_ft(self, model: CNN, seed: int) -> None:
        masks = masks_of(model)
        train(model, self.train_set, self.ft_cfg(seed), progress=False)
        make_permanent(model)
        check_zeros(model, masks)

    def macs(self) -> dict[str, CNN]:
        out = {}
        target = self.args.target
        for normalize in (False, True):
            for alpha in (0.0, 0.5, 1.0):
                t0 = time.perf_counter()
                m = self.dense()
                prune_macs_iterative(m, target, 3, alpha=alpha, normalize=normalize,
                                     between=lambda k: train(m, self.train_set, self.ft_cfg(k),
                                                             progress=False))
                self.masked_ft(m, 9)
                name = (f"prune_macs alpha={alpha:g}" + (" normalized" if normalize else "")
                        + " (3 steps)")
                out[name] = self.finish(name, m, t0)
        t0 = time.perf_counter()
        m = self.dense()
        sens = sensitivity_analysis(m, calibration_set(self.train_set, 1000, 1))
        ratios = allocate(sens, macs_x=target * 1.02)
        apply_ratios(m, ratios)
        self.masked_ft(m, 9)
        name = "sensitivity ratios (macs_x)"
        out[name] = self.finish(name, m, t0, ratios=ratios)
        t0 = time.perf_counter()
        m = prune_filters(self.dense(), 0.5)
        train(m, self.train_set, self.ft_cfg(3), progress=False)
        fp = footprint(m)
        rest = target * fp.macs / self.dense_fp.macs
        prune_macs_iterative(m, max(rest, 1.0), 2, alpha=0.5,
                             between=lambda k: train(m, self.train_set, self.ft_cfg(k),
                                                     progress=False))
        self.masked_ft(m, 9)
        name = "filters 50% + prune_macs alpha=0.5"
        out[name] = self.finish(name, m, t0, spec=m.spec)
        return out

    # ------------------------------------------------------------------ experiment 2
    def bits(self, pruned: dict[str, CNN]) -> None:
        best = max((r for r in self.rows["macs"] if r["macs_x"] >= self.args.target),
                   key=lambda r: r["int_acc"], default=None)
        bases = {"dense": self.dense()}
        if best is not None and best["variant"] in pruned:
            bases[best["variant"]] = pruned[best["variant"]]
        for base_name, base in bases.items():
            for bits in (4, 3):
                t0 = time.perf_counter()
                q = self.ptq(base, bits)
                row = {"model": base_name, "bits": bits, "method": "PTQ",
                       **self.int_eval(q), "seconds": time.perf_counter() - t0}
                self.rows["bits"].append(row)
                print(row, flush=True)
                t0 = time.perf_counter()
                m = copy.deepcopy(base)
                cfg = TrainConfig(epochs=self.ep(self.args.qat_epochs), lr=5e-4, seed=5)
                net = keep_zeros(m, lambda: qat_train(m, self.train_set, cfg, bits,
                                                      calib=self.calib))
                q = export_qat(net, name="bench")
                row = {"model": base_name, "bits": bits, "method": "QAT",
                       **self.int_eval(q), "seconds": time.perf_counter() - t0}
                self.rows["bits"].append(row)
                print(row, flush=True)

    # ------------------------------------------------------------------ experiment 3
    def distill(self) -> None:
        teacher = self.dense()
        t_acc = evaluate(teacher, self.test_set)
        spec = [dict(layer) for layer in STUDENT_SPEC]
        for layer in spec:
            if layer["type"] == "conv2d":
                layer["out_channels"] = max(1, round(layer["out_channels"]
                                                     * self.args.student_width))
        for seed in self.args.seeds:
            cfg = TrainConfig(epochs=self.ep(self.args.student_epochs), seed=seed)
            for how in ("labels only", "distill (soft+hard)", "distill + feature conv2"):
                t0 = time.perf_counter()
                s = build_cnn(spec, (1, 28, 28), seed=seed)
                if how == "labels only":
                    train(s, self.train_set, cfg, progress=False)
                else:
                    feats = [("conv2", "conv2")] if "feature" in how else None
                    distill(s, teacher, self.train_set, cfg, alpha=self.args.alpha,
                            temperature=self.args.temperature, features=feats,
                            feature_weight=0.1)
                fp = footprint(s)
                row = {"student": how, "seed": seed, "teacher_acc": t_acc,
                       "width": self.args.student_width, "alpha": self.args.alpha,
                       "temperature": self.args.temperature,
                       "float_acc": evaluate(s, self.test_set),
                       **self.int_eval(self.ptq(s, 8)), "student_params": fp.params,
                       "student_macs": fp.macs, "seconds": time.perf_counter() - t0}
                self.rows["distill"].append(row)
                print(row, flush=True)


def markdown(rows: dict[str, list[dict]]) -> str:
    out = []
    if rows["macs"]:
        out += ["| variant | float acc | int8 acc | non-zero params | params x | "
                "non-zero MACs | MACs x |", "|---|---:|---:|---:|---:|---:|---:|"]
        for r in rows["macs"]:
            out.append(f"| {r['variant']} | {r['float_acc']:.2%} | {r['int_acc']:.2%} | "
                       f"{r['nonzero_params']} | {r['params_x']:.2f} | {r['nonzero_macs']} | "
                       f"{r['macs_x']:.2f} |")
        out.append("")
    if rows["bits"]:
        out += ["| model | bits | PTQ int acc | QAT int acc | MACs x |",
                "|---|---:|---:|---:|---:|"]
        by = {}
        for r in rows["bits"]:
            by.setdefault((r["model"], r["bits"]), {})[r["method"]] = r
        for (model, bits), d in by.items():
            out.append(f"| {model} | {bits} | {d['PTQ']['int_acc']:.2%} | "
                       f"{d['QAT']['int_acc']:.2%} | {d['QAT']['macs_x']:.2f} |")
        out.append("")
    if rows["distill"]:
        out += ["| student | width | alpha, T | seed | float acc | int8 acc | teacher acc |",
                "|---|---:|---|---:|---:|---:|---:|"]
        for r in rows["distill"]:
            out.append(f"| {r['student']} | {r['width']:g} | {r['alpha']:g}, "
                       f"{r['temperature']:g} | {r['seed']} | {r['float_acc']:.2%} | "
                       f"{r['int_acc']:.2%} | {r['teacher_acc']:.2%} |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", choices=["macs", "bits", "distill"],
                    default=["macs", "bits", "distill"])
    ap.add_argument("--epochs", type=int, default=15, help="dense LeNet-5 / teacher epochs")
    ap.add_argument("--ft-epochs", type=int, default=2, help="fine-tune epochs per step")
    ap.add_argument("--qat-epochs", type=int, default=3)
    ap.add_argument("--student-epochs", type=int, default=15)
    ap.add_argument("--target", type=float, default=5.0, help="non-zero MAC reduction")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--student-width", type=float, default=1.0,
                    help="multiplies the student's conv channels")
    ap.add_argument("--alpha", type=float, default=0.7, help="weight of the soft-target loss")
    ap.add_argument("--temperature", type=float, default=4.0)
    ap.add_argument("--golden", type=int, default=1000, help="test images run in golden")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="500 train / 1000 test, few epochs")
    ap.add_argument("--out", default="bench/out/strategies")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    b = Bench(args)
    pruned: dict[str, CNN] = {}
    if "macs" in args.only or "bits" in args.only:
        b.dense()
    if "macs" in args.only:
        pruned = b.macs()
    if "bits" in args.only:
        b.bits(pruned)
    if "distill" in args.only:
        b.distill()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"args": vars(args), "train_images": len(b.train_set),
            "test_images": len(b.test_set), "seconds": time.perf_counter() - t0,
            "torch": torch.__version__, "python": platform.python_version()}
    (out / "results.json").write_text(json.dumps({"meta": meta, **b.rows}, indent=2,
                                                 default=str) + "\n")
    md = markdown(b.rows)
    (out / "results.md").write_text(md)
    print(md)
    print(f"total {meta['seconds']:.0f} s")


if __name__ == "__main__":
    main()
