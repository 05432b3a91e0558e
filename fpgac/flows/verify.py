"""The verify flow: the emitted RTL, simulated on MNIST test images, vs the golden model.

:func:`verify` plans and emits the accelerator for ``pes`` lanes, builds it with Verilator (or
Icarus), streams test images through it and compares every logit and every class with
:mod:`fpgac.sim.golden` (bit-exact: 0 LSB). It also checks the simulated compute cycles of every
image against :func:`fpgac.compiler.analysis.cycles.predict` and returns simulation speed, PE
utilization and accuracy (``fpgac verify`` prints them and writes ``--json``).
"""

from __future__ import annotations

import time

__all__ = ["verify", "DEFAULT_PES", "PARALLEL_MIN"]

#: Lanes used when ``pes`` is not given.
DEFAULT_PES = 16
#: Runs of at least this many images are split over ``jobs`` simulator processes.
PARALLEL_MIN = 512


def verify(model_path, *, images: int = 100, pes: int | None = DEFAULT_PES, data_dir=None,
           simulator: str = "verilator", build_dir=None, stalls: int | None = None,
           progress=None, jobs: int = 2, clock_mhz: float | None = None,
           fmax_mhz: float | None = None, trace=None, trace_image: int = 0,
           weight_store: str | None = None, overlap: bool | None = None,
           board: str | None = None, netlist: bool = False,
           expect_compute_cycles: int | None = None) -> dict:
    """Run the whole check and return its figures (the ``--json`` document).

    ``progress(stage)`` is called with a short text before every stage. Runs of at least
    :data:`PARALLEL_MIN` images are simulated by ``jobs`` simulator processes in parallel
    (the build is shared). The returned dict has
    ``mismatches`` (images whose logits or class differ), ``mismatch_examples`` (up to 10),
    ``cycle_mismatches`` (images whose compute cycles differ from the prediction), cycles,
    utilization, accuracies, timings, ``passed`` and ``speed``
    (:func:`fpgac.boards.speed.speed_figures` of the simulated per-image cycles: mean, min, max,
    latency and images/s at ``clock_mhz`` and ``fmax_mhz`` when given).
    On a mismatch the first example gets ``first_difference`` (the first hardware layer and
    position whose RTL output differs from golden, :func:`fpgac.sim.diagnose.first_difference`)
    and the result a ``trace_command``. ``trace``: also write a Verilator FST waveform of image
    ``trace_image`` alone to that path (``result["trace"]``). ``weight_store``: ``"rom"``
    (weights in the bitstream) or ``"loaded"`` (weight RAMs: every simulation first uploads
    the weight image with its CRC-16, as ``fpgac run`` does on the iCEBreaker;
    ``result["weight_upload"]`` says whether every upload was taken). ``overlap``: the core
    built with ``plan.overlap`` (the next image loads while the current one computes;
    ``None``: as ``fpgac build --board``'s default, :data:`fpgac.flows.build.DEFAULT_OVERLAP`,
    with a ``board``, else off; off with ``stalls``); all
    images run back to back in one simulator process (``jobs`` does not split them, a split
    would break the stream) and every start-to-start interval must equal the cycle model's
    (``interval_mismatches``, ``simulated_interval_cycles_*``); no ``stalls``.
    ``pes`` ``None``: the ``board``'s ``--pes auto`` (as ``fpgac build``), or
    :data:`DEFAULT_PES` without a board. ``board``: verify the core a ``fpgac build --board``
    of it makes (the plan of
    :func:`fpgac.compiler.analysis.resources.plan_for_board`: weight banks paired in two-port
    ROMs, split activation copies and the weight store where that board's build chooses them;
    ``weight_store`` ``None`` is the build's ``auto`` there), not the generic plan
    (:func:`fpgac.compiler.plan.plan_hardware`, ``weight_store`` ``None`` is ``"rom"``).
    ``netlist``: simulate the gate-level netlist that the board's open-flow Yosys script makes of
    that core (:mod:`fpgac.sim.netlist`; the iCEBreaker: the flow whose cells all have
    simulation models) instead of the emitted Verilog (``result["netlist"]`` gives the flow and
    the cell counts).
    ``expect_compute_cycles`` (a build report's): the plan's predicted compute cycles must be
    these, else the build was of another design (another model file or fpgac version) and
    nothing is simulated.

    Raises
    ------
    FpgacError
        Bad model, bad image count, missing simulator, build or simulation failure.
    """

    from fpgac.boards.speed import speed_figures
    from fpgac.compiler.analysis import cycles
    from fpgac.errors import FpgacError
    from fpgac.sim import golden
    from fpgac.sim.compare import compare

    def stage(text: str) -> None:
        if progress:
            progress(text)

    stage("loading model and MNIST")
    model, imgs, labels = _load(model_path, images, data_dir)

    if overlap is None and stalls is not None:
        overlap = False             # stalls need the plain core's handshake
    if overlap and stalls is not None:
        raise FpgacError(f"stalls: expected none with overlap (every start-to-start interval "
                         f"is checked cycle-exact), found seed {stalls}")
    flow = _netlist_flow(board) if netlist else None
    stage("planning")
    plan = _plan(model, pes, board, weight_store, overlap, clock_mhz)
    pes = int(plan.pes)
    report = cycles.predict(plan)
    _check_build_cycles(report, expect_compute_cycles, board, pes)
    stage(f"golden model on {images} images")
    t0 = time.perf_counter()
    want_logits, want_klass = golden.predict(model, imgs)
    golden_seconds = time.perf_counter() - t0
    opts = dict(simulator=simulator, build_dir=build_dir, stalls=stalls)
    if flow:
        opts["netlist"] = flow
    res = _simulate(plan, imgs, jobs, opts, stage)
    verdict = compare(model, plan, imgs, res, want=(want_logits, want_klass))
    result = _figures(model_path, model, plan, report, res, verdict, labels,
                      (want_logits, want_klass), board=board, stalls=stalls,
                      golden_seconds=golden_seconds)
    result["speed"] = speed_figures(res.compute_cycles, int(report.load_cycles),
                                    clock_mhz * 1e6 if clock_mhz else None,
                                    fmax_mhz * 1e6 if fmax_mhz else None,
                                    interval_cycles=(res.interval_cycles
                                                     if plan.overlap and images > 1 else None),
                                    source="simulated")
    result["passed"] = verdict.exact
    _debug_aids(result, model, plan, imgs, model_path, simulator, build_dir, trace,
                trace_image, stage)
    return result


