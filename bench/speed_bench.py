"""Accelerator speed on the ULX3S against PyTorch on this machine's CPU, same LeNet-5, same run.

Usage::

    python bench/speed_bench.py [--model M] [--pes auto|P] [--clock-mhz F] [--images N]
                                [--no-pnr | --build-report R] [--cpu-seconds S] [--out DIR]
                                [--overlap off|on|auto] [--seeds N]

Steps (each with progress output):

1. ``fpgac build M --board ulx3s`` (``fpgac.flows.build.build``): PLL clock (default: the
   board's default clock), place and route with the open flow (11-18 min for LeNet-5 at
   P = 54; ``--no-pnr`` skips it, ``--build-report`` reuses an earlier build's report.json;
   ``--seeds N``: up to N nextpnr seeds, ``fpgac build --seeds``);
2. the RTL sample: ``fpgac verify`` on the first ``--images`` MNIST test images (Verilator):
   bit-exact against golden, simulated cycles per image (mean, min, max) == predicted;
   with ``--overlap on|auto`` and a build that took it (``report.json`` ``overlap``), the same
   images also run back to back on the build's overlap plan (``fpgac.sim.rtl.simulate``):
   bit-exact, compute cycles and every start-to-start interval == predicted, and the
   accelerator's images/s is the clock over the simulated mean interval;
3. the CPU: the same LeNet-5 (architecture from the model file, weights dequantized from its
   integers: ``(q - w_zero_point) * w_scale``, bias ``b * in_scale * w_scale``) in PyTorch
   float32 and in int8 (``torch.ao`` FX post-training quantization with the x86 and the
   qnnpack engines, calibrated on 512 test images; the faster engine is shown), batch 256
   throughput and batch-1 latency, timed for ``--cpu-seconds``
   each (best of 5 rounds) with 1 thread and with all CPUs (``--threads``); the best is shown.

Prints one table (clock, Fmax, cycles, latency, images/s; CPU images/s) and the critical path
of the place and route (:func:`fpgac.boards.speed.critical_path`), and writes everything to
``<out>/speed.json``. The machine's load average is recorded: on the shared 2-core box the
CPU figures are lower bounds of what an idle machine gives.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from fpgac.flows.build import DEFAULT_OVERLAP

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "examples" / "lenet5_g90_8b.yml"


def _torch_lenet(model):
    """``(nn.Module, normalize)``: the model file's network in float32 PyTorch."""
    import torch
    from torch import nn

    from fpgac.compiler import ir

    layers = []
    for op in model.ops:
        if isinstance(op, (ir.Conv2d, ir.Linear)):
            w = (op.weight.astype(np.float64) - op.w_zero_point) * op.w_scale
            b = (op.bias.astype(np.float64) * op.in_q.scale * op.w_scale
                 if op.bias is not None else None)
            if isinstance(op, ir.Conv2d):
                mod = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], stride=op.stride,
                                padding=op.padding, bias=b is not None)
            else:
                mod = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
            with torch.no_grad():
                mod.weight.copy_(torch.from_numpy(w))
                if b is not None:
                    mod.bias.copy_(torch.from_numpy(b))
            layers.append(mod)
            if op.relu:
                layers.append(nn.ReLU())
        elif isinstance(op, ir.ReLU):
            layers.append(nn.ReLU())
        elif isinstance(op, ir.MaxPool2d):
            layers.append(nn.MaxPool2d(op.kernel, op.stride))
        elif isinstance(op, ir.Flatten):
            layers.append(nn.Flatten())
        else:
            raise SystemExit(f"speed_bench: no PyTorch twin for layer {type(op).__name__}")
    net = nn.Sequential(*layers, nn.Flatten()).eval()
    mean, std = float(model.input.mean), float(model.input.std)
    return net, (lambda px: (torch.from_numpy(px).float() / 255.0 - mean) / std)


def _time(fn, x, seconds: float, rounds: int = 5) -> tuple[float, int]:
    """Seconds per call of ``fn(x)``: the best of ``rounds`` rounds of ``seconds / rounds``
    each (after 3 warm-up calls), so that other jobs on a shared machine disturb it less;
    also the number of calls timed."""
    for _ in range(3):
        fn(x)
    best, calls = float("inf"), 0
    for _ in range(rounds):
        n, t0 = 0, time.perf_counter()
        while True:
            fn(x)
            n += 1
            dt = time.perf_counter() - t0
            if dt >= seconds / rounds:
                break
        best, calls = min(best, dt / n), calls + n
    return best, calls


INT8_ENGINES = ("x86", "qnnpack")


