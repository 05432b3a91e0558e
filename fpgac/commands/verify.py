"""``fpgac verify MODEL``: the emitted RTL, simulated on MNIST test images, vs the golden model.

Plans and emits the accelerator for ``--pes`` lanes, builds it with Verilator (or Icarus), streams
``--images`` test images through it and compares every logit and every class with
:mod:`fpgac.sim.golden` (bit-exact: 0 LSB). It also checks the simulated compute cycles of every
image against :func:`fpgac.compiler.analysis.cycles.predict` and reports simulation speed, PE
utilization and accuracy. Exit status 1 if any image mismatches or any cycle count differs from
the prediction; 2 for a user error (bad model, bad flag).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from .args import positive_int

__all__ = ["register", "run", "verify", "DEFAULT_PES"]

#: Lanes used when ``--pes`` is not given.
DEFAULT_PES = 16
#: Runs of at least this many images are split over ``--jobs`` simulator processes.
PARALLEL_MIN = 512


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "verify", help="simulate the generated RTL on MNIST and compare with the golden model",
        description="Build the accelerator for MODEL, simulate it (cocotb + Verilator or Icarus) "
                    "on MNIST test images and compare every logit and class with the golden "
                    "integer model; check simulated against predicted cycles. Exit 1 on any "
                    "mismatch.")
    p.add_argument("model", help="model file (YAML, fpgac or legacy int_values format)")
    p.add_argument("--images", type=positive_int, default=100,
                   help="number of MNIST test images, from the first (default 100)")
    p.add_argument("--pes", type=positive_int, default=DEFAULT_PES,
                   help=f"parallel lanes P (default {DEFAULT_PES})")
    p.add_argument("--data", default=None,
                   help="MNIST directory (t10k-* IDX files); default: the shipped copy")
    p.add_argument("--json", default=None, help="write every figure to this JSON file")
    p.add_argument("--simulator", choices=["verilator", "icarus"], default="verilator",
                   help="HDL simulator (default verilator)")
    p.add_argument("--build-dir", default=None,
                   help="simulator build cache (default ~/.cache/fpgac/rtl)")
    p.add_argument("--stalls", type=int, default=None, metavar="SEED",
                   help="random valid/ready stalls on the streams with this seed")
    p.add_argument("--jobs", type=positive_int, default=2,
                   help=f"parallel simulator processes for runs of >= {PARALLEL_MIN} images "
                        "(default 2)")
    p.add_argument("--clock-mhz", type=float, default=None,
                   help="report latency and images/s at this clock (MHz)")
    p.add_argument("--build-report", default=None, metavar="REPORT_JSON",
                   help="take the clock and the Fmax from this `fpgac build` report.json")
    p.set_defaults(func=run)


def verify(model_path, *, images: int = 100, pes: int = DEFAULT_PES, data_dir=None,
           simulator: str = "verilator", build_dir=None, stalls: int | None = None,
           progress=None, jobs: int = 2, clock_mhz: float | None = None,
           fmax_mhz: float | None = None) -> dict:
    """Run the whole check and return its figures (the ``--json`` document).

    ``progress(stage)`` is called with a short text before every stage. Runs of at least
    :data:`PARALLEL_MIN` images are simulated by ``jobs`` simulator processes in parallel
    (the build is shared). The returned dict has
    ``mismatches`` (images whose logits or class differ), ``mismatch_examples`` (up to 10),
    ``cycle_mismatches`` (images whose compute cycles differ from the prediction), cycles,
    utilization, accuracies, timings, ``passed`` and ``speed``
    (:func:`fpgac.boards.speed.speed_figures` of the simulated per-image cycles: mean, min, max,
    latency and images/s at ``clock_mhz`` and ``fmax_mhz`` when given).

    Raises
    ------
    FpgacError
        Bad model, bad image count, missing simulator, build or simulation failure.
    """
    import numpy as np

    from fpgac.boards.speed import speed_figures
    from fpgac.compiler.analysis import cycles
    from fpgac.compiler.frontend import load_model
    from fpgac.compiler.plan import plan_hardware
    from fpgac.errors import FpgacError
    from fpgac.sim import golden, rtl
    from fpgac.sim.mnist import load_mnist

    def stage(text: str) -> None:
        if progress:
            progress(text)

    stage("loading model and MNIST")
    model = load_model(model_path)
    all_images, all_labels = load_mnist("test", data_dir)
    if images > len(all_images):
        raise FpgacError(f"--images: expected at most {len(all_images)} (test images "
                         f"available), found {images}")
    imgs = all_images[:images].reshape((images,) + tuple(model.input.shape))
    labels = all_labels[:images].astype(np.int64)

    stage("planning")
    plan = plan_hardware(model, pes=pes)
    report = cycles.predict(plan)
    stage(f"golden model on {images} images")
    t0 = time.perf_counter()
    want_logits, want_klass = golden.predict(model, imgs)
    golden_seconds = time.perf_counter() - t0

    def rtl_stage(name: str) -> None:
        stage({"build": f"building the {simulator} model (cached per design)",
               "sim": f"simulating {images} images on {simulator}"}.get(name, name))

    opts = dict(simulator=simulator, build_dir=build_dir, stalls=stalls)
    if jobs > 1 and images >= PARALLEL_MIN:
        res = _simulate_parallel(plan, imgs, jobs, opts, rtl_stage)
    else:
        res = rtl.simulate(plan, imgs, progress=rtl_stage, **opts)
    bad_logits = (res.logits != want_logits).any(axis=1)
    bad_klass = res.klass != want_klass
    bad = np.flatnonzero(bad_logits | bad_klass)
    examples = []
    for i in bad[:10]:
        diff = np.flatnonzero(res.logits[i] != want_logits[i])
        examples.append({"image": int(i), "rtl_class": int(res.klass[i]),
                         "golden_class": int(want_klass[i]),
                         "logit_indices": [int(j) for j in diff],
                         "rtl_logits": [int(v) for v in res.logits[i]],
                         "golden_logits": [int(v) for v in want_logits[i]]})
    sim_cycles = res.compute_cycles
    cycle_bad = np.flatnonzero(sim_cycles != report.compute_cycles)
    mean_cycles = float(sim_cycles.mean())
    result = {
        "model": str(model_path), "model_name": model.name, "images": images, "pes": pes,
        "simulator": simulator, "stalls": stalls,
        "mismatches": int(len(bad)), "logit_mismatches": int(bad_logits.sum()),
        "class_mismatches": int(bad_klass.sum()), "mismatch_examples": examples,
        "predicted_compute_cycles": int(report.compute_cycles),
        "simulated_compute_cycles_min": int(sim_cycles.min()),
        "simulated_compute_cycles_max": int(sim_cycles.max()),
        "simulated_compute_cycles_mean": mean_cycles,
        "cycle_mismatches": int(len(cycle_bad)),
        "load_cycles": int(report.load_cycles),
        "nnz_macs": int(plan.nnz_macs), "dense_macs": int(plan.dense_macs),
        "pe_utilization": (plan.nnz_macs / pes) / mean_cycles,
        "predicted_utilization": float(report.utilization),
        "per_layer": [{"name": lc.name, "mode": la.mode, "cycles": int(lc.cycles),
                       "nnz_macs": int(lc.nnz_macs), "utilization": float(lc.utilization),
                       "stall_cycles": int(lc.stall_cycles)}
                      for lc, la in zip(report.per_layer, plan.layers)],
        "rom_bits": int(plan.rom_bits), "dense_rom_bits": int(plan.dense_rom_bits),
        "accuracy_rtl": float((res.klass == labels).mean()),
        "accuracy_golden": float((want_klass == labels).mean()),
        "build_seconds": res.build_seconds, "cached_build": res.cached_build,
        "sim_seconds": res.sim_seconds, "golden_seconds": golden_seconds,
        "sim_images_per_second": res.images_per_second,
        "sim_cycles": int(res.total_cycles), "sim_cycles_per_second": res.cycles_per_second,
    }
    result["speed"] = speed_figures(sim_cycles, int(report.load_cycles),
                                    clock_mhz * 1e6 if clock_mhz else None,
                                    fmax_mhz * 1e6 if fmax_mhz else None, source="simulated")
    result["passed"] = result["mismatches"] == 0 and result["cycle_mismatches"] == 0
    return result


def _simulate_part(args):
    """Worker of :func:`_simulate_parallel` (module level: picklable under ``spawn``)."""
    from fpgac.sim import rtl

    plan, images, opts = args
    return rtl.simulate(plan, images, **opts)


def _simulate_parallel(plan, imgs, jobs: int, opts: dict, progress):
    """Build once (first image), then simulate the rest in ``jobs`` simulator processes.

    Each worker is a fresh (``spawn``) process, so the simulator environment it sets never
    races with another's. Results are concatenated in image order; ``sim_seconds`` is the wall
    time of the parallel part plus the first image.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import numpy as np

    from fpgac.sim import rtl

    first = rtl.simulate(plan, imgs[:1], progress=progress, **opts)
    progress("sim")
    parts = [p for p in np.array_split(imgs[1:], jobs) if len(p)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(len(parts), mp_context=multiprocessing.get_context("spawn")) as ex:
        rest = list(ex.map(_simulate_part, [(plan, p, opts) for p in parts]))
    wall = time.perf_counter() - t0 + first.sim_seconds
    allr = [first] + rest
    return rtl.RtlResult(
        logits=np.concatenate([r.logits for r in allr]),
        klass=np.concatenate([r.klass for r in allr]),
        compute_cycles=np.concatenate([r.compute_cycles for r in allr]),
        total_cycles=sum(r.total_cycles for r in allr), build_seconds=first.build_seconds,
        sim_seconds=wall, simulator=first.simulator, cached_build=first.cached_build)


def run(args) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("fpgac verify") as status:
        def progress(text: str) -> None:
            status.update(f"fpgac verify: {text}")

        clock_mhz, fmax_mhz = _clock_args(args)
        t0 = time.perf_counter()
        r = verify(args.model, images=args.images, pes=args.pes, data_dir=args.data,
                   simulator=args.simulator, build_dir=args.build_dir, stalls=args.stalls,
                   progress=progress, jobs=args.jobs, clock_mhz=clock_mhz, fmax_mhz=fmax_mhz)
        r["total_seconds"] = time.perf_counter() - t0
    _print(r)
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2) + "\n")
    return 0 if r["passed"] else 1


