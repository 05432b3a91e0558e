"""The lane-group register replicas of :mod:`fpgac.hw.fanout`: one copy per group in the
elaborated core, kept as separate flip-flops by the open flows' Yosys (which merges
identical flip-flops without the script's ``keep``), and marked ``DONT_TOUCH`` on their
``reg`` in the Verilog that Vivado reads."""

from __future__ import annotations

import dataclasses
import re

import pytest
from amaranth.back import rtlil, verilog
from amaranth.hdl import Module, Signal
from ecp5_synth import synth_ecp5

from fpgac.boards.tools import YOSYS_NAMES, platform_overrides
from fpgac.compiler.plan import plan_hardware
from fpgac.hw import fanout
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model


@pytest.mark.parametrize("pes,lanes,want", [(1, 8, 1), (8, 8, 1), (9, 8, 2), (64, 8, 8),
                                            (5, 2, 3)])
def test_groups_cover_every_lane(pes, lanes, want):
    model = random_model(5)
    plan = dataclasses.replace(plan_hardware(model, pes=2, pixel_lut=pixel_table(model)),
                               pes=pes, fanout_lanes=lanes)
    assert fanout.groups(plan) == want
    assert sorted({fanout.lane_group(plan, p) for p in range(pes)}) == list(range(want))


def test_open_flows_run_the_keep_script():
    for flow in ("ecp5", "ice40"):
        script = platform_overrides(flow)["script_after_read"].splitlines()
        assert script == [*fanout.YOSYS_KEEP.splitlines(), YOSYS_NAMES]
    # a loaded weight store adds the SPRAM initialiser removal after them (it used to replace
    # them: the iCEBreaker's LeNet-5 build ran without keep and private names)
    from fpgac.hw.bank import SPRAM_SCRIPT

    script = platform_overrides("ice40", loaded=True)["script_after_read"].splitlines()
    assert script == [*fanout.YOSYS_KEEP.splitlines(), YOSYS_NAMES, SPRAM_SCRIPT]


#: Yosys command counting the flip-flops that drive a replica's wire.
_COUNT_KEPT = f"tee -o kept.txt select -count w:*_{fanout.TAG}* %ci1:+[Q] t:TRELLIS_FF %i"


def _kept(tmp_path) -> int:
    return int(re.search(r"(\d+) objects", (tmp_path / "kept.txt").read_text()).group(1))


def _replicas():
    """A module whose 4 replicas of one 8-bit register feed 4 outputs: ``(m, ports)``."""
    model = random_model(5)
    plan = dataclasses.replace(plan_hardware(model, pes=2, pixel_lut=pixel_table(model)),
                               pes=4, fanout_lanes=1)
    m = Module()
    a = Signal(8)
    outs = [Signal(8, name=f"o{i}") for i in range(4)]
    reps = fanout.replicate(m, plan, "row", a)
    assert [r.name for r in reps] == [f"row_{fanout.TAG}{g}" for g in range(4)]
    for o, r in zip(outs, reps):
        m.d.comb += o.eq(r)
    return m, [a, *outs]


def _ffs(script: str, tmp_path) -> int:
    """TRELLIS_FF count of :func:`_replicas` after ``script`` and ``synth_ecp5``."""
    m, ports = _replicas()
    synth_ecp5(tmp_path, "t", rtlil.convert(m, ports=ports), script, "tee -o stat.txt stat")
    return int(re.search(r"(\d+)\s+TRELLIS_FF", (tmp_path / "stat.txt").read_text()).group(1))


def test_yosys_keeps_the_replicas_only_with_the_script(tmp_path):
    assert _ffs("", tmp_path) == 8                  # merged into one register
    assert _ffs(fanout.YOSYS_KEEP, tmp_path) == 32  # four
    # the open flows' whole script (with the private names of ``boards.tools.YOSYS_NAMES``)
    assert _ffs(platform_overrides("ecp5")["script_after_read"], tmp_path) == 32