def _figures(model_path, model, plan, report, res, verdict, labels, want, *, board, stalls,
             golden_seconds: float) -> dict:
    """The result document's figures of one run (all but ``speed`` and ``passed``)."""
    want_logits, want_klass = want
    pes = int(plan.pes)
    images = len(res.klass)
    simulator = res.simulator
    mean_cycles = float(res.compute_cycles.mean())
    result = {
        "model": str(model_path), "model_name": model.name, "images": images, "pes": pes,
        "board": board, "bank_ports": int(plan.bank_ports), "act_body": int(plan.act_body),
        "netlist": res.netlist, "simulator": simulator, "stalls": stalls,
        "weight_store": plan.weight_store,
        "weight_upload": _upload(res.weights),
        **_verdict_figures(verdict, res, want_logits, want_klass),
        "overlap": bool(plan.overlap), **_intervals(plan, report, res, verdict),
        "load_cycles": int(report.load_cycles),
        "nnz_macs": int(plan.nnz_macs), "dense_macs": int(plan.dense_macs),
        "pe_utilization": (plan.nnz_macs / pes) / mean_cycles,
        "predicted_utilization": float(report.utilization),
        "per_layer": _per_layer(report, plan),
        "rom_bits": int(plan.rom_bits), "dense_rom_bits": int(plan.dense_rom_bits),
        "accuracy_rtl": float((res.klass == labels).mean()),
        "accuracy_golden": float((want_klass == labels).mean()),
        "build_seconds": res.build_seconds, "cached_build": res.cached_build,
        "sim_seconds": res.sim_seconds, "golden_seconds": golden_seconds,
        "sim_images_per_second": res.images_per_second,
        "sim_cycles": int(res.total_cycles), "sim_cycles_per_second": res.cycles_per_second,
    }
    return result