def _int8_nets(net, batch, calibration, engines) -> dict:
    """``{engine: int8 net}``: ``net`` through ``torch.ao`` FX post-training quantization with
    each quantized engine of ``engines`` that this PyTorch build supports, calibrated on
    ``calibration``. An engine's kernels only run while it is the selected engine, so the
    caller selects it again before timing its net."""
    import torch
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    nets = {}
    for eng in engines:
        if eng not in torch.backends.quantized.supported_engines:
            continue
        torch.backends.quantized.engine = eng
        qnet = prepare_fx(net, get_default_qconfig_mapping(eng), (batch[:1],))
        with torch.no_grad():
            qnet(calibration)
        nets[eng] = convert_fx(qnet)
    return nets


def _time_net(m, x, batch, seconds: float, threads, progress, label: str) -> dict:
    """Batch-256 throughput and batch-1 latency of ``m`` for each thread count, the best
    throughput's figures first; ``classes``: its argmax on ``x``."""
    import torch

    klass = m(x).argmax(1).numpy()
    per = {}
    for th in threads:
        torch.set_num_threads(th)
        progress(f"PyTorch {label}, {th} thread(s): batch 256 for {seconds:g} s, "
                 f"batch 1 for {seconds:g} s")
        t256, n256 = _time(m, batch, seconds)
        t1, n1 = _time(m, batch[:1], seconds)
        per[th] = {"images_per_s_batch256": 256 / t256, "batch256_calls": n256,
                   "latency_ms_batch1": t1 * 1e3, "batch1_calls": n1}
    best = max(per, key=lambda th: per[th]["images_per_s_batch256"])
    return {**per[best], "threads": best, "per_threads": per,
            "best_latency_ms_batch1": min(v["latency_ms_batch1"] for v in per.values()),
            "classes": klass}


def cpu_figures(model, images: np.ndarray, labels: np.ndarray, seconds: float, progress,
                threads=(1, 2), engines=INT8_ENGINES) -> dict:
    """PyTorch float32 and int8 throughput (batch 256) and latency (batch 1) on this CPU, for
    each thread count in ``threads`` and, for int8, each quantized engine of ``engines``
    (``x86``: fbgemm's successor; ``qnnpack``: faster on this small net on some CPUs); the
    best throughput is the headline figure, ``int8["per_engine"]`` keeps the others."""
    import torch

    import warnings

    warnings.filterwarnings("ignore", module=r"torch\.ao\..*")   # FX-mode deprecation notes
    net, norm = _torch_lenet(model)
    x = norm(images.reshape((-1,) + tuple(model.input.shape)))
    batch = x[:256]
    while batch.shape[0] < 256:                          # fewer sample images: repeat them
        batch = torch.cat([batch, x])[:256]
    progress(f"PyTorch int8: FX post-training quantization ({', '.join(engines)}), "
             "calibrating on 512 images")
    qnets = _int8_nets(net, batch, norm(_calibration_images(model)), engines)
    if not qnets:
        raise SystemExit(f"speed_bench: none of the int8 engines {list(engines)} is supported "
                         f"by this PyTorch (it has {torch.backends.quantized.supported_engines})")
    out = {"torch": torch.__version__}
    with torch.inference_mode():
        out["float32"] = _time_net(net, x, batch, seconds, threads, progress, "float32")
        per_engine = {}
        for eng, qnet in qnets.items():
            torch.backends.quantized.engine = eng
            per_engine[eng] = _time_net(qnet, x, batch, seconds, threads, progress,
                                        f"int8 ({eng})")
    best = max(per_engine, key=lambda e: per_engine[e]["images_per_s_batch256"])
    out["int8"] = {**per_engine[best], "engine": best,
                   "per_engine": {e: {k: v for k, v in f.items() if k != "classes"}
                                  for e, f in per_engine.items()}}
    out["engine"] = best
    for name in ("float32", "int8"):
        out[name]["accuracy"] = float((out[name]["classes"] == labels).mean())
    return out


def _calibration_images(model) -> np.ndarray:
    from fpgac.sim.mnist import load_mnist

    imgs, _ = load_mnist("test")
    return imgs[-512:].reshape((-1,) + tuple(model.input.shape))   # not the sample's images


