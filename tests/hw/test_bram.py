# amaranth: UnusedElaboratable=no
""":class:`fpgac.hw.bram.RegisteredReadMemory`: the word two cycles after its address, from a
fabric register (Amaranth simulator) or from the ECP5 ``DP16KD``'s own output register: the
contents' layout and the pins against Yosys's own mapping of an inferred memory
(``synth_ecp5``), the instance's timing against a model of the primitive (Icarus,
``boards/lint/primitives.v``), and what synthesis leaves of the activation memory."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from amaranth.back import rtlil, verilog
from amaranth.hdl import Module, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from ecp5_synth import run_with_primitives, synth_ecp5
from fpgac.hw.amsim import run_testbench
from fpgac.hw.bram import (DP16KD_MODES, RegisteredReadMemory, dp16kd_initvals,
                           dp16kd_width)
from fpgac.hw.io import ActivationMemory

ECP5 = SimpleNamespace(family="ecp5")


def _words(width, depth, seed):
    rng = np.random.default_rng(seed)
    words = [int(v) for v in rng.integers(0, 1 << width, depth)]
    words[:2] = [0, (1 << width) - 1]
    return words


def test_modes():
    assert dp16kd_width(8, 2048) == 9
    assert dp16kd_width(9, 2048) == 9
    assert dp16kd_width(8, 2049) is None
    assert dp16kd_width(4, 4096) == 4
    assert dp16kd_width(3, 3000) == 4
    assert dp16kd_width(4, 4097) is None
    assert dp16kd_width(10, 100) is None
    with pytest.raises(ValueError, match="init: expected at most 2048 words of 9 bits"):
        dp16kd_initvals([0] * 2049, 9)
    with pytest.raises(ValueError, match=r"found 2 words in \[0, 16\]"):
        dp16kd_initvals([0, 16], 4)


class _Inferred(wiring.Component):
    """An inferred one-write, one-read memory (what Yosys maps by itself)."""

    def __init__(self, width, init):
        self._width, self._init = width, init
        abits = (len(init) - 1).bit_length()
        super().__init__({"wa": In(unsigned(abits)), "wd": In(unsigned(width)), "we": In(1),
                          "ra": In(unsigned(abits)), "rd": Out(unsigned(width))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = memory.Memory(shape=unsigned(self._width),
                                               depth=len(self._init), init=self._init)
        wp, rp = mem.write_port(), mem.read_port()
        m.d.comb += [wp.en.eq(self.we), wp.addr.eq(self.wa), wp.data.eq(self.wd),
                     rp.addr.eq(self.ra), self.rd.eq(rp.data)]
        return m


def _dp16kd(tmp_path, name, dut, platform):
    synth_ecp5(tmp_path, name, rtlil.convert(dut, name="top", platform=platform), "",
               f"write_json {name}.json")
    top = json.loads((tmp_path / f"{name}.json").read_text())["modules"]["top"]
    cells = list(top["cells"].values())
    bits = {}                                  # net bit -> (port, index) of top's ports
    for port, desc in top["ports"].items():
        for i, b in enumerate(desc["bits"]):
            bits[b] = (port, i)
    return cells, bits


def _pins(cell, bits, prefix, count):
    """What drives / reads each of a DP16KD's ``prefix`` pins: a top port bit or a constant."""
    out = []
    for i in range(count):
        (b,) = cell["connections"][f"{prefix}{i}"]
        out.append(bits.get(b, "net") if isinstance(b, int) else b)
    return out


