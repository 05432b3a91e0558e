"""The ROM images of :func:`fpgac.hw.emit.rom_images` decode back to the plan's tables."""

from __future__ import annotations

import pytest

from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.compiler.plan import plan_hardware
from fpgac.hw.emit import rom_images
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model


def _unpack(word, fields):
    out, pos = [], 0
    for width, is_signed in fields:
        v = (word >> pos) & ((1 << width) - 1)
        if is_signed and v >> (width - 1):
            v -= 1 << width
        out.append(v)
        pos += width
    return out


@pytest.mark.parametrize("seed,pes,ports", [(5, 3, 1), (8, 1, 1), (5, 3, 2), (8, 8, 2)])
def test_rom_images_decode_to_plan(seed, pes, ports):
    model = random_model(seed)
    plan = plan_hardware(model, pes=pes, bank_ports=ports, pixel_lut=pixel_table(model))
    images = {im.name: im for im in rom_images(plan)}
    wr, gb = plan.wraw_bits, plan.gap_bits
    nb = len(plan.banks)
    groups = ([(k, k + 1) for k in range(0, nb - 1, 2)] + ([(nb - 1,)] if nb % 2 else [])
              if ports == 2 else [(k,) for k in range(nb)])
    for ks in groups:
        last = any(plan.bank_last[k] for k in ks)
        name = "bank" + "_".join(map(str, ks))
        fields = [(wr, False), (gb, False)] + ([(1, False)] if last else [])
        got = [tuple(_unpack(w, fields)) for w in images[name].words]
        assert got == [tuple(e[:len(fields)]) for k in ks for e in plan.banks[k]]
        assert images[name].width == wr + gb + int(last)
    rows = [_unpack(w, [(plan.sel_bits, False)] * pes) for w in images["sel_table"].words]
    assert [tuple(r) for r in rows] == [tuple(r) for r in plan.sel_rows]
    from fpgac.compiler.plan import desc_rows

    rows = desc_rows(plan)
    widths = [max(1, max(r[k] for r in rows).bit_length()) for k in rows[0]]
    got = [_unpack(w, [(wd, False) for wd in widths]) for w in images["descriptors"].words]
    assert got == [list(r.values()) for r in rows]
    assert len(rows) == len(plan.layers)
    cb = unsigned_bits(max(plan.round_counts) - 1)
    assert [c + 1 for c in images["round_counts"].words] == list(plan.round_counts)
    assert images["round_counts"].width == cb
    got = [tuple(_unpack(w, [(plan.addr_bits, False), (plan.bias_bits, True)]))
           for w in images["chan_table"].words]
    assert got == [tuple(e) for e in plan.chan_table]
    for name in ("bank_cmds", "in_table", "out_table"):    # nothing per group or output
        assert name not in images
    assert images["pixel_lut"].words == plan.pixel_lut
    if ports == 1:
        assert plan.rom_bits == sum(images[f"bank{k}"].bits for k in range(nb))


# ---- the time-0 trigger (fpgac.hw.emit.convert) ----

_TB = """`timescale 1ns/1ps
module tb;
  reg clk = 1'b0;
  wire [7:0] y;
  top dut(.clk(clk), .rst(1'b0), .y(y));
  always #5 clk = ~clk;
  initial begin
    repeat (3) @(posedge clk);
    #1 $display("y=%b", y);
    $finish;
  end
endmodule
"""


def _held_select():
    """A register without reset that keeps its initial value, read by a ``Switch`` (an ``always
    @*`` block in Yosys's Verilog) whose output is registered: the shape of the datapath's
    per-layer constants."""
    from amaranth.hdl import Module, Signal
    from amaranth.lib import wiring
    from amaranth.lib.wiring import Out

    class Top(wiring.Component):
        def __init__(self):
            super().__init__({"y": Out(8)})

        def elaborate(self, platform):
            m = Module()
            sel = Signal(2, reset_less=True)
            const = Signal(8)
            y = Signal(8, reset_less=True)
            m.d.sync += sel.eq(sel)
            with m.Switch(sel):
                for k, v in enumerate((0x5A, 0x11, 0x22, 0x33)):
                    with m.Case(k):
                        m.d.comb += const.eq(v)
            m.d.sync += y.eq(const)
            m.d.comb += self.y.eq(y)
            return m

    return Top()


def _icarus(text, tmp_path):
    import subprocess

    (tmp_path / "top.v").write_text(text)
    (tmp_path / "tb.v").write_text(_TB)
    subprocess.run(["iverilog", "-g2012", "-o", str(tmp_path / "sim"), str(tmp_path / "tb.v"),
                    str(tmp_path / "top.v")], check=True, capture_output=True, text=True)
    run = subprocess.run(["vvp", "-n", str(tmp_path / "sim")], check=True, capture_output=True,
                         text=True)
    return run.stdout.split("y=")[1].split()[0]


def test_always_blocks_run_at_time_zero_in_icarus(tmp_path):
    """With the trigger the registered constant is layer 0's (0x5A) in Icarus; without it (the
    plain Amaranth conversion) the ``always @*`` block never runs and the register reads X, so
    this test fails if the trigger is lost or no longer reaches the blocks."""
    from amaranth.back import verilog

    from fpgac.hw.emit import convert

    assert _icarus(convert(_held_select(), name="top"), tmp_path) == f"{0x5A:08b}"
    plain = verilog.convert(_held_select(), name="top", emit_src=False)
    assert _icarus(plain, tmp_path) == "xxxxxxxx"


def test_trigger_is_added_once_per_module_and_only_outside_verilator():
    from fpgac.hw.emit import to_verilog

    model = random_model(5)
    text = to_verilog(plan_hardware(model, pes=3, pixel_lut=pixel_table(model)))
    modules = text.count("\nmodule ")
    with_blocks = sum("always @*" in part for part in text.split("\nmodule ")[1:])
    assert 0 < with_blocks <= modules
    assert text.count("initial #0 ") == with_blocks
    assert text.count("`ifndef VERILATOR\n  initial #0 ") == with_blocks


def test_unknown_yosys_format_is_refused():
    from fpgac.hw.emit import add_time_zero_trigger

    text = "module m(a);\n  always @* begin\n  end\nendmodule\n"
    with pytest.raises(ValueError, match="module m: expected Yosys's time-0 trigger"):
        add_time_zero_trigger(text)