def _parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--pes", default="auto", help="lanes P or 'auto' (default)")
    ap.add_argument("--clock-mhz", type=float, default=None,
                    help="ULX3S clock (default: the board's default clock)")
    ap.add_argument("--images", type=int, default=200, help="RTL sample size (default 200)")
    ap.add_argument("--no-pnr", dest="pnr", action="store_false",
                    help="skip place and route (no Fmax)")
    ap.add_argument("--build-report", default=None,
                    help="reuse this ULX3S build's report.json instead of building")
    ap.add_argument("--cpu-seconds", type=float, default=3.0,
                    help="timing per CPU figure (default 3 s)")
    ap.add_argument("--threads", default=f"1,{os.cpu_count()}",
                    help="PyTorch thread counts to time, comma-separated (default 1 and all "
                         "CPUs); the best is reported")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "speed"))
    ap.add_argument("--seeds", type=int, default=1,
                    help="place and route with up to N nextpnr seeds (fpgac build --seeds)")
    ap.add_argument("--overlap", choices=("off", "on", "auto"), default=DEFAULT_OVERLAP,
                    help="fpgac build --overlap (load the next image during the compute; "
                         f"default {DEFAULT_OVERLAP}, as fpgac build)")
    args = ap.parse_args(argv)
    args.threads = sorted({int(t) for t in args.threads.split(",") if t.strip()})
    return args


def _accelerator(args, out: Path, progress):
    """Build (or reuse) the ULX3S design and run the RTL sample: ``(report, build_dir,
    verify result)``; raises FpgacError."""
    from fpgac.flows.build import build
    from fpgac.flows.verify import verify

    if args.build_report:
        progress(f"reusing build report {args.build_report}")
        rep = json.loads(Path(args.build_report).read_text())
        build_dir = Path(args.build_report).parent
    else:
        build_dir = out / "ulx3s"
        rep = build(args.model, "ulx3s", pes=args.pes, out_dir=build_dir,
                    clock_mhz=args.clock_mhz, pnr=args.pnr, progress=progress,
                    overlap=args.overlap, seeds=args.seeds)
    progress(f"RTL sample: {args.images} images at P = {rep['pes']} (Verilator)")
    ver = verify(args.model, images=args.images, pes=int(rep["pes"]),
                 clock_mhz=rep["clock_mhz"], fmax_mhz=rep.get("fmax_mhz"), progress=progress)
    if rep.get("overlap"):
        progress(f"RTL sample back to back (overlap): {args.images} images (Verilator)")
        ver["overlap"] = _overlap_sample(args, rep)
        ver["passed"] = ver["passed"] and ver["overlap"]["passed"]
    return rep, build_dir, ver


def _overlap_sample(args, rep: dict) -> dict:
    """The sample back to back on the build's overlap plan: mismatches, cycle and interval
    mismatches against ``predict``, and the speed block over the simulated intervals."""
    from fpgac.boards.platforms import get_board
    from fpgac.boards.speed import speed_figures
    from fpgac.compiler.analysis.cycles import predict
    from fpgac.compiler.analysis.resources import plan_for_board
    from fpgac.compiler.frontend import load_model
    from fpgac.sim import golden, rtl
    from fpgac.sim.mnist import load_mnist
    from fpgac.sim.preprocess import pixel_table

    model = load_model(args.model)
    plan = plan_for_board(model, int(rep["pes"]), get_board("ulx3s"), pixel_table(model),
                          overlap="on")
    images = load_mnist("test")[0][:args.images].reshape(
        (args.images,) + tuple(model.input.shape))
    res = rtl.simulate(plan, images)
    logits, _ = golden.predict(model, images)
    want = predict(plan)
    out = {"mismatches": int((res.logits != logits).any(axis=1).sum()),
           "cycle_mismatches": int((res.compute_cycles != want.compute_cycles).sum()),
           "interval_mismatches": int((res.interval_cycles != want.interval_cycles).sum()),
           "interval_cycles_predicted": int(want.interval_cycles),
           "speed": speed_figures(res.compute_cycles, int(plan.input_pixels),
                                  rep["clock_mhz"] * 1e6,
                                  (rep.get("fmax_mhz") or 0) * 1e6 or None,
                                  interval_cycles=res.interval_cycles)}
    out["passed"] = not (out["mismatches"] or out["cycle_mismatches"]
                         or out["interval_mismatches"])
    return out


def _cpu(args, progress) -> dict:
    """The CPU figures on the same MNIST sample, with their agreement with golden."""
    from fpgac.compiler.frontend import load_model
    from fpgac.sim import golden
    from fpgac.sim.mnist import load_mnist

    model = load_model(args.model)
    imgs, labels = load_mnist("test")
    n = args.images
    sample = imgs[:n].reshape((n,) + tuple(model.input.shape))
    cpu = cpu_figures(model, sample, labels[:n].astype(np.int64), args.cpu_seconds, progress,
                      args.threads)
    _, gold = golden.predict(model, sample)
    for name in ("float32", "int8"):
        cpu[name]["agrees_with_golden"] = float((cpu[name].pop("classes") == gold).mean())
    return cpu