@pytest.mark.parametrize("width,depth", [(8, 2048), (9, 1500), (4, 4096)])
def test_instance_matches_yosys_mapping_of_an_inferred_memory(tmp_path, width, depth):
    """Yosys's own DP16KD for an inferred memory and the instance agree on the mode, every
    ``INITVAL`` and the pins of the write address, write data and read address (the read data
    of Yosys's passes its forwarding logic, so only the instance's is checked: the low
    ``width`` bits of ``DOB`` to ``rd_data``)."""
    init = _words(width, depth, width * depth)
    ref_cells, ref_bits = _dp16kd(tmp_path, "ref", _Inferred(width, init), None)
    (ref,) = [c for c in ref_cells if c["type"] == "DP16KD"]
    dut = RegisteredReadMemory(width=width, depth=depth, init=init)
    assert dut.instance_mode(ECP5) == dp16kd_width(width, depth)
    cells, bits = _dp16kd(tmp_path, "inst", dut, ECP5)
    assert [c["type"] for c in cells] == ["DP16KD"]          # nothing else: no fabric logic
    (inst,) = cells
    mode = dut.instance_mode(ECP5)
    for key in ("DATA_WIDTH_A", "DATA_WIDTH_B"):
        assert int(ref["parameters"][key], 2) == int(inst["parameters"][key], 2) == mode
    for i in range(64):
        key = f"INITVAL_{i:02X}"
        assert int(inst["parameters"][key], 2) == int(ref["parameters"][key], 2), key
    assert inst["parameters"]["REGMODE_B"] == "OUTREG"
    assert ref["parameters"]["REGMODE_B"] == "NOREG"
    # Yosys drives the write pins from its forwarding registers, so its read address is the
    # reference for the pin positions; the write address and data use the same positions
    pins = _pins(ref, ref_bits, "ADB", 14)

    def port(name):                  # the reference's read-address pins, renamed to `name`
        return [(name, p[1]) if isinstance(p, tuple) and p[0] == "ra" else p for p in pins]

    assert _pins(inst, bits, "ADB", 14) == port("rd_addr")
    assert _pins(inst, bits, "ADA", 14) == port("wr_addr")
    assert [p == "0" for p in _pins(ref, ref_bits, "ADA", 14)] == [p == "0" for p in pins]
    assert _pins(inst, bits, "DIA", 18) == [("wr_data", i) for i in range(width)] + [
        "0"] * (18 - width)
    assert _pins(inst, bits, "DOB", width) == [("rd_data", i) for i in range(width)]


def _model_run(dut, platform, tmp_path, width, depth, steps):
    """``rd_data`` after each of ``steps`` (rd_addr, we, wa, wd), simulated by Icarus on the
    Verilog of ``dut`` for ``platform`` with the primitive models."""
    abits = max(1, (depth - 1).bit_length())
    stim = "\n".join(f"    ra = {ra}; we = {we}; wa = {wa}; wd = {wd}; @(posedge clk); "
                     f"#1 $display(\"%0d\", rd);" for ra, we, wa, wd in steps)
    return run_with_primitives(
        tmp_path, verilog.convert(dut, name="dut", platform=platform, emit_src=False), f"""
module tb;
  reg clk = 0; always #5 clk = ~clk;
  reg [{abits - 1}:0] ra, wa; reg [{width - 1}:0] wd; reg we;
  wire [{width - 1}:0] rd;
  dut d(.clk(clk), .rst(1'b0), .rd_addr(ra), .wr_en(we), .wr_addr(wa), .wr_data(wd),
        .rd_data(rd));
  initial begin
{stim}
    $finish;
  end
endmodule
""")


@pytest.mark.parametrize("width,depth,blocks", [(8, 2048, 1), (4, 4096, 1), (8, 2600, 2),
                                                (5, 4096, 2), (9, 5000, 3), (9, 2600, 2),
                                                (3, 4100, 2)])
def test_instance_reads_two_cycles_after_the_address(tmp_path, width, depth, blocks):
    """Through the instances and the primitive's model, one block or several (the overlap
    plan's 2,600-word copies): every seventh word of the init and the last readable, then
    random reads and writes; each read gives, two cycles later, the word before the writes
    applied in its cycle (no read of a word written in the same cycle)."""
    init = _words(width, depth, depth + width)
    rng = np.random.default_rng(width)
    model = list(init)
    steps, want = [], []
    for a in list(range(0, depth, 7)) + [depth - 1]:
        steps.append((a, 0, 0, 0))
        want.append(model[a])
    for _ in range(600):
        we = int(rng.random() < 0.5)
        wa, wd = int(rng.integers(0, depth)), int(rng.integers(0, 1 << width))
        ra = int(rng.integers(0, depth))
        while we and ra == wa:
            ra = int(rng.integers(0, depth))
        steps.append((ra, we, wa, wd))
        want.append(model[ra])
        if we:
            model[wa] = wd
    dut = RegisteredReadMemory(width=width, depth=depth, init=init)
    assert dut.blocks(ECP5) == blocks
    out = _model_run(dut, ECP5, tmp_path, width, depth, steps + [(0, 0, 0, 0)] * 2)
    # the value shown after edge k is the word of the address set before edge k - 1
    assert [int(v) for v in out[1:len(steps) + 1]] == want