def _check_build_cycles(report, expected: int | None, board, pes: int) -> None:
    """A build report's compute cycles (``expected``) must be the verified plan's."""
    from fpgac.errors import FpgacError

    if expected is not None and int(report.compute_cycles) != expected:
        raise FpgacError(f"build report: expected compute_cycles {int(report.compute_cycles)} "
                         f"(this model's plan on board {board}, P = {pes}), found "
                         f"{expected}: the build was of another design; rebuild it or verify "
                         f"without --build-report")


def _simulate(plan, imgs, jobs: int, opts: dict, stage):
    """The RTL (or netlist) run of ``imgs``: in ``jobs`` processes for long runs."""
    from fpgac.sim import rtl

    simulator, n = opts["simulator"], len(imgs)

    def rtl_stage(name: str) -> None:
        stage({"build": f"building the {simulator} model (cached per design)",
               "sim": f"simulating {n} images on {simulator}"}.get(name, name))

    if jobs > 1 and n >= PARALLEL_MIN and not plan.overlap:
        return _simulate_parallel(plan, imgs, jobs, opts, rtl_stage)
    return rtl.simulate(plan, imgs, progress=rtl_stage, **opts)


def _netlist_flow(board: str | None) -> str:
    """The open flow whose netlist ``--netlist`` simulates; :class:`FpgacError` without one."""
    from fpgac.boards.platforms import BOARDS, get_board
    from fpgac.errors import FpgacError
    from fpgac.sim.netlist import FLOWS, UNMODELLED

    boards = ", ".join(n for n, b in sorted(BOARDS.items()) if b.flow in FLOWS)
    flow = None if board is None else get_board(board).flow
    if flow not in FLOWS:
        why = f" ({UNMODELLED[flow]})" if flow in UNMODELLED else ""
        raise FpgacError(f"--netlist: expected --board (or a --build-report of) {boards} (a "
                         f"flow with simulation models of every cell), found "
                         f"{'no board' if board is None else board}{why}")
    return flow


def _plan(model, pes: int, board: str | None, weight_store: str | None, overlap: bool | None,
          clock_mhz: float | None = None):
    """The plan verified: a ``board`` build's (:func:`plan_for_board
    <fpgac.compiler.analysis.resources.plan_for_board>`, ``pes`` ``None``: the build's
    ``--pes auto`` at ``clock_mhz``, ``overlap`` ``None``: the build's default) or the
    generic one (``overlap`` ``None``: off)."""
    from fpgac.compiler.plan import plan_hardware
    from fpgac.sim.preprocess import pixel_table

    if board is None:
        return plan_hardware(model, pes=DEFAULT_PES if pes is None else pes,
                             pixel_lut=pixel_table(model), weight_store=weight_store or "rom",
                             overlap=bool(overlap))
    from fpgac.boards.platforms import get_board
    from fpgac.flows.build import DEFAULT_OVERLAP, board_plan

    return board_plan(model, get_board(board), "auto" if pes is None else pes,
                      weight_store or "auto",
                      DEFAULT_OVERLAP if overlap is None else "on" if overlap else "off",
                      clock_mhz=clock_mhz)[0]


def _verdict_figures(verdict, res, want_logits, want_klass) -> dict:
    """Mismatch and cycle figures of the run (:func:`fpgac.sim.compare.compare`'s verdict)."""
    bad, sim = verdict.mismatches, res.compute_cycles
    return {
        "mismatches": int(len(bad)), "logit_mismatches": int(verdict.logit_bad.sum()),
        "class_mismatches": int(verdict.class_bad.sum()),
        "mismatch_examples": _mismatch_examples(bad[:10], res, want_logits, want_klass),
        "predicted_compute_cycles": int(verdict.predicted_cycles),
        "simulated_compute_cycles_min": int(sim.min()),
        "simulated_compute_cycles_max": int(sim.max()),
        "simulated_compute_cycles_mean": float(sim.mean()),
        "cycle_mismatches": int(len(verdict.cycle_bad)),
    }


