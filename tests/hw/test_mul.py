""":class:`fpgac.hw.mul.RegisteredMultiplier`: the product two cycles after its operands, in
plain registers (Amaranth simulator) and in the ECP5 ``MULT18X18D``'s own registers (Yosys
``synth_ecp5``: the cell's register parameters and no fabric flip-flop; Icarus against a
model of the primitive's registered configuration, ``boards/lint/primitives.v``)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from amaranth.back import rtlil, verilog

from ecp5_synth import run_with_primitives, synth_ecp5
from fpgac.hw.amsim import run_testbench
from fpgac.hw.lane import Lane
from fpgac.hw.mul import ECP5_OPERAND_BITS, RegisteredMultiplier, uses_dsp_registers

ECP5 = SimpleNamespace(family="ecp5")


def _operands(a_bits, b_bits, count, seed):
    """Random signed operands with every extreme pair first."""
    rng = np.random.default_rng(seed)
    lo_a, hi_a = -(1 << (a_bits - 1)), (1 << (a_bits - 1)) - 1
    lo_b, hi_b = -(1 << (b_bits - 1)), (1 << (b_bits - 1)) - 1
    pairs = [(a, b) for a in (lo_a, -1, 0, 1, hi_a) for b in (lo_b, -1, 0, 1, hi_b)]
    pairs += [(int(rng.integers(lo_a, hi_a + 1)), int(rng.integers(lo_b, hi_b + 1)))
              for _ in range(count)]
    return pairs


@pytest.mark.parametrize("a_bits,b_bits", [(9, 9), (5, 12), (18, 18)])
def test_product_two_cycles_after_the_operands(a_bits, b_bits):
    dut = RegisteredMultiplier(a_bits, b_bits)
    pairs = _operands(a_bits, b_bits, 200, a_bits * b_bits)
    seen = []

    async def bench(ctx):
        for a, b in pairs + [(0, 0)] * dut.LATENCY:
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            seen.append(ctx.get(dut.p))
            await ctx.tick()

    run_testbench(dut, bench)
    assert seen[dut.LATENCY:] == [a * b for a, b in pairs]


def _cells(tmp_path, name, dut, platform):
    synth_ecp5(tmp_path, name, rtlil.convert(dut, name="top", platform=platform), "",
               f"write_json {name}.json")
    cells = json.loads((tmp_path / f"{name}.json").read_text())["modules"]["top"]["cells"]
    return [c for c in cells.values()]


def test_ecp5_build_uses_the_dsp_registers(tmp_path):
    """For ECP5 the three registers are the MULT18X18D's (no fabric flip-flop is left); the
    inferred product (no platform) is a MULT18X18D without them and 36 fabric flip-flops."""
    dsp = _cells(tmp_path, "dsp", RegisteredMultiplier(9, 9), ECP5)
    mults = [c for c in dsp if c["type"] == "MULT18X18D"]
    assert len(mults) == 1
    params = mults[0]["parameters"]
    for reg in ("REG_INPUTA_CLK", "REG_INPUTB_CLK", "REG_OUTPUT_CLK"):
        assert params[reg] == "CLK0", reg
    assert params["REG_PIPELINE_CLK"] == "NONE"
    assert params["GSR"] == "DISABLED"
    assert not [c for c in dsp if c["type"] == "TRELLIS_FF"]

    fabric = _cells(tmp_path, "fabric", RegisteredMultiplier(9, 9), None)
    assert [c["type"] for c in fabric].count("MULT18X18D") == 1
    assert [c["type"] for c in fabric].count("TRELLIS_FF") == 9 + 9 + 18


def test_wide_operands_stay_in_plain_registers():
    assert uses_dsp_registers(ECP5, ECP5_OPERAND_BITS, ECP5_OPERAND_BITS)
    assert not uses_dsp_registers(ECP5, ECP5_OPERAND_BITS + 1, 9)
    assert not uses_dsp_registers(ECP5, 9, ECP5_OPERAND_BITS + 1)
    assert not uses_dsp_registers(None, 9, 9)
    assert not uses_dsp_registers(SimpleNamespace(family="ice40"), 9, 9)


def test_lane_for_ecp5_keeps_its_multiplier_registers_in_the_dsp(tmp_path):
    """The lane's operand and product registers (9 + 9 + 18 bits at 8-bit activations) leave
    the fabric on an ECP5 build."""
    def lane():
        return Lane(act_bits=8, w_bits=9, tap_bits=6, addr_bits=12, acc_bits=24)

    ffs = {}
    for name, platform in (("ecp5", ECP5), ("plain", None)):
        ffs[name] = [c["type"] for c in _cells(tmp_path, name, lane(), platform)].count(
            "TRELLIS_FF")
    assert ffs["plain"] - ffs["ecp5"] == 9 + 9 + 18


def test_ecp5_instance_against_a_model_of_the_primitive(tmp_path):
    """The instance's wiring (sign extension to 18 bits, the low bits of P, the clock and
    enables) gives each product two cycles after its operands, as the plain registers do."""
    a_bits, b_bits = 9, 9
    pairs = _operands(a_bits, b_bits, 300, 11)
    stim = "\n".join(f"    a = {a}; b = {b}; @(posedge clk); #1 $display(\"%0d\", p);"
                     for a, b in pairs + [(0, 0)] * 2)
    dut = verilog.convert(RegisteredMultiplier(a_bits, b_bits), name="dut", platform=ECP5,
                          emit_src=False)
    out = run_with_primitives(tmp_path, dut, f"""
module tb;
  reg clk = 0; always #5 clk = ~clk;
  reg signed [{a_bits - 1}:0] a; reg signed [{b_bits - 1}:0] b;
  wire signed [{a_bits + b_bits - 1}:0] p;
  dut d(.clk(clk), .rst(1'b0), .a(a), .b(b), .p(p));
  initial begin
{stim}
    $finish;
  end
endmodule
""")
    # the value shown after edge k is the product of the operands set before edge k - 1
    assert [int(v) for v in out[1:len(pairs) + 1]] == [a * b for a, b in pairs]
