"""The build flow: model -> plan -> harness on a board -> Verilog, constraints, tools, report.

:func:`build` is a sequence of named steps:

1. :func:`_plan`: load the model, make the hardware plan (``pes``, or ``"auto"``: the largest P
   whose :func:`fpgac.compiler.analysis.resources.estimate` fits the board) and pre-check the
   fit (fail early, naming the resource and a P that fits);
2. :func:`fpgac.boards.clock.plan_clock`: the ``sync`` clock (the board's PLL setting for
   ``clock_mhz``, or its default clock), exact frequency;
3. :func:`_write_sources`: elaborate :class:`fpgac.boards.harness.BoardTop` (behind the clock's
   :class:`fpgac.boards.clock.ClockedTop`) on the amaranth-boards platform and write its build
   plan (Verilog, constraints, scripts) plus the ROM contents as ``.hex``;
4. :func:`fpgac.boards.tools.run_tools` (unless ``pnr=False``): open flow for iCE40 / ECP5,
   Vivado or a ``synth_xilinx`` estimate for Artix-7;
5. :mod:`fpgac.boards.report`: ``report.json`` and ``report.md``; :mod:`fpgac.reports`:
   ``report.html`` (figures).
"""

from __future__ import annotations

import time
from pathlib import Path

from fpgac.errors import FpgacError

#: ``fpgac build --overlap``'s default: the overlap plan (the next image loads while the
#: current one computes) wherever its estimate fits and the flow is not iCE40
#: (:func:`fpgac.compiler.analysis.resources.plan_for_board`). Since 2026-12-03: the ULX3S
#: LeNet-5 P = 64 overlap plan routed at 92.53 MHz, met at the 85 MHz default (the plain
#: plan: 87.98), an image every 3,253 cycles instead of 4,084 (``docs/architecture.md``,
#: "Load overlapped with compute"); since d32f186 it routes at 98.08 MHz at its own 95 MHz
#: default (:data:`fpgac.boards.clock.OVERLAP_CLOCK_MHZ`). ``fpgac verify --board`` follows it.
DEFAULT_OVERLAP = "auto"

__all__ = ["board_plan", "build", "default_out_dir"]


def default_out_dir(model_path, board_name: str) -> Path:
    """``build/<model>-<board>``, ``<model>`` being the file name up to its first dot."""
    return Path("build") / f"{Path(model_path).name.split('.')[0]}-{board_name}"