def _intervals(plan, report, res, verdict) -> dict:
    """The start-to-start interval figures of an overlap run (empty dict without overlap)."""
    if not plan.overlap:
        return {}
    out = {"predicted_interval_cycles": int(report.interval_cycles),
           "interval_mismatches": int(len(verdict.interval_bad))}
    if res.start_cycles is not None and len(res.start_cycles) > 1:
        iv = res.interval_cycles
        out.update(simulated_interval_cycles_min=int(iv.min()),
                   simulated_interval_cycles_max=int(iv.max()),
                   simulated_interval_cycles_mean=float(iv.mean()))
    return out


def _upload(weights) -> dict | None:
    """The ``weight_upload`` figures of a loaded-store run (``None`` for the ROM store)."""
    if weights is None:
        return None
    return {"ok": bool(weights.ok), "crc_ok": bool(weights.crc_ok),
            "done_cycles": int(weights.cycles)}


def _per_layer(report, plan) -> list[dict]:
    """Predicted cycles, non-zero MACs, utilization and stalls per hardware layer."""
    return [{"name": lc.name, "mode": la.mode, "cycles": int(lc.cycles),
             "nnz_macs": int(lc.nnz_macs), "utilization": float(lc.utilization),
             "stall_cycles": int(lc.stall_cycles)}
            for lc, la in zip(report.per_layer, plan.layers)]


def _debug_aids(result, model, plan, imgs, model_path, simulator, build_dir, trace,
                trace_image, stage) -> None:
    """First mismatch: locate its first differing layer (``first_difference`` of the example)
    and offer the trace command; ``trace``: FST waveform of image ``trace_image`` alone."""
    from fpgac.errors import FpgacError
    from fpgac.sim import diagnose, rtl

    if result["mismatch_examples"]:
        ex = result["mismatch_examples"][0]
        stage(f"locating the first differing layer of image {ex['image']}")
        ex["first_difference"] = diagnose.first_difference(
            model, plan, imgs[ex["image"]], simulator=simulator, build_dir=build_dir)
        result["trace_command"] = diagnose.trace_command(model_path, ex["image"], plan.pes)
        if plan.weight_store == "loaded":
            result["trace_command"] += " --weight-store loaded"
    if trace is not None:
        if not 0 <= trace_image < len(imgs):
            raise FpgacError(f"--trace-image: expected an image index in [0, {len(imgs) - 1}]"
                             f", found {trace_image}")
        stage(f"tracing image {trace_image} to {trace}")
        rtl.simulate(plan, imgs[trace_image:trace_image + 1], simulator=simulator,
                     build_dir=build_dir, trace=trace)
        result["trace"] = {"file": str(trace), "image": int(trace_image)}


def _load(model_path, images: int, data_dir):
    """``(model, images [N, C, H, W], labels int64 [N])``: the model and the first ``images``
    MNIST test images; :class:`FpgacError` if there are fewer."""
    import numpy as np

    from fpgac.compiler.frontend import load_model
    from fpgac.sim.mnist import candidate_accuracy
    from fpgac.errors import FpgacError
    from fpgac.sim.mnist import load_mnist

    model = load_model(model_path, hint=candidate_accuracy)
    all_images, all_labels = load_mnist("test", data_dir)
    if images > len(all_images):
        raise FpgacError(f"--images: expected at most {len(all_images)} (test images "
                         f"available), found {images}")
    imgs = all_images[:images].reshape((images,) + tuple(model.input.shape))
    return model, imgs, all_labels[:images].astype(np.int64)


def _mismatch_examples(images, res, want_logits, want_klass) -> list[dict]:
    """One dict per image index in ``images``: both classes, both logit vectors and the indices
    where the logits differ."""
    import numpy as np

    examples = []
    for i in images:
        diff = np.flatnonzero(res.logits[i] != want_logits[i])
        examples.append({"image": int(i), "rtl_class": int(res.klass[i]),
                         "golden_class": int(want_klass[i]),
                         "logit_indices": [int(j) for j in diff],
                         "rtl_logits": [int(v) for v in res.logits[i]],
                         "golden_logits": [int(v) for v in want_logits[i]]})
    return examples


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
        sim_seconds=wall, simulator=first.simulator, cached_build=first.cached_build,
        netlist=first.netlist,
        weights=next((r.weights for r in allr if r.weights is not None and not r.weights.ok),
                     first.weights))          # a failed upload of any part, else the first
