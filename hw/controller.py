"""The controller: generates the groups from the layer descriptors and issues one lockstep step
per cycle."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Shape, Signal, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.compiler.plan import HardwarePlan, desc_rows
from fpgac.hw.checks import check_unsigned

__all__ = ["Controller", "group_layout"]


def group_layout(plan: HardwarePlan) -> data.StructLayout:
    """The controller's group record (the group in issue and the next one)."""
    descs = plan.descriptors
    nb = len(plan.banks)
    return data.StructLayout({
        "layer": unsigned(unsigned_bits(len(descs) - 1)),
        "rnd": unsigned(unsigned_bits(max(d.rounds for d in descs) - 1)),
        "ridx": unsigned(unsigned_bits(len(plan.round_counts) - 1)),
        "g": unsigned(unsigned_bits(max(d.groups for d in descs) - 1)),
        "rank": unsigned(unsigned_bits(len(plan.chan_table) - 1)),
        "count_m1": unsigned(unsigned_bits(max(plan.round_counts) - 1)),
        "nch": unsigned(unsigned_bits(max(d.slots for d in descs))),
        "nvw": unsigned(unsigned_bits(max(d.width for d in descs))),
        "nvalid": unsigned(unsigned_bits(plan.pes)),
        "mask": unsigned(nb),
        "lfirst": 1, "g0": 1, "glast": 1, "rlast": 1, "final": 1,
        "phases_m1": unsigned(unsigned_bits(max(d.phases for d in descs) - 1)),
        "phase_base": unsigned(unsigned_bits(len(plan.phase_table) - 1)),
        "sel_row": unsigned(unsigned_bits(len(plan.sel_rows) - 1)),
        "wz": unsigned(plan.wraw_bits),
        "inz": unsigned(plan.act_bits),
        "off0": unsigned(plan.addr_bits),
        "px0": unsigned(unsigned_bits(max(d.win_w for d in descs) - 1)),
    })


def _record(plan: HardwarePlan, k: int) -> dict:
    """Group ``k`` of ``plan.program`` as a group record (the reset values)."""
    g = plan.program[k]
    d = plan.descriptors[g.layer]
    nb = len(plan.banks)
    win = g.g * d.width                       # first window of the group
    py, px = divmod(win, d.win_w)
    ohp_w = d.win_w + d.out_wrap              # output row pitch
    return {
        "layer": g.layer, "rnd": g.round, "ridx": d.round_base + g.round, "g": g.g,
        "rank": d.rank_base + g.rank, "count_m1": g.count - 1, "nch": g.nch, "nvw": g.nvw,
        "nvalid": g.n_valid, "mask": ((1 << g.nch) - 1) & ((1 << nb) - 1),
        "lfirst": int(g.layer_first), "g0": int(g.g == 0), "glast": int(g.g == d.groups - 1),
        "rlast": int(g.round == d.rounds - 1), "final": int(d.final),
        "phases_m1": d.phases - 1, "phase_base": d.phase_base, "sel_row": d.sel_row,
        "wz": d.wz, "inz": d.inz, "off0": d.out_first + py * ohp_w + px, "px0": px,
    }


