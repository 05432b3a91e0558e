"""The accelerator core: a ``wiring.Component`` built from a :class:`HardwarePlan` only.

Interface
---------
* ``pixels``: ``In(stream.Signature(8))``, ``C*H*W`` pixels per image in raster order
  ``(c, y, x)``; ready while the core waits for an image (not computing, no result pending).
* ``result``: ``Out(stream.Signature(result_layout))`` with ``result_layout =
  StructLayout({"klass": unsigned(class_bits), "logits": ArrayLayout(unsigned(out_bits),
  classes)})``: ``klass`` in the LSBs, logit ``i`` at bit ``class_bits + i * out_bits``.
  ``klass`` is the first maximum. Held valid until ``result.ready``.
* ``busy``: high from the first accepted pixel of an image until its result is transferred.
* with ``debug=True``: ``debug_addr`` / ``debug_data`` read lane 0's activation copy
  (synchronous, one cycle latency); meaningful while the core is idle after a result.

Timing
------
Exactly the model of :mod:`fpgac.compiler.analysis.cycles`: ``result.valid`` rises
``predict(plan).compute_cycles`` cycles after the cycle in which the last pixel is accepted.
The latencies it uses are published here: :attr:`Accelerator.rom_latency` (controller issue to
lane input), :attr:`Lane.latency <fpgac.hw.lane.Lane.latency>`,
:attr:`Writer.latency <fpgac.hw.writer.Writer.latency>`,
:attr:`ResultUnit.latency <fpgac.hw.io.ResultUnit.latency>`.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.compiler.plan import HardwarePlan
from fpgac.hw.checks import check_signed, check_unsigned
from fpgac.hw.controller import Controller
from fpgac.hw.io import ActivationMemory, PixelLoader, ResultUnit
from fpgac.hw.lane import Lane
from fpgac.hw.writer import Writer

__all__ = ["Accelerator", "result_layout"]


def result_layout(plan: HardwarePlan) -> data.StructLayout:
    """The payload layout of the ``result`` stream for ``plan``."""
    return data.StructLayout({
        "klass": unsigned(plan.class_bits),
        "logits": data.ArrayLayout(unsigned(plan.out_bits), plan.classes)})


class Accelerator(wiring.Component):
    """The whole core for one :class:`~fpgac.compiler.plan.HardwarePlan` (module docstring)."""

    def __init__(self, plan: HardwarePlan, *, debug: bool = False):
        if not isinstance(plan, HardwarePlan):
            raise TypeError(f"Accelerator: expected a HardwarePlan, found {type(plan).__name__}")
        self._plan = plan
        self._debug = bool(debug)
        ports = {
            "pixels": In(stream.Signature(8)),
            "result": Out(stream.Signature(result_layout(plan))),
            "busy": Out(1),
        }
        if self._debug:
            ports["debug_addr"] = In(unsigned(plan.addr_bits))
            ports["debug_data"] = Out(unsigned(plan.act_bits))
        super().__init__(ports)

    @property
    def plan(self) -> HardwarePlan:
        return self._plan

    @property
    def rom_latency(self) -> int:
        """Cycles from the controller issuing a step to the step reaching the lanes."""
        return 1

    @property
    def lane_latency(self) -> int:
        return Lane.LATENCY

    @property
    def writer_latency(self) -> int:
        return 3

    @property
    def result_latency(self) -> int:
        return 1

    def elaborate(self, platform):
        m = Module()
        plan = self._plan
        P = plan.pes
        entry = data.StructLayout({"d": signed(plan.w_bits), "tap": unsigned(plan.tap_bits)})
        rom_bits = unsigned_bits(max(len(plan.shared_rom), len(plan.lane_rom)))
        row_bits = unsigned_bits(len(plan.in_table) - 1)
        idx_bits = unsigned_bits(len(plan.out_table))

        m.submodules.ctrl = ctrl = Controller(
            program=plan.program, phase_table=plan.phase_table, act_bits=plan.act_bits,
            addr_bits=plan.addr_bits, rom_bits=rom_bits, row_bits=row_bits,
            idx_bits=idx_bits, pes=P, layers=len(plan.layers))
        m.submodules.mem = mem = ActivationMemory(
            init=plan.mem_init, pes=P, act_bits=plan.act_bits, addr_bits=plan.addr_bits,
            debug=self._debug)
        m.submodules.loader = loader = PixelLoader(
            lut=plan.pixel_lut, shape=plan.input_shape, offset=plan.input_offset,
            pad=plan.input_pad, act_bits=plan.act_bits, addr_bits=plan.addr_bits)
        m.submodules.writer = writer = Writer(
            out_table=plan.out_table, params=plan.requant, pes=P, acc_bits=plan.acc_bits,
            addr_bits=plan.addr_bits, bias_bits=plan.bias_bits, act_bits=plan.act_bits)
        m.submodules.result = res = ResultUnit(
            classes=plan.classes, out_bits=plan.out_bits, class_bits=plan.class_bits,
            offset=plan.final_offset, addr_bits=plan.addr_bits, act_bits=plan.act_bits)
        wiring.connect(m, wiring.flipped(self.pixels), loader.pixels)
        wiring.connect(m, res.result, wiring.flipped(self.result))
        if self._debug:
            m.d.comb += [mem.debug_addr.eq(self.debug_addr), self.debug_data.eq(mem.debug_data)]

        # ROMs and tables (synchronous reads, addressed by the controller in the issue cycle)
        d_shared = Signal(signed(plan.w_bits))
        tap_shared = Signal(unsigned(plan.tap_bits))
        if plan.shared_rom:
            check_signed("shared_rom.d", (e[0] for e in plan.shared_rom), plan.w_bits)
            check_unsigned("shared_rom.tap", (e[1] for e in plan.shared_rom), plan.tap_bits)
            m.submodules.shared_rom = srom = memory.Memory(
                shape=entry, depth=max(2, len(plan.shared_rom)),
                init=[{"d": d, "tap": t} for d, t in plan.shared_rom])
            srp = srom.read_port()
            m.d.comb += [srp.addr.eq(ctrl.rom_addr), d_shared.eq(srp.data.d),
                         tap_shared.eq(srp.data.tap)]
        row_layout = data.ArrayLayout(entry, P)
        check_signed("lane_rom.d", (e[0] for row in plan.lane_rom for e in row), plan.w_bits)
        check_unsigned("lane_rom.tap", (e[1] for row in plan.lane_rom for e in row),
                       plan.tap_bits)
        m.submodules.lane_rom = lrom = memory.Memory(
            shape=row_layout, depth=max(2, len(plan.lane_rom)),
            init=[[{"d": d, "tap": t} for d, t in row] for row in plan.lane_rom])
        lrp = lrom.read_port()
        m.d.comb += lrp.addr.eq(ctrl.rom_addr)
        m.submodules.in_table = itab = memory.Memory(
            shape=data.ArrayLayout(unsigned(plan.addr_bits), P),
            depth=max(2, len(plan.in_table)),
            init=[check_unsigned(f"in_table[{r}]", row, plan.addr_bits)
                  for r, row in enumerate(plan.in_table)])
        irp = itab.read_port()
        m.d.comb += irp.addr.eq(ctrl.row_addr)

        # lanes
        lanes = []
        for p in range(P):
            lane = Lane(act_bits=plan.act_bits, w_bits=plan.w_bits, tap_bits=plan.tap_bits,
                        addr_bits=plan.addr_bits, acc_bits=plan.acc_bits)
            m.submodules[f"lane{p}"] = lane
            lanes.append(lane)
            m.d.comb += [
                lane.valid.eq(ctrl.s1_valid), lane.first.eq(ctrl.s1_first),
                lane.last.eq(ctrl.s1_last), lane.phase0.eq(ctrl.s1_phase0),
                lane.latch.eq(ctrl.s1_latch), lane.inz.eq(ctrl.s1_inz),
                lane.d.eq(Mux(ctrl.s1_lanes, lrp.data[p].d, d_shared)),
                lane.tap.eq(Mux(ctrl.s1_lanes, lrp.data[p].tap, tap_shared)),
                lane.in_base.eq(irp.data[p]), lane.phase_off.eq(ctrl.s1_phase_off),
                mem.rd_addr[p].eq(lane.rd_addr), lane.rd_data.eq(mem.rd_data[p]),
                writer.lanes[p].eq(lane.result),
            ]

        # group context follows the step to stage 3, where the lanes latch
        ctx = [ctrl.s1_latch & ctrl.s1_valid, ctrl.s1_out_base, ctrl.s1_count, ctrl.s1_layer,
               ctrl.s1_final]
        for _ in range(self.lane_latency - 1):
            nxt = [Signal.like(s) if isinstance(s, Signal) else Signal() for s in ctx]
            m.d.sync += [n.eq(s) for n, s in zip(nxt, ctx)]
            ctx = nxt
        m.d.comb += [writer.start.eq(ctx[0]), writer.start_base.eq(ctx[1]),
                     writer.start_count.eq(ctx[2]), writer.start_layer.eq(ctx[3]),
                     writer.start_final.eq(ctx[4])]
        m.d.comb += ctrl.idle.eq(~lanes[0].busy & ~writer.busy)

        # the one write port: loader while loading, writer while computing
        with m.If(loader.wr_en):
            m.d.comb += [mem.wr_en.eq(1), mem.wr_addr.eq(loader.wr_addr),
                         mem.wr_data.eq(loader.wr_data)]
        with m.Else():
            m.d.comb += [mem.wr_en.eq(writer.wr_en), mem.wr_addr.eq(writer.wr_addr),
                         mem.wr_data.eq(writer.wr_data)]
        m.d.comb += [
            res.wr_en.eq(writer.wr_en), res.wr_final.eq(writer.wr_final),
            res.wr_addr.eq(writer.wr_addr), res.wr_data.eq(writer.wr_data),
            res.done.eq(ctrl.done),
            ctrl.start.eq(loader.last),
            loader.enable.eq(~ctrl.busy & ~res.result.valid),
            self.busy.eq(loader.busy | ctrl.busy | res.result.valid),
        ]
        return m