def build(model_path, board_name: str, *, pes="auto", out_dir=None, baud: int | None = None,
          clock_mhz: float | None = None, pnr: bool = True, progress=None,
          weight_store: str = "auto", overlap: str = DEFAULT_OVERLAP, seeds: int = 1) -> dict:
    """Build ``model_path`` for ``board_name``; returns the report (also written to disk).

    Parameters
    ----------
    pes : int or "auto"
        Lanes; ``auto`` (:func:`auto_pes`) picks, among the P that fit by the plan estimate,
        the fastest at its clock (the largest, unless the board's default clock falls with P).
    clock_mhz : float, optional
        The ``sync`` clock, made by the board's PLL (:func:`fpgac.boards.clock.plan_clock`);
        default: the board's default clock. The report states the exact frequency.
    baud : int, optional
        UART rate; default: the board's link rate at the clock
        (:func:`fpgac.boards.link.link_baud`: the fastest its USB bridge makes exactly that the
        FPGA's divisor meets within 1 %).
    out_dir : path, optional
        Output directory; default :func:`default_out_dir` (``build/<model>-<board>``).
    pnr : bool
        Run the tools (open flow to bitstream, or Vivado / the ``synth_xilinx`` estimate).
    progress : callable(str), optional
        Called with a short description before each step.
    weight_store : str
        ``auto``, ``rom`` or ``loaded``
        (:func:`fpgac.compiler.analysis.resources.plan_for_board`); with the loaded store the
        weight image is written as ``weights.bin`` (``report.json`` ``weight_store``: its
        bytes and CRC-16).
    overlap : str
        ``off``, ``on`` or ``auto`` (:data:`DEFAULT_OVERLAP`): load the next image while the
        current one computes (:func:`fpgac.compiler.analysis.resources.plan_for_board`;
        ``report.json`` ``overlap``, ``interval_cycles``).
    seeds : int
        Open flows: place and route with up to this many nextpnr seeds, as many at a time as
        the machine has cores, keeping the first route that meets the clock, else the
        fastest (:func:`fpgac.boards.tools.run_tools`; ``report.json`` ``pnr_seeds``,
        ``pnr_seed``). 1: one route, nextpnr's default seed.

    Raises
    ------
    FpgacError
        Bad model, bad ``pes`` or clock, a design that does not fit, a tool failure.
    """
    from fpgac.boards import report as reports
    from fpgac.boards.clock import plan_clock
    from fpgac.boards.platforms import get_board
    from fpgac.boards.tools import run_tools

    step = progress or (lambda text: None)
    board = get_board(board_name)
    times = {}
    t0 = time.monotonic()
    plan, est = _plan(model_path, board, pes, step, weight_store, overlap, clock_mhz)
    times["plan_s"] = time.monotonic() - t0
    plat = board.make_platform()
    # PLL setting (or oscillator), exact
    clock = plan_clock(board, clock_mhz, pes=plan.pes, overlap=plan.overlap)
    if baud is None:
        from fpgac.boards.link import link_baud

        baud = link_baud(board.name, float(clock.hz))
    from fpgac.boards.uart import uart_divisor
    from fpgac.compiler.analysis.resources import estimate

    est = estimate(plan, board, uart_divisor(float(clock.hz), baud))   # the queue as built
    out = Path(out_dir) if out_dir is not None else default_out_dir(model_path, board.name)
    out.mkdir(parents=True, exist_ok=True)
    step("elaborating harness + core, writing Verilog")
    t1 = time.monotonic()
    _write_sources(plan, board, plat, clock, out, baud)
    times["verilog_s"] = time.monotonic() - t1
    report = reports.new_report(model_path, board, plan, est, clock, baud, times)
    if pnr:
        t2 = time.monotonic()
        found = run_tools(board, out, int(plan.pes), step, seeds, float(clock.hz) / 1e6)
        reports.add_tool_results(report, found, clock.hz)
        times["tools_s"] = time.monotonic() - t2
    else:
        report["notes"].append("tools not run (--no-pnr): resources are the plan estimate")
    times["total_s"] = time.monotonic() - t0
    reports.write_report(report, out)
    from fpgac.reports import build_page, write_page

    write_page(build_page(report, plan), out / "report.html")   # self-contained, with figures
    return report


def _plan(model_path, board, pes, step, weight_store="auto", overlap=DEFAULT_OVERLAP,
          clock_mhz=None):
    """Load the model and plan it for ``pes`` lanes (or ``"auto"``); return ``(plan, estimate)``
    after the fit pre-check."""
    from fpgac.compiler.analysis.resources import check_fit
    from fpgac.compiler.frontend import load_model
    from fpgac.sim.mnist import candidate_accuracy

    step("loading model")
    model = load_model(model_path, hint=candidate_accuracy)
    plan, plan_fn = board_plan(model, board, pes, weight_store, overlap, step, clock_mhz)
    return plan, check_fit(plan, board, plan_fn, model)


def board_plan(model, board, pes, weight_store="auto", overlap=DEFAULT_OVERLAP, step=None,
               clock_mhz=None):
    """``(plan, plan_fn)``: the plan a build of ``model`` on ``board`` uses at ``pes`` lanes
    (or ``"auto"``: :func:`auto_pes`), and the function ``plan_fn(model, p)`` that plans it at
    any ``p`` (``plan_for_board`` with these options). ``clock_mhz``: the build's
    ``--clock-mhz`` (``None``: the board's default clock, which may depend on P). ``fpgac
    verify --board`` plans with it too, so that it simulates the built core."""
    from fpgac.compiler.analysis.resources import plan_for_board
    from fpgac.sim.preprocess import pixel_table

    def plan_fn(m, p):
        return plan_for_board(m, p, board, pixel_table(m), weight_store, overlap)

    if pes == "auto":
        if step:
            step("choosing P")
        pes = auto_pes(model, board, plan_fn, clock_mhz)
    else:
        try:
            pes = int(pes)
        except (TypeError, ValueError):
            raise FpgacError(f"--pes: expected a positive integer or 'auto', "
                             f"found {pes!r}") from None
        if pes < 1:
            raise FpgacError(f"--pes: expected a positive integer or 'auto', found {pes}")
    return plan_fn(model, pes), plan_fn