class Controller(wiring.Component):
    """Sequencer of the layer descriptors (``docs/architecture.md``, "Control").

    Two group records are held in registers: ``cur``, the group in issue, and ``nxt``, the
    group after it, generated from ``nxt`` by the loop counters (window group, round, layer)
    while ``cur`` issues, with the layer's descriptor and the round's step count read from
    small tables. At the last step of ``cur``, ``cur <= nxt``; after the program's last group
    both reload groups 0 and 1 (their reset values). So the issue stage never waits for a
    table: a one-step group follows another back to back.

    After ``start`` (cycle ``c``), steps issue from cycle ``c + 1``. In the cycle a step
    issues (``issue``), ``pass_first`` (first step of a phase), ``group_first`` (of a group),
    ``bank_cmd`` (per bank: 1 *next* in a round's first window group, 2 *rewind* after, 0 for
    banks beyond the round's channels), ``wz`` drive the weight banks and ``sel_addr`` the
    lane -> bank table; the step itself appears one cycle later on the ``s1_*`` outputs, with
    its group context for the lanes' window counters and the writer.

    Waits (see :mod:`fpgac.compiler.analysis.cycles`):

    * *layer barrier*: the first step of a layer's first group issues :attr:`BARRIER_LATENCY`
      cycles after the first cycle with ``idle`` (nothing in flight downstream except the
      final write) and no step in stage 1 (``idle`` is registered, and so is the issue
      decision: made one cycle ahead from the next values of the step counters' flags);
    * *hazard*: the last step of a group waits until ``n_valid`` of the previous group's last
      step cycles have passed since that step issued.

    After the last group it waits for ``idle`` and pulses ``done``. ``busy`` is high from
    ``start`` to ``done``.
    """

    #: Cycles from the pipeline becoming idle to the layer barrier seeing it (``idle``
    #: registered at the input, then the registered issue decision).
    BARRIER_LATENCY = 2

    def __init__(self, plan: HardwarePlan):
        self._plan = plan
        self._rec = group_layout(plan)
        rec = self._rec.members
        nb = len(plan.banks)
        super().__init__({
            "start": In(1),
            "idle": In(1),
            "issue": Out(1), "pass_first": Out(1), "group_first": Out(1),
            "bank_cmd": Out(data.ArrayLayout(unsigned(2), nb)),
            "wz": Out(unsigned(plan.wraw_bits)),
            "sel_addr": Out(rec["sel_row"]),
            "s1_valid": Out(1), "s1_first": Out(1), "s1_last": Out(1), "s1_phase0": Out(1),
            "s1_latch": Out(1),
            "s1_inz": Out(unsigned(plan.act_bits)),
            "s1_phase_off": Out(unsigned(plan.addr_bits)),
            "s1_layer": Out(rec["layer"]),
            "s1_final": Out(1), "s1_glast": Out(1), "s1_rlast": Out(1),
            "s1_rank": Out(rec["rank"]), "s1_nch": Out(rec["nch"]), "s1_nvw": Out(rec["nvw"]),
            "s1_off0": Out(rec["off0"]), "s1_px0": Out(rec["px0"]),
            "busy": Out(1),
            "done": Out(1),
        })

    def _successor(self, m, nxt, dmem, rmem):
        """The group record after ``nxt`` (comb): next window group of the round, else the
        next round of the layer, else the first round of the next layer; the descriptor rows
        (``dmem``) and the step count of the next round (``rmem``) are read combinationally."""
        lay = self._rec
        dp = dmem.read_port(domain="comb")      # nxt's layer
        ep = dmem.read_port(domain="comb")      # the layer of a new round
        rp = rmem.read_port(domain="comb")
        d, e = dp.data, ep.data
        new_layer = nxt.rlast & nxt.glast
        m.d.comb += [dp.addr.eq(nxt.layer),
                     ep.addr.eq(Mux(new_layer, Mux(nxt.final, 0, nxt.layer + 1), nxt.layer)),
                     rp.addr.eq(nxt.ridx + 1)]
        succ = Signal(lay)
        m.d.comb += succ.eq(nxt)
        with m.If(~nxt.glast):                  # next window group of the same round
            glast = Signal()
            px = Signal(unsigned(lay.members["px0"].width + 1))
            off = Signal.like(nxt.off0)
            m.d.comb += [glast.eq(nxt.g + 1 == d.groups_m1), px.eq(nxt.px0 + d.step_px),
                         off.eq(nxt.off0 + d.out_step)]
            m.d.comb += [succ.g.eq(nxt.g + 1), succ.g0.eq(0), succ.glast.eq(glast),
                         succ.lfirst.eq(0),
                         succ.nvw.eq(Mux(glast, d.last_width, d.width)),
                         succ.nvalid.eq(Mux(nxt.rlast, Mux(glast, d.nv_ll, d.nv_lf),
                                            Mux(glast, d.nv_fl, d.nv_ff)))]
            with m.If(px >= d.win_w):
                m.d.comb += [succ.px0.eq(px - d.win_w), succ.off0.eq(off + d.out_wrap)]
            with m.Else():
                m.d.comb += [succ.px0.eq(px), succ.off0.eq(off)]
        with m.Else():                          # a new round (of this layer or the next)
            rlast = Signal()
            glast = Signal()
            m.d.comb += [rlast.eq(Mux(new_layer, ~e.rounds_m1.any(),
                                      nxt.rnd + 1 == e.rounds_m1)),
                         glast.eq(~e.groups_m1.any())]
            m.d.comb += [
                succ.layer.eq(ep.addr), succ.rnd.eq(Mux(new_layer, 0, nxt.rnd + 1)),
                succ.ridx.eq(nxt.ridx + 1), succ.g.eq(0), succ.g0.eq(1),
                succ.glast.eq(glast), succ.rlast.eq(rlast), succ.lfirst.eq(new_layer),
                succ.rank.eq(Mux(new_layer, e.rank_base, nxt.rank + e.slots)),
                succ.count_m1.eq(rp.data),
                succ.nch.eq(Mux(rlast, e.last_slots, e.slots)),
                succ.nvw.eq(Mux(glast, e.last_width, e.width)),
                succ.nvalid.eq(Mux(rlast, Mux(glast, e.nv_ll, e.nv_lf),
                                   Mux(glast, e.nv_fl, e.nv_ff))),
                succ.mask.eq(Mux(rlast, e.mask_last, e.mask_full)),
                succ.final.eq(e.final), succ.phases_m1.eq(e.phases_m1),
                succ.phase_base.eq(e.phase_base), succ.sel_row.eq(e.sel_row),
                succ.wz.eq(e.wz), succ.inz.eq(e.inz), succ.off0.eq(e.out_first),
                succ.px0.eq(0),
            ]

        return succ

    def _tables(self, m):
        """The per-layer descriptors, the round step counts and the phase offsets: small
        tables the controller reads combinationally. Returns the three memories."""
        plan = self._plan
        lay = self._rec
        rows = desc_rows(plan)
        dl = data.StructLayout({k: unsigned(max(1, max(r[k] for r in rows).bit_length()))
                                for k in rows[0]})
        m.submodules.desc = dmem = memory.Memory(shape=dl, depth=max(2, len(rows)), init=rows)
        m.submodules.rounds = rmem = memory.Memory(
            shape=lay.members["count_m1"], depth=max(2, len(plan.round_counts)),
            init=check_unsigned("round_counts", [c - 1 for c in plan.round_counts],
                                unsigned_bits(max(plan.round_counts) - 1)))
        m.submodules.phases = ptab = memory.Memory(
            shape=unsigned(plan.addr_bits), depth=max(2, len(plan.phase_table)),
            init=check_unsigned("phase_table", plan.phase_table, plan.addr_bits))
        return dmem, rmem, ptab

    def _stage1(self, m, cur, issue, e0, elast, p0, is_last, phase_off) -> None:
        """The step's stage-1 registers (the outputs ``s1_*``): the issued step and its
        group record's fields."""
        m.d.sync += [
            self.s1_valid.eq(issue),
            self.s1_first.eq(e0),
            self.s1_last.eq(elast),
            self.s1_phase0.eq(p0),
            self.s1_latch.eq(is_last),
            self.s1_inz.eq(cur.inz),
            self.s1_phase_off.eq(phase_off),
            self.s1_layer.eq(cur.layer), self.s1_final.eq(cur.final),
            self.s1_glast.eq(cur.glast), self.s1_rlast.eq(cur.rlast),
            self.s1_rank.eq(cur.rank), self.s1_nch.eq(cur.nch), self.s1_nvw.eq(cur.nvw),
            self.s1_off0.eq(cur.off0), self.s1_px0.eq(cur.px0),
        ]

    def _advance(self, m, cur, nxt, succ, first2, counters, elast, plast, prog_last,
                 draining) -> None:
        """In a cycle that issues a step: the step counter ``e_``, then at a phase's last
        step the phase ``ph``, at a group's last step the hazard count ``hz`` and the group
        records (``cur <= nxt <= succ``; after the program's last step back to the first two
        groups ``first2`` and draining)."""
        g0, g1 = first2
        e_, ph, hz = counters
        lay = self._rec
        with m.If(elast):
            m.d.sync += e_.eq(0)
            with m.If(plast):
                m.d.sync += [ph.eq(0), hz.eq(cur.nvalid - 1)]
                with m.If(prog_last):
                    m.d.sync += [cur.eq(lay.const(g0)), nxt.eq(lay.const(g1)),
                                 draining.eq(1)]
                with m.Else():
                    m.d.sync += [cur.eq(nxt), nxt.eq(succ)]
            with m.Else():
                m.d.sync += ph.eq(ph + 1)
        with m.Else():
            m.d.sync += e_.eq(e_ + 1)

    def elaborate(self, platform):
        m = Module()
        plan = self._plan
        lay = self._rec
        dmem, rmem, ptab = self._tables(m)
        g0 = _record(plan, 0)
        g1 = _record(plan, min(1, len(plan.program) - 1))
        for key, val in list(g0.items()) + list(g1.items()):
            check_unsigned(f"group.{key}", [val], Shape.cast(lay.members[key]).width)
        cur = Signal(lay, init=g0)
        nxt = Signal(lay, init=g1)

        succ = self._successor(m, nxt, dmem, rmem)

        # ---- issue stage ----------------------------------------------------------------
        # ``issue`` is a register: the decision for cycle t + 1 is made in cycle t from the
        # next values of the flags it reads (``*_n``), so the issue decision's fan-out (the
        # group records' and counters' enables, the banks' step registers) starts at
        # flip-flops (ECP5 timing: elast -> hazard -> issue -> enable of ``ph`` was the
        # critical path of the routed P = 16 build at 100 MHz). The barrier reads ``idle``
        # through a register (BARRIER_LATENCY; ``idle_r``, ``idle_n`` below).
        pp = ptab.read_port(domain="comb")
        running = Signal()
        draining = Signal()
        e_ = Signal.like(cur.count_m1)
        ph = Signal.like(cur.phases_m1)
        hz = Signal(unsigned(unsigned_bits(plan.pes)))
        # the step counters' compares, kept in registers beside them (ECP5 timing: the issue
        # decision and the record update start from flip-flops, not from compare chains):
        # e0 = (e_ == 0), elast = (e_ == cur.count_m1), p0 = (ph == 0), plast = (ph ==
        # cur.phases_m1); updated below wherever e_, ph or cur change
        e0 = Signal(init=1)
        elast = Signal(init=int(g0["count_m1"] == 0))
        p0 = Signal(init=1)
        plast = Signal(init=int(g0["phases_m1"] == 0))
        issue = Signal()
        # idle_r: ``idle`` of the cycle before (registered at the input); idle_n (for the
        # decision of t + 1, made in t) = idle_r(t) & no step issued in t - 1 or t: then
        # nothing is in flight in t + 1 either (``idle`` two cycles late: BARRIER_LATENCY)
        idle = self.idle & ~self.s1_valid
        idle_r = Signal(init=1)
        m.d.sync += idle_r.eq(idle)
        first_step = e0 & p0
        is_last = elast & plast
        prog_last = cur.final & cur.rlast & cur.glast
        step_end = issue & elast                # a phase's last step issues
        grp_end = step_end & plast              # a group's last step issues
        reload = grp_end & prog_last            # the program's last step issues
        start = self.start & ~running & ~draining
        # next values of the flags the issue decision reads
        running_n = Signal()
        e0_n, elast_n, p0_n, plast_n = Signal(), Signal(), Signal(), Signal()
        lfirst_n, hz_nz_n, idle_n = Signal(), Signal(), Signal()
        m.d.comb += [
            running_n.eq(Mux(start, 1, Mux(reload, 0, running))),
            e0_n.eq(Mux(issue, elast, e0)),
            p0_n.eq(Mux(step_end, plast, p0)),
            elast_n.eq(Mux(issue, Mux(elast, Mux(plast, Mux(prog_last,
                                                            int(g0["count_m1"] == 0),
                                                            ~nxt.count_m1.any()),
                                                 ~cur.count_m1.any()),
                                      e_ + 1 == cur.count_m1),
                           elast)),
            plast_n.eq(Mux(step_end, Mux(plast, Mux(prog_last, int(g0["phases_m1"] == 0),
                                                    ~nxt.phases_m1.any()),
                                         ph + 1 == cur.phases_m1),
                           plast)),
            lfirst_n.eq(Mux(grp_end, Mux(prog_last, g0["lfirst"], nxt.lfirst), cur.lfirst)),
            # hz in t + 1 != 0 (a register for it trips Yosys 0.70's abc9 reintegration:
            # "Assert GetSize(conn.first) == GetSize(conn.second)" in the ULX3S build)
            hz_nz_n.eq(Mux(grp_end, cur.nvalid != 1, hz[1:].any())),
            idle_n.eq(idle_r & ~issue & ~self.s1_valid),
        ]
        barrier_n = e0_n & p0_n & lfirst_n & ~idle_n
        hazard_n = elast_n & plast_n & hz_nz_n
        m.d.sync += [issue.eq(running_n & ~barrier_n & ~hazard_n),
                     running.eq(running_n), e0.eq(e0_n), elast.eq(elast_n), p0.eq(p0_n),
                     plast.eq(plast_n)]
        m.d.comb += [
            self.issue.eq(issue),
            self.pass_first.eq(e0),
            self.group_first.eq(first_step),
            self.wz.eq(cur.wz),
            self.sel_addr.eq(cur.sel_row),
            pp.addr.eq(cur.phase_base + ph),
            self.busy.eq(running | draining),
        ]
        for k in range(len(plan.banks)):
            m.d.comb += self.bank_cmd[k].eq(Mux(cur.mask[k], Mux(cur.g0, 1, 2), 0))
        with m.If(hz.any()):
            m.d.sync += hz.eq(hz - 1)
        self._stage1(m, cur, issue, e0, elast, p0, is_last, pp.data)
        with m.If(issue):
            self._advance(m, cur, nxt, succ, (g0, g1), (e_, ph, hz), elast, plast,
                          prog_last, draining)
        with m.If(draining & idle):
            m.d.comb += self.done.eq(1)
            m.d.sync += draining.eq(0)
        return m