def _clock_args(args) -> tuple[float | None, float | None]:
    """``(clock_mhz, fmax_mhz)`` from ``--clock-mhz`` and ``--build-report``."""
    from fpgac.errors import FpgacError

    clock, fmax = args.clock_mhz, None
    if clock is not None and not clock > 0:
        raise FpgacError(f"--clock-mhz: expected a frequency > 0 MHz, found {clock:g}")
    if args.build_report:
        try:
            rep = json.loads(Path(args.build_report).read_text())
        except (OSError, ValueError) as exc:
            raise FpgacError(f"--build-report: expected a readable report.json, found "
                             f"{args.build_report} ({exc})") from None
        if not isinstance(rep, dict) or not isinstance(rep.get("clock_mhz"), (int, float)):
            raise FpgacError(f"--build-report: {args.build_report}: expected key clock_mhz "
                             "(a number), found none")
        if clock is not None and abs(clock - rep["clock_mhz"]) > 1e-9:
            raise FpgacError(f"--clock-mhz: expected the build's clock {rep['clock_mhz']:g} "
                             f"MHz (from --build-report), found {clock:g}; give one of them")
        clock, fmax = rep["clock_mhz"], rep.get("fmax_mhz")
    return clock, fmax


def _print(r: dict) -> None:
    n = r["images"]
    print(f"model      {r['model_name']} ({r['model']}), P = {r['pes']}, {r['simulator']}"
          + (f", stalls seed {r['stalls']}" if r["stalls"] is not None else ""))
    print(f"mismatches {r['mismatches']} of {n} images vs golden "
          f"(logits {r['logit_mismatches']}, class {r['class_mismatches']})")
    for ex in r["mismatch_examples"]:
        print(f"  image {ex['image']}: class rtl {ex['rtl_class']} golden {ex['golden_class']}; "
              f"logits differ at {ex['logit_indices']}: rtl {ex['rtl_logits']} "
              f"golden {ex['golden_logits']}")
    lo, hi = r["simulated_compute_cycles_min"], r["simulated_compute_cycles_max"]
    sim = str(lo) if lo == hi else f"{lo}..{hi}"
    print(f"cycles     {sim} simulated, {r['predicted_compute_cycles']} predicted per inference "
          f"(+{r['load_cycles']} load); {r['cycle_mismatches']} images differ")
    sp = r["speed"]
    lat = sp["latency_cycles"]
    line = (f"speed      {lat['mean']:.1f} cycles per image (load + compute; min {lat['min']}, "
            f"max {lat['max']})")
    for key in ("clock", "fmax"):
        if sp[f"{key}_mhz"]:
            line += (f"; {sp[f'images_per_s_at_{key}']:.0f} images/s, "
                     f"{sp[f'latency_us_at_{key}']['mean']:.1f} us at {sp[f'{key}_mhz']:g} MHz"
                     + (" (Fmax)" if key == "fmax" else ""))
    print(line)
    print(f"PE util    {100 * r['pe_utilization']:.1f} % ({r['nnz_macs']} non-zero MACs / "
          f"{r['pes']} PEs / cycles)")
    print(f"accuracy   {100 * r['accuracy_rtl']:.2f} % RTL, {100 * r['accuracy_golden']:.2f} % "
          f"golden (on {n} labelled test images)")
    build = "cached" if r["cached_build"] else f"{r['build_seconds']:.1f} s"
    print(f"speed      build {build}, simulation {r['sim_seconds']:.1f} s = "
          f"{r['sim_images_per_second']:.0f} images/s, "
          f"{r['sim_cycles_per_second'] / 1e6:.2f} M cycles/s")
    print("PASS: bit-exact and cycle-exact" if r["passed"] else "FAIL")