def auto_pes(model, board, plan_fn, clock_mhz=None) -> int:
    """``--pes auto``: the P whose design runs the most images per second at its clock.

    On a board whose default clock does not depend on P that is the largest P that fits
    (:func:`fpgac.compiler.analysis.resources.choose_pes`, up to ``MAX_AUTO_PES``). A board
    whose default clock depends on P (:data:`fpgac.boards.clock.DEFAULT_CLOCK_MHZ` /
    ``OVERLAP_CLOCK_MHZ``, the ULX3S: the clocks that met timing at the measured P) looks
    only at the P its tables measured (up to their largest entry, which may pass
    ``MAX_AUTO_PES``: no P is assumed to route beyond a route), with one candidate per
    entry, the largest P that fits up to the entry's P; each is priced as its clock
    (``clock_mhz``, else the entry's default) over its start-to-start cycles
    (``predict(plan).interval_cycles``, exact), and the fastest wins (a tie: the smaller P).
    So ``--clock-mhz`` keeps the measured P range (the ULX3S overlap plan: P = 75 at any
    clock, whose interval is the shortest in the table, rather than the largest P up to 64
    that fits)."""
    from fpgac.boards.clock import DEFAULT_CLOCK_MHZ, OVERLAP_CLOCK_MHZ, default_clock_mhz
    from fpgac.compiler.analysis.cycles import predict
    from fpgac.compiler.analysis.resources import choose_pes, fits

    table = DEFAULT_CLOCK_MHZ[board.name]
    if not isinstance(table, tuple):
        return choose_pes(model, board, plan_fn)
    table = table + OVERLAP_CLOCK_MHZ.get(board.name, ())
    largest = choose_pes(model, board, plan_fn, max_pes=max(p for p, _ in table))
    plans = {}                          # each candidate P planned once

    def plan_at(p):
        if p not in plans:
            plans[p] = plan_fn(model, p)
        return plans[p]

    candidates = {largest}
    for top, _ in table:
        p = min(top, largest)
        while p > 1 and not fits(plan_at(p), board):
            p -= 1
        candidates.add(p)

    def measured(p):                    # within the table of the plan's kind
        own = OVERLAP_CLOCK_MHZ if plan_at(p).overlap else {}
        return p <= max(q for q, _ in own.get(board.name, DEFAULT_CLOCK_MHZ[board.name]))

    def speed(p):
        plan = plan_at(p)
        mhz = clock_mhz if clock_mhz is not None else default_clock_mhz(board.name, p,
                                                                         plan.overlap)
        return mhz / predict(plan).interval_cycles

    return max(sorted(p for p in candidates if measured(p) or p == 1),
               key=lambda p: (speed(p), -p))


def _write_sources(plan, board, plat, clock, out: Path, baud: int) -> None:
    """Elaborate the board top at ``clock`` and write the platform's build plan and the ROM
    ``.hex`` files into ``out`` (no tool runs)."""
    from fpgac.boards.clock import ClockedTop
    from fpgac.boards.harness import BoardTop
    from fpgac.boards.tools import platform_overrides
    from fpgac.hw.emit import write_rom_hex

    top = ClockedTop(BoardTop(plan, board, baud=baud, clk_freq=clock.hz), clock)
    # the SPRAM banks of the loaded store have no initial contents; the keep / names script
    # of every open-flow build runs first (it used to be replaced here)
    overrides = platform_overrides(board.flow, loaded=plan.weight_store == "loaded")
    bplan = plat.build(top, name="top", do_build=False, emit_src=False,  # no machine paths
                       **overrides)
    bplan.extract(str(out))
    write_rom_hex(plan, str(out))
    if plan.weight_store == "loaded":      # the image the host uploads (fpgac run)
        from fpgac.compiler.passes.weight_image import weight_image

        (out / "weights.bin").write_bytes(weight_image(plan))