def test_vivado_sees_dont_touch_on_every_replica_register():
    m, ports = _replicas()
    text = verilog.convert(m, ports=ports)
    kept = re.findall(r'\(\* DONT_TOUCH = "TRUE" \*\)\s*(?:\(\*[^)]*\*\)\s*)*'
                      r'(?:output\s+\[7:0\]\s+\w+;\s*)?reg \[7:0\] (\w+)', text)
    assert len(set(kept)) == 4, text


def test_every_bank_keeps_its_own_input_register(tmp_path):
    """The banks' input registers of the step flags, ``wz`` and ``cmd`` (the same values in
    every bank here) are replicas: with the open flows' script Yosys keeps one per bank (three
    banks: 3 x (4 flags + 4 bits of ``wz`` + 2 of ``cmd``)), without it merges them into one
    (the ULX3S P = 64 routes' worst paths were one merged ``group_first0`` reaching all 64
    banks, and bank 3's ``cmd0`` feeding bank 6)."""
    from fpgac.compiler.passes.encode_weights import encode_list
    from fpgac.hw.bank import WeightBank

    def netlist_ffs(script: str) -> int:
        m = Module()
        ins = {n: Signal(name=n) for n in ("restart", "step", "pass_first", "group_first")}
        wz = Signal(4, name="wz")
        cmd = Signal(2, name="cmd")
        outs = []
        for k in range(3):
            entries = encode_list([(5 + k, 0), (7, 3), (1, 9 + k)], 3, 2)
            bank = WeightBank(entries=entries, wraw_bits=4, gap_bits=2, has_last=True,
                              w_bits=5, tap_bits=6)
            m.submodules[f"bank{k}"] = bank
            m.d.comb += [getattr(bank, n).eq(v) for n, v in ins.items()]
            m.d.comb += [bank.wz.eq(wz), bank.cmd.eq(cmd)]
            d = Signal(5, name=f"d{k}")
            m.d.comb += d.eq(bank.d)
            outs.append(d)
        synth_ecp5(tmp_path, "b", rtlil.convert(m, ports=[*ins.values(), wz, cmd, *outs]),
                   script, _COUNT_KEPT)
        return _kept(tmp_path)

    kept = netlist_ffs(platform_overrides("ecp5")["script_after_read"])
    merged = netlist_ffs("")
    assert kept == 3 * (4 + 4 + 2), kept             # 4 flags, wz and cmd, per bank
    assert merged == 4 + 4 + 2, merged               # one copy for all banks


def test_controller_keeps_two_copies_of_issue_and_its_flags(tmp_path):
    """The controller's ``issue`` and the flags ``e0``, ``p0``, ``elast``, ``il`` are each
    kept twice in synthesis (one copy for the issue decision, one for the enables, the stage-1
    registers and the banks, ``hw/controller.py``), plus the registered ``group_first`` and
    the banks' ``restart``: 12 flip-flops on replica wires with the open flows' script;
    without it Yosys merges each pair into one (7). The decision's copies of the group
    records' flags (``dcur``, ``dnxt``) are kept the same way."""
    from fpgac.hw.controller import Controller

    model = random_model(5)
    plan = plan_hardware(model, pes=4, pixel_lut=pixel_table(model))

    il = rtlil.convert(Controller(plan), name="top")

    def kept(script: str, wires: str = f"w:*_{fanout.TAG}*") -> int:
        synth_ecp5(tmp_path, "c", il, script, _COUNT_KEPT.replace(f"w:*_{fanout.TAG}*", wires))
        return _kept(tmp_path)

    decided = f"w:dcur_{fanout.TAG}* w:dnxt_{fanout.TAG}* %u"
    ours = platform_overrides("ecp5")["script_after_read"]
    # + the decision's copies of the records' flags (dcur, dnxt: the 8 bits this model does
    # not hold constant), kept apart from ``cur`` / ``nxt``
    assert kept(ours, decided) == 8
    assert kept(ours) == 12 + 8
    assert kept(YOSYS_NAMES) == 7 + 7       # (abc9 needs the private names in either case)