@pytest.mark.parametrize("width,depth,slices", [(8, 2600, 2), (5, 4096, 2), (8, 2048, 1),
                                                (9, 2600, 1), (8, 4097, 1), (4, 4096, 1)])
def test_words_of_up_to_8_bits_in_two_x4_halves(tmp_path, width, depth, slices):
    """5 to 8 bits at 2,049 to 4,096 words: two x4 blocks side by side, each a 4-bit half of
    every word (write enable and address shared), so synthesis gives two DP16KD and no fabric
    cell at all (no block select); other shapes stack blocks or fit one."""
    dut = RegisteredReadMemory(width=width, depth=depth, init=_words(width, depth, 3))
    assert dut.slices(ECP5) == slices
    assert dut.slices(None) == 1
    if slices == 1:
        return
    assert dut.instance_mode(ECP5) == 4 and dut.blocks(ECP5) == 2
    cells, bits = _dp16kd(tmp_path, "halves", dut, ECP5)
    assert [c["type"] for c in cells] == ["DP16KD", "DP16KD"]
    halves = sorted(_pins(c, bits, "DOB", 4) for c in cells)
    assert halves[0] == [("rd_data", i) for i in range(4)]
    assert halves[1][:width - 4] == [("rd_data", i) for i in range(4, width)]
    for c in cells:
        assert _pins(c, bits, "ADB", 14) == _pins(cells[0], bits, "ADB", 14)
        assert c["parameters"]["DATA_WIDTH_B"] and int(c["parameters"]["DATA_WIDTH_B"], 2) == 4


def test_the_model_makes_a_same_cycle_collision_x(tmp_path):
    """The primitive's model gives X for a read of the word written in the same cycle (the
    block RAM does not define it), so a schedule that had one would fail the simulations."""
    dut = RegisteredReadMemory(width=8, depth=2048, init=[5] * 2048)
    out = _model_run(dut, ECP5, tmp_path, 8, 2048, [(3, 1, 3, 9), (0, 0, 0, 0), (0, 0, 0, 0)])
    assert out[1] == "x" and out[2] == "5"


def test_plain_register_without_the_block(tmp_path):
    """``block=False`` (the split copies' LUT-RAM tail) and other platforms infer the memory
    and register its read in the fabric: same timing in the Amaranth simulator."""
    init = _words(8, 152, 4)
    for block, platform in ((False, ECP5), (True, None), (True, SimpleNamespace(family="ice40"))):
        assert RegisteredReadMemory(width=8, depth=152, init=init,
                                    block=block).instance_mode(platform) is None
    dut = RegisteredReadMemory(width=8, depth=152, init=init, block=False)
    seen = []

    async def bench(ctx):
        for a in list(range(152)) + [0, 0]:
            ctx.set(dut.rd_addr, a)
            seen.append(ctx.get(dut.rd_data))
            await ctx.tick()

    run_testbench(dut, bench)
    assert seen[2:] == init


def test_split_activation_copies_on_ecp5(tmp_path):
    """LeNet-5's copy shape (2,048 + 152 words of 8 bits), two copies: two DP16KD with their
    output registers and the tails in LUT RAM; the inferred layout instead keeps the read
    data registers (and Yosys's forwarding logic) in the fabric."""
    init = _words(8, 2200, 9)
    counts = {}
    for name, platform in (("ecp5", ECP5), ("plain", None)):
        cells, _ = _dp16kd(tmp_path, name, ActivationMemory(
            init=init, pes=2, act_bits=8, addr_bits=12, body=2048), platform)
        types = [c["type"] for c in cells]
        counts[name] = {t: types.count(t) for t in set(types)}
        brams = [c for c in cells if c["type"] == "DP16KD"]
        assert len(brams) == 2
        assert {c["parameters"]["REGMODE_B"] for c in brams} == (
            {"OUTREG"} if platform else {"NOREG"})
        assert counts[name].get("TRELLIS_DPR16X4", 0) > 0            # the tails
    assert counts["ecp5"]["TRELLIS_FF"] < counts["plain"]["TRELLIS_FF"]
    assert counts["ecp5"].get("LUT4", 0) < counts["plain"].get("LUT4", 0)
    assert sorted(DP16KD_MODES) == [4, 9]
