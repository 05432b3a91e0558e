"""Verilog and ROM images of the accelerator, from a :class:`HardwarePlan` only.

Contract
--------
* :func:`to_verilog` is a pure function of the plan and its arguments: the same plan gives the
  same Verilog byte for byte (no source locations, no timestamps, no machine paths).
* :func:`convert` is the one way fpgac turns an Amaranth component into Verilog (the core, the
  IP wrappers, the self-tests): ``amaranth.back.verilog.convert`` plus a time-0 trigger that
  event-driven simulators need (:func:`add_time_zero_trigger`).
* :func:`rom_images` lists every ROM and table the core holds, packed exactly as
  :class:`~fpgac.hw.core.Accelerator` packs them (fields LSB first in the order the plan lists
  them, two's complement for signed fields). The Verilog already contains these contents as
  memory initialisers; :func:`write_rom_hex` writes them as ``$readmemh`` files next to it so
  users can inspect them and vendor flows can re-target them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog

from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.compiler.plan import HardwarePlan
from fpgac.compiler.plan import desc_rows
from fpgac.hw.core import Accelerator

__all__ = ["RomImage", "convert", "add_time_zero_trigger", "to_verilog", "rom_images",
           "write_rom_hex"]

# Yosys's write_verilog declares, in every module with an ``always @*`` process, a register
# ``reg \$auto$verilog_backend.cc:<line>:dump_module$<n>  = 0;`` that every such process reads.
_TRIGGER = re.compile(r"^  reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+)  = 0;$",
                      re.M)
_MODULE = re.compile(r"^module .*?^endmodule$", re.M | re.S)


def add_time_zero_trigger(text: str) -> str:
    """Make every ``always @*`` block of Yosys-written Verilog run once at time 0.

    An ``always @*`` block runs when one of the values it reads changes. Yosys makes each block
    read a register initialised to 0 so that the initialisation counts as such a change; under
    SystemVerilog semantics (Icarus ``-g2012``, commercial simulators) a declaration's initial
    value is set before any process starts, so it is no event, and a block whose inputs are
    registers that hold their initial value (a datapath register without reset, a select that
    stays 0) leaves its output X until one of them changes. This adds, after each such
    register, ``initial #0 <it> = 1'h1;`` (a change after every process has started), inside
    ```ifndef VERILATOR`` (Verilator evaluates all logic at time 0 and warns on delays;
    synthesis drops the unused register). Raises ``ValueError`` when a module with an
    ``always @*`` block has no such register (a Yosys output format fpgac does not know).
    """
    for module in _MODULE.findall(text):
        if "always @*" in module and not _TRIGGER.search(module):
            name = module.split("(", 1)[0].removeprefix("module ").strip()
            raise ValueError(f"Verilog module {name}: expected Yosys's time-0 trigger register "
                             "next to its always @* blocks, found none")
    return _TRIGGER.sub(lambda m: (f"{m.group(0)}\n`ifndef VERILATOR\n"
                                   f"  initial #0 {m.group(1)}  = 1'h1;\n`endif"), text)


def convert(component, *, name: str, platform=None) -> str:
    """The Verilog of the Amaranth ``component`` as top module ``name`` (elaborated for
    ``platform``, e.g. an ECP5 one: vendor primitives where the design instantiates them): no
    source locations (byte-identical across machines), with :func:`add_time_zero_trigger`
    applied."""
    return add_time_zero_trigger(verilog.convert(component, name=name, platform=platform,
                                                 emit_src=False))


def to_verilog(plan: HardwarePlan, *, name: str = "fpgac_core", debug: bool = False,
               platform=None) -> str:
    """The Verilog of :class:`~fpgac.hw.core.Accelerator` for ``plan`` as top module ``name``
    (``platform``: as in :func:`convert`)."""
    if not isinstance(plan, HardwarePlan):
        raise TypeError(f"to_verilog: expected a HardwarePlan, found {type(plan).__name__}")
    return convert(Accelerator(plan, debug=debug), name=name, platform=platform)


@dataclass(frozen=True)
class RomImage:
    """One memory's contents: ``depth = len(words)`` words of ``width`` bits."""

    name: str
    width: int
    words: tuple[int, ...]

    @property
    def bits(self) -> int:
        return self.width * len(self.words)

    def hex_lines(self) -> str:
        digits = max(1, -(-self.width // 4))
        return "".join(f"{w:0{digits}x}\n" for w in self.words)


def _pack(fields: list[tuple[int, int, bool]]) -> int:
    """Pack ``(value, width, signed)`` fields LSB first."""
    word, pos = 0, 0
    for value, width, is_signed in fields:
        if is_signed:
            lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
        else:
            lo, hi = 0, (1 << width) - 1
        if not lo <= value <= hi:
            raise ValueError(f"rom field: expected a value in [{lo}, {hi}] ({width} bits), "
                             f"found {value}")
        word |= (value & ((1 << width) - 1)) << pos
        pos += width
    return word


def rom_images(plan: HardwarePlan) -> list[RomImage]:
    """All ROMs and tables of the core for ``plan`` (module docstring)."""
    ab, wr, gb = plan.addr_bits, plan.wraw_bits, plan.gap_bits
    images = []
    nb = len(plan.banks)
    groups = ([(k, k + 1) for k in range(0, nb - 1, 2)] + ([(nb - 1,)] if nb % 2 else [])
              if plan.bank_ports == 2 else [(k,) for k in range(nb)])
    if plan.weight_store == "loaded":     # RAMs: their contents are the uploaded weight image
        groups = []
    for ks in groups:           # one image per bank ROM (a pair shares one with bank_ports 2)
        has_last = any(plan.bank_last[k] for k in ks)
        entries = [e for k in ks for e in plan.banks[k]]
        images.append(RomImage("bank" + "_".join(map(str, ks)), wr + gb + int(has_last), tuple(
            _pack([(w, wr, False), (g, gb, False)] + ([(last, 1, False)] if has_last else []))
            for w, g, last in entries)))
    images.append(RomImage("sel_table", plan.sel_bits * plan.pes, tuple(
        _pack([(v, plan.sel_bits, False) for v in row]) for row in plan.sel_rows)))
    rows = desc_rows(plan)
    dwidths = [max(1, max(r[k] for r in rows).bit_length()) for k in rows[0]]
    images.append(RomImage("descriptors", sum(dwidths), tuple(
        _pack([(v, wd, False) for v, wd in zip(r.values(), dwidths)]) for r in rows)))
    cb = unsigned_bits(max(plan.round_counts) - 1)
    images.append(RomImage("round_counts", cb, tuple(c - 1 for c in plan.round_counts)))
    images.append(RomImage("chan_table", ab + plan.bias_bits, tuple(
        _pack([(base, ab, False), (bias, plan.bias_bits, True)])
        for base, bias in plan.chan_table)))
    images.append(RomImage("pixel_lut", plan.act_bits, tuple(plan.pixel_lut)))
    images.append(RomImage("act_init", plan.act_bits, tuple(plan.mem_init)))
    return images


def write_rom_hex(plan: HardwarePlan, out_dir: str | Path) -> list[Path]:
    """Write every :func:`rom_images` entry to ``out_dir/<name>.hex``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for image in rom_images(plan):
        path = out / f"{image.name}.hex"
        path.write_text(image.hex_lines())
        paths.append(path)
    return paths