def test_writer_keeps_a_lane_select_copy_per_multiplexer(tmp_path):
    """The writer's first-stage lane multiplexers (8 lanes each) read copies of the lane
    counter's low bits of their own: at P = 20, 3 multiplexers x 3 bits = 9 flip-flops on
    replica wires with the open flows' script, merged back into one copy's 3 without it."""
    from fpgac.hw.writer import Writer

    model = random_model(5)
    plan = plan_hardware(model, pes=20, pixel_lut=pixel_table(model))
    assert Writer.LANE_GROUP == 8
    il = rtlil.convert(Writer(plan), name="top")

    def kept(script: str) -> int:
        synth_ecp5(tmp_path, "w", il, script,
                   _COUNT_KEPT.replace(f"w:*_{fanout.TAG}*", f"w:lane_{fanout.TAG}*"))
        return _kept(tmp_path)

    assert kept(platform_overrides("ecp5")["script_after_read"]) == 9
    assert kept(YOSYS_NAMES) == 3


def test_controller_replicas_take_the_reset_on_their_own_pin(tmp_path):
    """Every replica flip-flop of the controller (all 12 have a reset) gets the domain reset on
    its ECP5 ``LSR`` pin with the open flows' script, and no LUT in front of a replica reads
    the reset. Without the script's ``opt_dff`` step (the ``keep`` alone, as before) the
    replicas read it through LUTs that ABC shares between the copies (the ULX3S P = 64
    routes' worst paths: the reset -> one LUT of ``s3_valid`` and the reset -> all eight
    ``advance`` replicas)."""
    import json

    from fpgac.hw.controller import Controller

    model = random_model(5)
    plan = plan_hardware(model, pes=4, pixel_lut=pixel_table(model))
    il = rtlil.convert(Controller(plan), name="top")
    tags = tuple(f"_{fanout.TAG}{g}" for g in range(2))

    def replicas(script: str) -> list[tuple[bool, bool]]:
        """(reset on LSR, a LUT reading the reset drives D) of every replica flip-flop."""
        synth_ecp5(tmp_path, "c", il, script, "write_json c.json")
        top = json.loads((tmp_path / "c.json").read_text())["modules"]["top"]
        names: dict[int, set[str]] = {}
        for name, net in top["netnames"].items():
            for bit in net["bits"]:
                names.setdefault(bit, set()).add(name)
        rst = top["netnames"]["rst"]["bits"][0]
        lut_reads_rst = {c["connections"]["Z"][0] for c in top["cells"].values()
                         if c["type"] == "LUT4"
                         and rst in (c["connections"][p][0] for p in "ABCD")}
        out = []
        for cell in top["cells"].values():
            if cell["type"] != "TRELLIS_FF":
                continue
            q = cell["connections"]["Q"][0]
            if any(n.endswith(tags) for n in names.get(q, ())):
                out.append((cell["connections"].get("LSR") == [rst],
                            cell["connections"]["DI"][0] in lut_reads_rst))
        return out

    script = platform_overrides("ecp5")["script_after_read"]
    assert replicas(script) == [(True, False)] * 12
    before = replicas(script.replace(fanout.YOSYS_KEEP, fanout.YOSYS_KEEP.splitlines()[-1]))
    assert len(before) == 12 and sum(lsr for lsr, _ in before) < 12
    assert any(reads for _, reads in before)


@pytest.mark.parametrize("body", [None, 32])
def test_activation_memory_write_enable_is_kept_per_group(tmp_path, body):
    """The activation memory's write port is a register per group of ``fanout_lanes`` copies
    (``hw/io.py``): 5 copies in groups of 2 keep 3 write-enable flip-flops (a split copy: 3
    for the body and 3 for the tail) with the open flows' script; without it Yosys merges
    them into one (two)."""
    from fpgac.hw.io import ActivationMemory

    dut = ActivationMemory(init=list(range(36)), pes=5, act_bits=8, addr_bits=6, body=body,
                           fanout_lanes=2)
    il = rtlil.convert(dut, name="top")
    count = f"tee -o kept.txt select -count w:mem_we*_{fanout.TAG}* %ci1:+[Q] t:TRELLIS_FF %i"

    def kept(script: str) -> int:
        synth_ecp5(tmp_path, "m", il, script, count)
        return _kept(tmp_path)

    parts = 1 if body is None else 2
    assert kept(platform_overrides("ecp5")["script_after_read"]) == 3 * parts
    assert kept(YOSYS_NAMES) == parts
