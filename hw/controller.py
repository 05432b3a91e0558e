"""The controller: runs the program of groups, issuing one lockstep step per cycle."""

from __future__ import annotations

from amaranth.hdl import Module, Shape, Signal, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.compiler.plan import Group
from fpgac.hw.checks import check_unsigned

__all__ = ["Controller"]


class Controller(wiring.Component):
    """Sequencer of the program (``docs/architecture.md``, "Program").

    After ``start`` (cycle ``c``), steps issue from cycle ``c + 1``. In the cycle a step issues
    (``issue``), ``pass_first`` (first step of a phase), ``group_first`` (of a group),
    ``bank_cmd`` (the group's command per
    bank), ``wz`` drive the weight banks and ``row_addr = table_row``, ``sel_addr = sel_row``
    the synchronous table read ports; the step itself appears one cycle later on the ``s1_*``
    outputs, with its group context (``s1_out_base``, ``s1_count``, ``s1_layer``,
    ``s1_final``) for the writer.

    Waits (see :mod:`fpgac.compiler.analysis.cycles`):

    * *layer barrier*: the first step of a layer's first group waits until ``idle`` (nothing in
      flight downstream except the final write) and no step is in stage 1;
    * *hazard*: the last step of a group waits until ``n_valid`` of the previous group's last
      step cycles have passed since that step issued.

    After the last group it waits for ``idle`` and pulses ``done``. ``busy`` is high from
    ``start`` to ``done``.
    """

    def __init__(self, *, program: tuple[Group, ...], phase_table: tuple[int, ...],
                 act_bits: int, addr_bits: int, row_bits: int, idx_bits: int,
                 pes: int, layers: int, banks: int, wraw_bits: int, sel_row_bits: int):
        self._program = tuple(program)
        self._phase_table = tuple(phase_table)
        self._addr_bits = int(addr_bits)
        self._banks = int(banks)
        big = max(g.count for g in self._program)
        self._group = data.StructLayout({
            "count_m1": unsigned(unsigned_bits(big - 1)),
            "phases_m1": unsigned(unsigned_bits(max(g.phases for g in self._program) - 1)),
            "phase_base": unsigned(unsigned_bits(len(self._phase_table) - 1)),
            "table_row": unsigned(row_bits),
            "sel_row": unsigned(sel_row_bits),
            "wz": unsigned(wraw_bits),
            "out_base": unsigned(idx_bits),
            "n_valid": unsigned(unsigned_bits(pes)),
            "layer_first": 1,
            "inz": unsigned(act_bits),
            "final": 1,
            "layer": unsigned(unsigned_bits(layers - 1)),
        })
        g = self._group
        super().__init__({
            "start": In(1),
            "idle": In(1),
            "issue": Out(1), "pass_first": Out(1), "group_first": Out(1),
            "bank_cmd": Out(data.ArrayLayout(unsigned(2), self._banks)),
            "wz": Out(unsigned(wraw_bits)),
            "row_addr": Out(unsigned(row_bits)),
            "sel_addr": Out(unsigned(sel_row_bits)),
            "s1_valid": Out(1), "s1_first": Out(1), "s1_last": Out(1), "s1_phase0": Out(1),
            "s1_latch": Out(1),
            "s1_inz": Out(unsigned(act_bits)),
            "s1_phase_off": Out(unsigned(addr_bits)),
            "s1_out_base": Out(g.members["out_base"]),
            "s1_count": Out(g.members["n_valid"]),
            "s1_layer": Out(g.members["layer"]),
            "s1_final": Out(1),
            "busy": Out(1),
            "done": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        lay = self._group
        init = []
        for k, g in enumerate(self._program):
            entry = {"count_m1": g.count - 1, "phases_m1": g.phases - 1,
                     "phase_base": g.phase_base, "table_row": g.table_row,
                     "sel_row": g.sel_row, "wz": g.wz,
                     "out_base": g.out_base, "n_valid": g.n_valid,
                     "layer_first": int(g.layer_first), "inz": g.inz, "final": int(g.final),
                     "layer": g.layer}
            for key, val in entry.items():
                check_unsigned(f"program[{k}].{key}", [val],
                               Shape.cast(lay.members[key]).width)
            init.append(entry)
        m.submodules.program = prog = memory.Memory(shape=lay, depth=max(2, len(init)),
                                                     init=init)
        cmds = []
        for k, g in enumerate(self._program):
            if len(g.bank_cmd) < self._banks or any(g.bank_cmd[self._banks:]):
                raise ValueError(f"program[{k}].bank_cmd: expected commands for "
                                 f"{self._banks} banks, found {g.bank_cmd}")
            cmds.append(list(check_unsigned(f"program[{k}].bank_cmd",
                                            g.bank_cmd[:self._banks], 2)))
        m.submodules.bank_cmds = cmem = memory.Memory(
            shape=data.ArrayLayout(unsigned(2), self._banks), depth=max(2, len(cmds)),
            init=cmds)
        cp = cmem.read_port()
        m.submodules.phases = ptab = memory.Memory(
            shape=unsigned(self._addr_bits), depth=max(2, len(self._phase_table)),
            init=check_unsigned("phase_table", self._phase_table, self._addr_bits))
        rp = prog.read_port()
        pp = ptab.read_port(domain="comb")
        cur = rp.data

        running = Signal()
        draining = Signal()
        pc = Signal(range(len(init)))
        pc_next = Signal.like(pc)
        e = Signal.like(cur.count_m1)
        ph = Signal.like(cur.phases_m1)
        hz = Signal(unsigned(unsigned_bits(max(g.n_valid for g in self._program))))
        # `~x.any()`, not `x == 0`: Yosys writes the latter as `!x`, a multi-bit LOGNOT (lint)
        first_step = ~e.any() & ~ph.any()
        is_last = (e == cur.count_m1) & (ph == cur.phases_m1)
        idle = self.idle & ~self.s1_valid
        barrier = first_step & cur.layer_first & ~idle
        hazard = is_last & hz.any()
        issue = Signal()
        m.d.comb += [
            issue.eq(running & ~barrier & ~hazard),
            pc_next.eq(pc),
            rp.addr.eq(pc_next),
            cp.addr.eq(pc_next),
            self.issue.eq(issue),
            self.pass_first.eq(~e.any()),
            self.group_first.eq(first_step),
            self.bank_cmd.eq(cp.data),
            self.wz.eq(cur.wz),
            self.row_addr.eq(cur.table_row),
            self.sel_addr.eq(cur.sel_row),
            pp.addr.eq(cur.phase_base + ph),
            self.busy.eq(running | draining),
        ]
        with m.If(hz.any()):
            m.d.sync += hz.eq(hz - 1)
        m.d.sync += [
            self.s1_valid.eq(issue),
            self.s1_first.eq(~e.any()),
            self.s1_last.eq(e == cur.count_m1),
            self.s1_phase0.eq(~ph.any()),
            self.s1_latch.eq(is_last),
            self.s1_inz.eq(cur.inz),
            self.s1_phase_off.eq(pp.data),
            self.s1_out_base.eq(cur.out_base),
            self.s1_count.eq(cur.n_valid),
            self.s1_layer.eq(cur.layer),
            self.s1_final.eq(cur.final),
        ]
        with m.If(issue):
            with m.If(e == cur.count_m1):
                m.d.sync += e.eq(0)
                with m.If(ph == cur.phases_m1):
                    m.d.sync += [ph.eq(0), hz.eq(cur.n_valid - 1)]
                    with m.If(pc == len(init) - 1):
                        m.d.comb += pc_next.eq(0)
                        m.d.sync += [running.eq(0), draining.eq(1)]
                    with m.Else():
                        m.d.comb += pc_next.eq(pc + 1)
                with m.Else():
                    m.d.sync += ph.eq(ph + 1)
            with m.Else():
                m.d.sync += e.eq(e + 1)
        m.d.sync += pc.eq(pc_next)
        with m.If(draining & idle):
            m.d.comb += self.done.eq(1)
            m.d.sync += draining.eq(0)
        with m.If(self.start & ~running & ~draining):
            m.d.sync += running.eq(1)
        return m