def _print_table(args, rep: dict, ver: dict, cpu: dict, res: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    sp = ver["speed"]
    tab = Table(title=f"LeNet-5 ({Path(args.model).name}): ULX3S accelerator vs this CPU")
    for col in ("engine", "clock", "cycles / image", "latency", "images/s"):
        tab.add_column(col)
    lat = sp["latency_cycles"]
    cyc = f"{lat['mean']:.0f} ({sp['load_cycles']} load + {sp['compute_cycles']['mean']:.0f})"
    fmax = rep.get("fmax_mhz")
    met = {True: "met", False: "NOT met", None: "not run"}[rep.get("timing_met")]
    tab.add_row(f"ULX3S P={rep['pes']} at clock", f"{rep['clock_mhz']:g} MHz (timing {met})",
                cyc, f"{sp['latency_us_at_clock']['mean']:.1f} us",
                f"{sp['images_per_s_at_clock']:,.0f}")
    if fmax:
        tab.add_row(f"ULX3S P={rep['pes']} at Fmax", f"{fmax:.2f} MHz", cyc,
                    f"{sp['latency_us_at_fmax']['mean']:.1f} us",
                    f"{sp['images_per_s_at_fmax']:,.0f}")
    ov = ver.get("overlap")
    if ov:
        so = ov["speed"]
        for key, label in (("clock", f"{rep['clock_mhz']:g} MHz"),
                           ("fmax", f"{fmax:.2f} MHz" if fmax else None)):
            if so[f"images_per_s_at_{key}"]:
                tab.add_row(f"ULX3S P={rep['pes']} overlapped, at {key}", label,
                            f"{so['latency_cycles']['mean']:.0f} (an image every "
                            f"{so['interval_cycles_mean']:.0f})",
                            f"{so[f'latency_us_at_{key}']['mean']:.1f} us",
                            f"{so[f'images_per_s_at_{key}']:,.0f}")
    for name in ("float32", "int8"):
        c = cpu[name]
        eng = f", {c['engine']}" if name == "int8" else ""
        tab.add_row(f"CPU PyTorch {name}", f"{c['threads']} thread(s){eng}", "-",
                    f"{c['best_latency_ms_batch1'] * 1e3:.1f} us (batch 1)",
                    f"{c['images_per_s_batch256']:,.0f} (batch 256)")
    Console().print(tab)
    print(f"RTL: {ver['mismatches']} mismatches, {ver['cycle_mismatches']} cycle mismatches on "
          f"{args.images} images; CPU float32 / int8 agree with golden on "
          f"{cpu['float32']['agrees_with_golden']:.1%} / {cpu['int8']['agrees_with_golden']:.1%}"
          f"; load average {res['loadavg'][0]:.1f} on {res['cpus']} CPUs")
    if ov:
        print(f"RTL back to back (overlap): {ov['mismatches']} mismatches, "
              f"{ov['cycle_mismatches']} cycle and {ov['interval_mismatches']} interval "
              f"mismatches (predicted interval {ov['interval_cycles_predicted']})")
    crit = res["critical_path"]
    if crit:
        print(f"critical path: {crit['delay_ns']:.2f} ns ({crit['logic_ns']:.2f} logic, "
              f"{crit['routing_ns']:.2f} routing) from {crit['source']} to {crit['sink']}")


def main(argv=None) -> int:
    args = _parse(argv)
    from rich.console import Console

    from fpgac.boards.speed import critical_path
    from fpgac.errors import FpgacError

    console = Console(stderr=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()

    def progress(text: str) -> None:
        console.log(text)

    try:
        rep, build_dir, ver = _accelerator(args, out, progress)
    except FpgacError as exc:
        print(f"speed_bench: error: {exc}", file=sys.stderr)
        return 2
    cpu = _cpu(args, progress)
    tim = build_dir / "top.tim"                      # nextpnr's log (the platform's --log)
    crit = critical_path(tim.read_text(errors="replace")) if tim.exists() else None
    res = {"model": args.model, "board": "ulx3s", "pes": rep["pes"], "clock": rep.get("clock"),
           "clock_mhz": rep["clock_mhz"], "fmax_mhz": rep.get("fmax_mhz"),
           "timing_met": rep.get("timing_met"), "resources": rep.get("resources"),
           "build_times_s": rep.get("times_s"), "critical_path": crit, "rtl": {
               "images": args.images, "mismatches": ver["mismatches"],
               "cycle_mismatches": ver["cycle_mismatches"], "speed": ver["speed"],
               "accuracy": ver["accuracy_rtl"], "overlap": ver.get("overlap")},
           "cpu": cpu, "loadavg": os.getloadavg(), "cpus": os.cpu_count(),
           "seconds": time.monotonic() - t0}
    (out / "speed.json").write_text(json.dumps(res, indent=2) + "\n")
    _print_table(args, rep, ver, cpu, res)
    print(f"written: {out / 'speed.json'}")
    return 0 if ver["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
