"""The accelerator core: a ``wiring.Component`` built from a :class:`HardwarePlan` only.

Interface
---------
* ``pixels``: ``In(stream.Signature(8))``, ``C*H*W`` pixels per image in raster order
  ``(c, y, x)``; ready while the core waits for an image (not computing, no result pending),
  after the loader has written the input map's pad cells (``plan.input_fill`` cycles; 0
  unless the activation regions are reused over the input map). With ``plan.overlap`` the
  next image's pixels (all but its last) are also taken while the current image computes,
  from the cycle after layer 1's first issue, in the cycles the writer leaves the activation
  memory's write port free; the last one when the core is idle (the result taken).
* ``result``: ``Out(stream.Signature(result_layout))`` with ``result_layout =
  StructLayout({"klass": unsigned(class_bits), "logits": ArrayLayout(unsigned(out_bits),
  classes)})``: ``klass`` in the LSBs, logit ``i`` at bit ``class_bits + i * out_bits``.
  ``klass`` is the first maximum. Held valid until ``result.ready``.
* ``busy``: high from the first accepted pixel of an image until its result is transferred.
* with ``debug=True``: ``debug_addr`` / ``debug_data`` read lane 0's activation copy
  (synchronous, one cycle latency); meaningful while the core is idle after a result.
* with ``plan.weight_store == "loaded"`` (weight banks in RAM, written at run time):
  ``weights``: ``In(stream.Signature(8))``, the bytes of the weight image
  (:func:`fpgac.compiler.passes.weight_image.weight_image`, always ready; only while the core
  is idle); ``weights_start``: a strobe before the image's first byte; ``weights_done``: every
  entry has been written; ``weights_ok``: the harness vouches for the written image (its
  checksum matched): ``pixels.ready`` stays low without it.

Timing
------
Exactly the model of :mod:`fpgac.compiler.analysis.cycles`: ``result.valid`` rises
``predict(plan).compute_cycles`` cycles after the cycle in which the last pixel is accepted;
back to back (pixels always valid, result always ready) one image starts every
``predict(plan).interval_cycles``.
The latencies it uses are published here: :attr:`Accelerator.rom_latency` (controller issue to
lane input), :attr:`Lane.latency <fpgac.hw.lane.Lane.latency>`,
:attr:`Writer.latency <fpgac.hw.writer.Writer.latency>`, :attr:`Accelerator.tree_latency`
(the slice adder tree between the lanes and the writer, 0 without sliced layers),
:attr:`ResultUnit.latency <fpgac.hw.io.ResultUnit.latency>`,
:attr:`Accelerator.write_latency` (the activation memory's registered write port).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgac.compiler.plan import HardwarePlan
from fpgac.hw.bank import WeightBank, WeightLoader, bank_rom
from fpgac.hw.cases import full_case
from fpgac.hw.checks import check_unsigned
from fpgac.hw.controller import Controller
from fpgac.hw.fanout import groups, lane_group, replicate
from fpgac.hw.io import ActivationMemory, PixelLoader, ResultUnit
from fpgac.hw.lane import Lane
from fpgac.hw.tree import SliceTree, tree_stages
from fpgac.hw.windows import LaneWindows
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
        if plan.weight_store == "loaded":
            ports.update({"weights": In(stream.Signature(8)), "weights_start": In(1),
                          "weights_done": Out(1), "weights_ok": In(1)})
        super().__init__(ports)

    @property
    def plan(self) -> HardwarePlan:
        return self._plan

    @property
    def rom_latency(self) -> int:
        """Cycles from the controller issuing a step to the step reaching the lanes."""
        return WeightBank.LATENCY

    @property
    def lane_latency(self) -> int:
        return Lane.LATENCY

    @property
    def writer_latency(self) -> int:
        return Writer.LATENCY

    @property
    def result_latency(self) -> int:
        """The last logit write -> ``result.valid``: the controller's ``done`` (registered
        ``idle``), then the result unit's register."""
        return Controller.DONE_LATENCY + ResultUnit.LATENCY

    @property
    def tree_latency(self) -> int:
        """The slice adder tree's stages (:mod:`fpgac.hw.tree`; 0: no sliced layer)."""
        return tree_stages(self._plan)

    @property
    def group_latency(self) -> int:
        """Fewest cycles between two groups' last steps (the controller's)."""
        return Controller.GROUP_LATENCY

    @property
    def barrier_latency(self) -> int:
        """A layer's last write -> the next layer's first issue (the controller's)."""
        return Controller.BARRIER_LATENCY

    @property
    def write_latency(self) -> int:
        """A write on the activation memory's port -> the copies (its replicated register)."""
        return ActivationMemory.write_latency

    def elaborate(self, platform):
        m = Module()
        plan = self._plan
        for name in ("rom", "lane", "writer", "result", "barrier", "group", "tree", "write"):
            if getattr(plan, f"{name}_latency") != getattr(self, f"{name}_latency"):
                raise ValueError(f"plan.{name}_latency: expected "
                                 f"{getattr(self, f'{name}_latency')} (this core), found "
                                 f"{getattr(plan, f'{name}_latency')}")
        m.submodules.ctrl = ctrl = Controller(plan)
        m.submodules.mem = mem = ActivationMemory(
            init=plan.mem_init, pes=plan.pes, act_bits=plan.act_bits, addr_bits=plan.addr_bits,
            debug=self._debug, body=plan.act_body or None, fanout_lanes=plan.fanout_lanes)
        assert mem.read_latency == Lane.READ_LATENCY      # the lane's read register is the memory's
        m.submodules.loader = loader = PixelLoader(
            lut=plan.pixel_lut, shape=plan.input_shape, offset=plan.input_offset,
            pad=plan.input_pad, act_bits=plan.act_bits, addr_bits=plan.addr_bits,
            fill=plan.input_fill, fill_value=plan.input_zero,
            fill_first=plan.input_fill_first, overlap=plan.overlap)
        m.submodules.writer = writer = Writer(plan)
        m.submodules.windows = wins = LaneWindows(plan)
        m.submodules.result = res = ResultUnit(
            classes=plan.classes, out_bits=plan.out_bits, class_bits=plan.class_bits,
            offset=plan.final_offset, addr_bits=plan.addr_bits, act_bits=plan.act_bits)
        wiring.connect(m, wiring.flipped(self.pixels), loader.pixels)
        wiring.connect(m, res.result, wiring.flipped(self.result))
        if self._debug:
            m.d.comb += [mem.debug_addr.eq(self.debug_addr), self.debug_data.eq(mem.debug_data)]
        banks = self._banks(m, ctrl)
        s2, sel2, in_flight = self._stage2(m, ctrl, wins)
        tree = None
        if self.tree_latency:
            m.submodules.tree = tree = SliceTree(plan)
            m.d.comb += writer.lanes.eq(tree.sums)
        lanes = self._lanes(m, banks, s2, sel2, wins, mem, tree.lanes if tree else writer.lanes)
        in_flight += self._writer_start(m, ctrl, writer, tree)
        m.d.comb += ctrl.idle.eq(~Cat(*in_flight).any() & ~lanes[0].busy & ~writer.busy)

        self._write_port(m, mem, loader, writer)
        idle = ~ctrl.busy & ~res.pending & (
            self.weights_ok if plan.weight_store == "loaded" else 1)
        if plan.overlap:
            self._overlap_enable(m, ctrl, loader, writer, idle)
        else:
            m.d.comb += loader.enable.eq(idle)
        m.d.comb += [
            res.wr_en.eq(writer.wr_en), res.wr_final.eq(writer.wr_final),
            res.wr_addr.eq(writer.wr_addr), res.wr_data.eq(writer.wr_data),
            res.done.eq(ctrl.done),
            ctrl.start.eq(loader.last),
            self.busy.eq(loader.busy | ctrl.busy | res.pending),
        ]
        return m

    def _write_port(self, m, mem, loader, writer) -> None:
        """The one write port of the activation copies: without overlap the loader while
        loading, the writer while computing (never both); with overlap the writer has priority
        and the loader writes in the other cycles (its ``grant``)."""
        first, second = (writer, loader) if self._plan.overlap else (loader, writer)
        with m.If(first.wr_en):
            m.d.comb += [mem.wr_en.eq(1), mem.wr_addr.eq(first.wr_addr),
                         mem.wr_data.eq(first.wr_data)]
        with m.Else():
            m.d.comb += [mem.wr_en.eq(second.wr_en), mem.wr_addr.eq(second.wr_addr),
                         mem.wr_data.eq(second.wr_data)]

    def _overlap_enable(self, m, ctrl, loader, writer, idle) -> None:
        """``plan.overlap``: the loader takes pixels while the core is idle and, during a
        compute, from the cycle after a step of layer 1 or later is on the controller's
        stage-1 outputs (two cycles after layer 1's first issue: every layer-0 read is done,
        and only layer 0 reads the input map; ``free``, a register, so that no path runs from
        the controller's stage 1 through the loader's ``ready``) until the next start; it
        takes the last pixel (the start) only while idle (no compute, no result pending), and
        writes only in cycles without a writer write (:mod:`fpgac.compiler.analysis.cycles`,
        "Back to back")."""
        free = Signal()
        later = ctrl.s1_valid & ctrl.s1_layer.any()
        with m.If(loader.last):
            m.d.sync += free.eq(0)
        with m.Elif(later):
            m.d.sync += free.eq(1)
        # the writer writes only while the controller is busy (it is until the last write):
        # gating with busy keeps an undefined wr_en out of the idle loader in 4-state
        # simulators (Icarus shows X on the writer's valid chain after reset)
        m.d.comb += [loader.enable.eq(idle | free), loader.last_ok.eq(idle),
                     loader.grant.eq(~(writer.wr_en & ctrl.busy))]

    def _banks(self, m, ctrl) -> list:
        """The weight banks (issue cycle in, decoded entries ``rom_latency`` later); with
        ``bank_ports == 2`` banks ``2i`` and ``2i + 1`` share one two-read-port ROM."""
        plan = self._plan
        nbanks = len(plan.banks)
        banks = []
        ports = [None] * nbanks
        bases = [0] * nbanks
        lasts = list(plan.bank_last)
        if plan.bank_ports == 2:
            for k in range(0, nbanks - 1, 2):
                has_last = plan.bank_last[k] or plan.bank_last[k + 1]
                rom = bank_rom(plan.banks[k] + plan.banks[k + 1], wraw_bits=plan.wraw_bits,
                               gap_bits=plan.gap_bits, has_last=has_last)
                m.submodules[f"bank_rom{k}_{k + 1}"] = rom
                ports[k], ports[k + 1] = rom.read_port(), rom.read_port()
                bases[k + 1] = len(plan.banks[k])
                lasts[k] = lasts[k + 1] = has_last
        for k, entries in enumerate(plan.banks):
            bank = WeightBank(entries=entries, wraw_bits=plan.wraw_bits,
                              gap_bits=plan.gap_bits, has_last=lasts[k],
                              w_bits=plan.w_bits, tap_bits=plan.tap_bits, port=ports[k],
                              base=bases[k], loaded=plan.weight_store == "loaded")
            m.submodules[f"bank{k}"] = bank
            banks.append(bank)
            m.d.comb += [bank.step.eq(ctrl.issue), bank.pass_first.eq(ctrl.pass_first),
                         bank.group_first.eq(ctrl.group_first), bank.restart.eq(ctrl.restart),
                         bank.cmd.eq(ctrl.bank_cmd[k]), bank.wz.eq(ctrl.wz)]
        if plan.weight_store == "loaded":
            self._weight_loader(m, banks)
        return banks

    def _weight_loader(self, m, banks) -> None:
        """The loaded store: the weight image's bytes -> :class:`WeightLoader` -> the banks'
        write ports."""
        plan = self._plan
        m.submodules.wloader = wl = WeightLoader(
            sizes=[len(b) for b in plan.banks], entry_bytes=plan.weight_entry_bytes,
            width=plan.wraw_bits + plan.gap_bits + 1)
        wiring.connect(m, wiring.flipped(self.weights), wl.data)
        m.d.comb += [wl.start.eq(self.weights_start), self.weights_done.eq(wl.done)]
        for k, bank in enumerate(banks):
            m.d.comb += [bank.wr_en.eq(wl.wr_en[k]), bank.wr_addr.eq(wl.wr_addr),
                         bank.wr_data.eq(wl.wr_data)]

    def _stage2(self, m, ctrl, wins):
        """The step at the lane inputs (aligned with the banks' outputs): the controller's
        stage-1 fields ``rom_latency - 1`` registers later, the lane -> bank row (a synchronous
        read addressed in the issue cycle, as many registers after); the lanes' window
        counters move on after a group's last step (their inputs: ``LaneWindows.AHEAD`` stages
        before, which they register). The stage at the lane inputs is one copy per lane group
        (:mod:`fpgac.hw.fanout`), returned as a list of field dicts. Also returns the valid
        bits of the stages in between (part of the controller's ``idle``)."""
        plan = self._plan
        sel_layout = data.ArrayLayout(unsigned(plan.sel_bits), plan.pes)
        m.submodules.sel_table = stab = memory.Memory(
            shape=sel_layout, depth=max(2, len(plan.sel_rows)),
            init=[check_unsigned(f"sel_rows[{r}]", row, plan.sel_bits)
                  for r, row in enumerate(plan.sel_rows)])
        srp = stab.read_port()
        m.d.comb += srp.addr.eq(ctrl.sel_addr)
        names = ("valid", "first", "last", "phase0", "latch", "inz", "phase_off",
                 "layer", "final", "glast", "rlast")
        s2 = {n: getattr(ctrl, f"s1_{n}") for n in names}
        sel2 = srp.data
        in_flight = []
        ahead = self.rom_latency - LaneWindows.AHEAD     # the stage the window counters read
        assert ahead >= 1, "the window counters take the step LaneWindows.AHEAD stages ahead"
        win = s2
        for st in range(2, self.rom_latency):
            nxt = {n: Signal.like(getattr(ctrl, f"s1_{n}"), name=f"s{st}_{n}",
                                  reset_less=n != "valid") for n in names}
            nsel = Signal(sel_layout, name=f"sel{st}", reset_less=True)
            m.d.sync += [nxt[n].eq(s2[n]) for n in names]
            m.d.sync += nsel.eq(sel2)
            s2, sel2 = nxt, nsel
            in_flight.append(s2["valid"])
            if st == ahead:
                win = s2
        # the window counters register their inputs (LaneWindows.AHEAD stages before the
        # lanes; with AHEAD = rom_latency - 1 they read the controller's stage-1 registers)
        m.d.comb += [wins.advance.eq(win["valid"] & win["latch"]),
                     wins.layer.eq(win["layer"]), wins.final.eq(win["final"]),
                     wins.glast.eq(win["glast"]), wins.rlast.eq(win["rlast"])]
        # the stage at the lane inputs: one copy per lane group (fpgac.hw.fanout)
        st = self.rom_latency
        lane_names = ("valid", "first", "last", "phase0", "latch", "inz", "phase_off")
        reps = {n: replicate(m, plan, f"s{st}_{n}", s2[n], reset_less=n != "valid")
                for n in lane_names}
        s2 = [{n: reps[n][g] for n in lane_names} for g in range(groups(plan))]
        nsel = Signal(sel_layout, name=f"sel{st}", reset_less=True)
        m.d.sync += nsel.eq(sel2)
        in_flight.append(s2[0]["valid"])
        return s2, nsel, in_flight

    def _lanes(self, m, banks, s2, sel2, wins, mem, results) -> list:
        """The lanes, each reading the bank its lane -> bank row names (a full-case
        multiplexer over the banks its column ever names); their latched values go to
        ``results`` (the slice adder tree's inputs, or the writer's without a tree)."""
        plan = self._plan
        lanes = []
        for p in range(plan.pes):
            lane = Lane(act_bits=plan.act_bits, w_bits=plan.w_bits, tap_bits=plan.tap_bits,
                        addr_bits=plan.addr_bits, acc_bits=plan.acc_bits)
            m.submodules[f"lane{p}"] = lane
            lanes.append(lane)
            options = sorted({row[p] for row in plan.sel_rows})
            for k in full_case(m, sel2[p], options, keys=options):
                m.d.comb += [lane.d.eq(banks[k].d), lane.tap.eq(banks[k].off)]
            sg = s2[lane_group(plan, p)]
            m.d.comb += [
                lane.valid.eq(sg["valid"]), lane.first.eq(sg["first"]),
                lane.last.eq(sg["last"]), lane.phase0.eq(sg["phase0"]),
                lane.latch.eq(sg["latch"]), lane.inz.eq(sg["inz"]),
                lane.in_base.eq(wins.in_base[p]), lane.phase_off.eq(sg["phase_off"]),
                mem.rd_addr[p].eq(lane.rd_addr), lane.rd_data.eq(mem.rd_data[p]),
                results[p].eq(lane.result),
            ]
        return lanes

    def _writer_start(self, m, ctrl, writer, tree) -> list:
        """The group context follows the step to the stage where the lanes latch (there it
        loads the adder tree's layer), then ``tree_latency`` stages more, and starts the
        writer. Returns the start bits of those tree stages (in flight: part of ``idle``)."""
        ctx = [ctrl.s1_latch & ctrl.s1_valid, ctrl.s1_layer, ctrl.s1_final, ctrl.s1_rank,
               ctrl.s1_nch, ctrl.s1_nvw, ctrl.s1_off0, ctrl.s1_px0, ctrl.s1_nvc]
        latch = self.rom_latency - 1 + self.lane_latency - 1
        in_tree = []
        for k in range(latch + self.tree_latency):
            if k == latch:
                m.d.comb += [tree.load.eq(ctx[0]), tree.layer.eq(ctx[1])]
            # (the tree exists when tree_latency > 0, i.e. when this branch is reached)
            nxt = [Signal.like(s, reset_less=i > 0) if isinstance(s, Signal)
                   else Signal(reset_less=i > 0) for i, s in enumerate(ctx)]
            m.d.sync += [n.eq(s) for n, s in zip(nxt, ctx)]
            ctx = nxt
            if k >= latch:
                in_tree.append(ctx[0])
        m.d.comb += [writer.start.eq(ctx[0]), writer.start_layer.eq(ctx[1]),
                     writer.start_final.eq(ctx[2]), writer.start_rank.eq(ctx[3]),
                     writer.start_nch.eq(ctx[4]), writer.start_nvw.eq(ctx[5]),
                     writer.start_off0.eq(ctx[6]), writer.start_px0.eq(ctx[7]),
                     writer.start_nvc.eq(ctx[8])]
        return in_tree
