"""The controller: generates the groups from the layer descriptors and issues one lockstep step
per cycle."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Shape, Signal, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.compiler.plan import HardwarePlan, desc_rows
from fpgac.hw.checks import check_unsigned
from fpgac.hw.fanout import TAG, VIVADO_ATTRS, unaliased

__all__ = ["Controller", "group_layout"]

#: The issue flags the controller keeps twice: one copy for the issue decision, one for
#: everything else the flags drive (``Controller.elaborate``; ``plast`` drives only the
#: decision: the enables it was part of are the registers ``step_end`` and ``grp_end``).
_COPIED = ("e0", "p0", "elast", "il")
#: The group record's fields the issue decision reads, kept in copies of their own
#: (``Controller._decision_copies``).
_DECIDED = ("pl", "c0", "c1", "ph0", "ph1", "lfirst", "one", "nvne1", "phases_m1")


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
        "nvc": unsigned(unsigned_bits(max(d.bc for d in descs))),
        "nvalid": unsigned(unsigned_bits(_hazard_wait(plan.pes))),
        "mask": unsigned(nb),
        "lfirst": 1, "g0": 1, "glast": 1, "rlast": 1, "final": 1,
        # flags of the fields above, for the issue decision only (registers of their own, so
        # the decision reads flip-flops placed beside it, not compares): count_m1 == 0 / 1,
        # phases_m1 == 0 / 1, both == 0 (a one-step group), the program's last group
        # (final & rlast & glast), nvalid != 1
        "c0": 1, "c1": 1, "ph0": 1, "ph1": 1, "one": 1, "pl": 1, "nvne1": 1,
        "phases_m1": unsigned(unsigned_bits(max(d.phases for d in descs) - 1)),
        "phase_base": unsigned(unsigned_bits(len(plan.phase_table) - 1)),
        "sel_row": unsigned(unsigned_bits(len(plan.sel_rows) - 1)),
        "wz": unsigned(plan.wraw_bits),
        "inz": unsigned(plan.act_bits),
        "off0": unsigned(plan.addr_bits),
        "px0": unsigned(unsigned_bits(max(d.win_w for d in descs) - 1)),
    })


def _hazard_wait(n_valid: int) -> int:
    """The record's ``nvalid``: the hazard wait after a group of ``n_valid`` valid lanes, at
    least :attr:`Controller.GROUP_LATENCY` (the registered next record)."""
    return max(int(n_valid), Controller.GROUP_LATENCY)


def _record(plan: HardwarePlan, k: int) -> dict:
    """Group ``k`` of ``plan.program`` as a group record (the reset values)."""
    g = plan.program[k]
    d = plan.descriptors[g.layer]
    nb = len(plan.banks)
    ohp_w = d.win_w + d.out_wrap              # output row pitch
    nvc = 0
    if d.br:                                  # the rectangle's origin (r0, c0)
        gy, gx = divmod(g.g, d.grp_w // d.bc)
        py, px = gy * d.br, gx * d.bc
        nvc = min(d.bc, d.win_w - px)
    else:
        py, px = divmod(g.g * d.width, d.win_w)     # first window of the group
    return {
        "layer": g.layer, "rnd": g.round, "ridx": d.round_base + g.round, "g": g.g,
        "rank": d.rank_base + g.rank, "count_m1": g.count - 1, "nch": g.nch, "nvw": g.nvw,
        "nvc": nvc,
        "nvalid": _hazard_wait(g.n_valid),
        "mask": ((1 << (g.nch * d.slices)) - 1) & ((1 << nb) - 1),
        "lfirst": int(g.layer_first), "g0": int(g.g == 0), "glast": int(g.g == d.groups - 1),
        "rlast": int(g.round == d.rounds - 1), "final": int(d.final),
        "phases_m1": d.phases - 1, "phase_base": d.phase_base, "sel_row": d.sel_row,
        "wz": d.wz, "inz": d.inz, "off0": d.out_first + py * ohp_w + px, "px0": px,
        "c0": int(g.count == 1), "c1": int(g.count == 2), "ph0": int(d.phases == 1),
        "ph1": int(d.phases == 2), "one": int(g.count == 1 and d.phases == 1),
        "pl": int(d.final and g.round == d.rounds - 1 and g.g == d.groups - 1),
        "nvne1": int(_hazard_wait(g.n_valid) != 1),
    }


class Controller(wiring.Component):
    """Sequencer of the layer descriptors (``docs/architecture.md``, "Control").

    Two group records are held in registers: ``cur``, the group in issue, and ``nxt``, the
    group after it, generated from ``nxt`` by the loop counters (window group, round, layer)
    while ``cur`` issues, with the layer's descriptor and the round's step count read from
    small tables. At the last step of ``cur``, ``cur <= nxt``; after the program's last group
    both reload groups 0 and 1 (their reset values). So the issue stage never waits for a
    table: a one-step group follows another one cycle after the other's ``succ_r`` is ready
    (two cycles: :attr:`GROUP_LATENCY`).

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
    * *hazard*: the last step of a group waits until ``max(n_valid, GROUP_LATENCY)`` of the
      previous group's last step cycles have passed since that step issued (the record's
      ``nvalid`` holds that maximum: the group record after ``nxt`` is formed into a
      register, ``succ_r``, in the cycle after ``nxt`` moves, so two groups' last steps are
      at least :attr:`GROUP_LATENCY` cycles apart).

    After the last group it waits for ``idle`` and pulses ``done`` :attr:`DONE_LATENCY`
    cycles after the first such cycle (``idle`` registered). ``busy`` is high from
    ``start`` to ``done``. ``restart`` (the banks' pointers back to their first lists) is
    ``done`` registered: the cycle after ``done`` (cycle ``d``), every bank read of the
    program is over, and the next ``start`` comes at ``d + 1`` at the earliest, whose first
    step the banks see at ``d + 3``; a flip-flop, so the net that reaches every bank starts
    at one (it was the loader's combinational last pixel: the ULX3S P = 32 route's worst path,
    from the result register through the loader's accept logic to the banks). After reset the
    banks' pointers are at their first lists already.
    """

    #: Cycles from the pipeline becoming idle to the layer barrier seeing it (``idle``
    #: registered at the input, then the registered issue decision).
    BARRIER_LATENCY = 2
    #: Cycles from the last write (the pipeline idle but for it) to ``done`` (``idle``
    #: registered at the input).
    DONE_LATENCY = 1
    #: Fewest cycles between two groups' last steps (``succ_r``).
    GROUP_LATENCY = 2

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
            "s1_off0": Out(rec["off0"]), "s1_px0": Out(rec["px0"]), "s1_nvc": Out(rec["nvc"]),
            "busy": Out(1),
            "done": Out(1),
            "restart": Out(1),
        })

    def _rows(self, m, succ_r, g1, tables, load):
        """The successor's table reads as registers, loaded with ``nxt`` (``load``: a group's
        last step) for the record ``nxt`` takes, ``succ_r``: ``d``, the descriptor row of its
        layer; ``e``, the row of the layer of the round after it, and ``el`` that layer;
        ``cnt``, the step count (``count_m1``) of the round after it; ``rl``, that round is
        its layer's last. The round after the program's last group is group 0's (the
        program is a cycle: :meth:`_successor`). So :meth:`_successor` reads registers, not
        the tables (ULX3S P = 64 at 95 MHz: ``nxt.final`` -> the descriptor table -> carry
        chains -> ``succ_r``, 11.65 ns, was the worst path). The reset values are those of
        ``nxt``'s reset value, group 1 (``g1``), and of the first group of the round after it in
        ``plan.program`` (read only once group 1 is its round's last). Returns ``(d, e, el,
        cnt, rl)``."""
        dmem, rmem, rows = tables
        program = self._plan.program
        k1 = min(1, len(program) - 1)
        k = next(j % len(program) for j in range(k1 + 1, k1 + len(program) + 1)
                 if program[j % len(program)].g == 0)
        r1 = _record(self._plan, k)                 # the round after group 1: its first group
        dp, ep, rp = (mem.read_port(domain="comb") for mem in (dmem, dmem, rmem))
        layer_el = Signal.like(succ_r.layer, name="el")
        el_r = Signal.like(succ_r.layer, name="el_r", init=r1["layer"])
        d = Signal(dmem.shape, name="d_r", init=rows[g1["layer"]])
        e = Signal(dmem.shape, name="e_r", init=rows[r1["layer"]])
        cnt = Signal.like(succ_r.count_m1, name="cnt_r", init=r1["count_m1"])
        # ``rl``: the round after it is its layer's last (a compare on the round counter; at
        # P = 64 at 100 MHz, ``nxt.rnd + 1 == e.rounds_m1`` -> the class and mask fields ->
        # ``succ_r`` was the worst path, 10.64 ns, crossing the die twice)
        rl = Signal(name="rl_r", init=r1["rlast"])
        # the layer, the round-table index and the new-layer flag of the round after succ_r
        s_new = succ_r.rlast & succ_r.glast
        m.d.comb += [dp.addr.eq(succ_r.layer),
                     layer_el.eq(Mux(s_new, Mux(succ_r.final, 0, succ_r.layer + 1),
                                     succ_r.layer)),
                     ep.addr.eq(layer_el),
                     rp.addr.eq(Mux(s_new & succ_r.final, 0, succ_r.ridx + 1))]
        with m.If(load):
            m.d.sync += [d.eq(dp.data), e.eq(ep.data), el_r.eq(layer_el), cnt.eq(rp.data),
                         rl.eq(Mux(s_new, ~ep.data.rounds_m1.any(),
                                   succ_r.rnd + 1 == ep.data.rounds_m1))]
        return d, e, el_r, cnt, rl

    def _successor(self, m, nxt, rows):
        """The group record after ``nxt`` (comb): next window group of the round, else the
        next round of the layer, else the first round of the next layer, and after the
        program's last group its first (the group-0 record, ``_record(plan, 0)``: the program
        is a cycle, so a group's last step always moves ``cur <= nxt <= succ_r``, with no
        reload multiplexer on the records); from ``nxt`` and the
        registered table reads ``rows`` = :meth:`_rows` (``d``: ``nxt``'s layer, ``e``: the
        layer ``el`` of the round after ``nxt``, ``cnt``: that round's ``count_m1``, ``rl``:
        it is the layer's last)."""
        lay = self._rec
        d, e, el, cnt, rl = rows
        new_layer = nxt.rlast & nxt.glast
        succ = Signal(lay)
        m.d.comb += succ.eq(nxt)
        with m.If(~nxt.glast):                  # next window group of the same round
            glast = Signal()
            px = Signal(unsigned(lay.members["px0"].width + 1))
            wrap, lastcol, lastrow = Signal(), Signal(), Signal()
            m.d.comb += [glast.eq(nxt.g + 1 == d.groups_m1), px.eq(nxt.px0 + d.step_px),
                         wrap.eq(px >= d.grp_w)]
            # the group class (LayerDesc: rectangles in the last column / row of groups;
            # raster: the last group is class 2 or 3)
            m.d.comb += [lastcol.eq(Mux(wrap, d.onecol, px == d.lastc)),
                         lastrow.eq(nxt.g + 1 >= d.lrow)]
            self._classed(m, succ, d, nxt.rlast, lastrow, lastcol)
            m.d.comb += [succ.g.eq(nxt.g + 1), succ.g0.eq(0), succ.glast.eq(glast),
                         succ.lfirst.eq(0), succ.pl.eq(nxt.final & nxt.rlast & glast)]
            with m.If(wrap):
                m.d.comb += [succ.px0.eq(px - d.grp_w), succ.off0.eq(nxt.off0 + d.grp_wrap)]
            with m.Else():
                m.d.comb += [succ.px0.eq(px), succ.off0.eq(nxt.off0 + d.out_step)]
        with m.Else():                          # a new round (of this layer or the next)
            rlast, glast, c0, ph0 = Signal(), Signal(), Signal(), Signal()
            m.d.comb += [c0.eq(~cnt.any()), ph0.eq(~e.phases_m1.any())]
            m.d.comb += [rlast.eq(rl), glast.eq(~e.groups_m1.any())]
            m.d.comb += [
                succ.layer.eq(el), succ.rnd.eq(Mux(new_layer, 0, nxt.rnd + 1)),
                succ.ridx.eq(Mux(new_layer & nxt.final, 0, nxt.ridx + 1)),
                succ.g.eq(0), succ.g0.eq(1),
                succ.glast.eq(glast), succ.rlast.eq(rlast), succ.lfirst.eq(new_layer),
                succ.rank.eq(Mux(new_layer, e.rank_base, nxt.rank + e.slots)),
                succ.count_m1.eq(cnt),
                succ.nch.eq(Mux(rlast, e.last_slots, e.slots)),
                succ.mask.eq(Mux(rlast, e.mask_last, e.mask_full)),
                succ.final.eq(e.final), succ.phases_m1.eq(e.phases_m1),
                succ.phase_base.eq(e.phase_base), succ.sel_row.eq(e.sel_row),
                succ.wz.eq(e.wz), succ.inz.eq(e.inz), succ.off0.eq(e.out_first),
                succ.px0.eq(0),
                succ.pl.eq(e.final & rlast & glast),
                succ.c0.eq(c0), succ.c1.eq(cnt == 1),
                succ.ph0.eq(ph0), succ.ph1.eq(e.phases_m1 == 1), succ.one.eq(c0 & ph0),
            ]
            self._classed(m, succ, e, rlast, e.onerow, e.onecol)

        return succ

    @staticmethod
    def _classed(m, succ, d, rlast, lastrow, lastcol) -> None:
        """The record's fields that follow the group class ``2 * lastrow + lastcol``
        (``desc_rows``): ``nvw``, ``nvc``, ``nvalid`` (full or last round) and ``nvne1``."""
        def pick(name):
            return Mux(lastrow, Mux(lastcol, d[f"{name}_3"], d[f"{name}_2"]),
                       Mux(lastcol, d[f"{name}_1"], d[f"{name}_0"]))
        # (nvf / nvl in the controller's table are at least GROUP_LATENCY: ``_tables``)
        nvf, nvl = pick("nvf"), pick("nvl")
        m.d.comb += [succ.nvw.eq(pick("nvw")), succ.nvc.eq(pick("nvc")),
                     succ.nvalid.eq(Mux(rlast, nvl, nvf)),
                     succ.nvne1.eq(Mux(rlast, nvl != 1, nvf != 1))]

    def _tables(self, m):
        """The per-layer descriptors, the round step counts and the phase offsets: small
        tables the controller reads combinationally. Returns the three memories and the
        descriptor rows."""
        plan = self._plan
        lay = self._rec
        # the hazard wait of a group is max(n_valid, GROUP_LATENCY) (class docstring)
        rows = [{k: (_hazard_wait(v) if k[:4] in ("nvf_", "nvl_") else v)
                 for k, v in row.items()} for row in desc_rows(plan)]
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
        return dmem, rmem, ptab, rows

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
            self.s1_off0.eq(cur.off0), self.s1_px0.eq(cur.px0), self.s1_nvc.eq(cur.nvc),
        ]

    def _advance(self, m, cur, nxt, succ, counters, ends, draining) -> None:
        """The step counter ``erem`` (steps left in the phase after this one) in a cycle that
        issues a step; at a phase's last step the phase ``ph``; at a group's last step the
        hazard count ``hz`` and the group records (``cur <= nxt <= succ``, the registered
        successor: after the program's last group ``nxt`` is group 0 and ``succ`` group 1,
        :meth:`_successor`), and after the program's last step ``draining``.
        ``ends = (issue, step_end, grp_end)``: registers (``issue``, ``issue & elast``,
        ``issue & elast & plast``, each loaded from the next values), so each is the clock
        enable of its registers with no LUT in front (ULX3S P = 64 at 75 MHz: ``issue`` ->
        the ``ph`` enable -> the ``nxt`` record's enable was the worst path, 10.1 ns of
        routing in 12.9)."""
        erem, ph, hz = counters
        issue, step_end, grp_end = ends
        with m.If(issue):
            with m.If(step_end):
                m.d.sync += erem.eq(Mux(grp_end, nxt.count_m1, cur.count_m1))
            with m.Else():
                m.d.sync += erem.eq(erem - 1)
        with m.If(step_end):
            m.d.sync += ph.eq(Mux(grp_end, 0, ph + 1))
        with m.If(grp_end):
            m.d.sync += [hz.eq(cur.nvalid - 1), cur.eq(nxt), nxt.eq(succ)]
            with m.If(cur.pl):
                m.d.sync += draining.eq(1)

    def _decision_copies(self, m, succ_r, first2, load):
        """Copies of the record fields the issue decision reads (:data:`_DECIDED`), for
        ``cur`` and ``nxt``, updated with them (``load``: a group's last step): ``dcur <=
        dnxt <= succ_r``. The records
        drive the stage-1 registers, the banks and the successor logic all over the die; the
        copies only the decision's few LUTs (``fpgac.hw.fanout`` names: synthesis keeps
        them; ULX3S P = 75 at 100 MHz: ``cur.pl`` -> 4.51 ns across the die -> the decision
        -> ``grp_end`` was the worst path, 11.45 ns). Returns ``(dcur, dnxt)``."""
        lay = data.StructLayout({k: self._rec.members[k] for k in _DECIDED})
        g0, g1 = ({k: g[k] for k in _DECIDED} for g in first2)
        dcur = Signal(lay, init=g0, name=f"dcur_{TAG}0", attrs=VIVADO_ATTRS)
        dnxt = Signal(lay, init=g1, name=f"dnxt_{TAG}0", attrs=VIVADO_ATTRS)
        with m.If(load):
            m.d.sync += [dcur.eq(dnxt), dnxt.eq(Cat(*(succ_r[k] for k in _DECIDED)))]
        return dcur, dnxt

    @staticmethod
    def _flags(g0: dict) -> dict:
        """The issue decision's flag registers (reset values: the first group's first step):
        ``e0`` / ``elast`` / ``e1``: the step counter at 0 / at ``count_m1`` / at
        ``count_m1 - 1``; ``p0`` / ``plast`` / ``p1`` the same for the phase ``ph``; ``fl``
        = ``e0 & p0 & cur.lfirst`` (a layer's first step: the barrier); ``il`` = ``elast &
        plast`` (a group's last step: the hazard); ``bhz`` = ``e1 & plast``, ``chz`` =
        ``cur.c0 & p1`` (the next step is a group's last one, within a phase / at the next
        phase's first step)."""
        init = {"e0": 1, "elast": g0["c0"], "e1": g0["c1"], "p0": 1, "plast": g0["ph0"],
                "p1": g0["ph1"], "fl": g0["lfirst"], "il": g0["one"],
                "bhz": g0["c1"] & g0["ph0"], "chz": g0["c0"] & g0["ph1"]}
        return {k: (Signal(init=v, name=f"{k}_{TAG}0", attrs=VIVADO_ATTRS) if k in _COPIED
                    else Signal(init=v, name=k)) for k, v in init.items()}

    def _decide(self, m, cur, nxt, issue, f, counters, run_a, idle_a):
        """The next values of the flag registers ``f`` (``sync``) and the issue decision for
        cycle t + 1, made in cycle t; returns ``(issue_n, n)``, the decision and the flags'
        next values (the caller registers both, and copies of them). Every input is a
        flip-flop or one small LUT from flip-flops (``run_a``, ``idle_a``; ``hz >= 2`` is the
        register ``hz_ge2``):
        the decision is split by the four cases of cycle t (no issue; a step inside a phase;
        a phase's last step; a group's last step), each of a few flag bits, so no carry chain
        or compare feeds it (ECP5 timing: ``cur.rlast`` -> ``nxt`` compare -> ``plast`` ->
        ``lfirst`` -> ``issue`` was the critical path of the routed P = 16 build at 100 MHz).
        ``run_a``: running in t + 1 if nothing issues in t; ``idle_a``: the pipeline idle in
        t + 1 if nothing issues in t (``idle`` two cycles late: BARRIER_LATENCY)."""
        erem, ph, hz_ge2 = counters
        step_end = issue & f["elast"]
        grp_end = step_end & f["plast"]

        # ``nxt``'s flags: the record ``cur`` holds after a group's last step
        n = {k: Signal(name=f"{k}_n") for k in f}
        m.d.comb += [
            n["e0"].eq(Mux(issue, f["elast"], f["e0"])),
            n["p0"].eq(Mux(step_end, f["plast"], f["p0"])),
            n["elast"].eq(Mux(issue, Mux(f["elast"], Mux(f["plast"], nxt.c0, cur.c0),
                                         f["e1"]), f["elast"])),
            n["e1"].eq(Mux(issue, Mux(f["elast"], Mux(f["plast"], nxt.c1, cur.c1),
                                      erem == 2), f["e1"])),
            n["plast"].eq(Mux(step_end, Mux(f["plast"], nxt.ph0, f["p1"]), f["plast"])),
            n["p1"].eq(Mux(step_end, Mux(f["plast"], nxt.ph1, ph + 2 == cur.phases_m1),
                           f["p1"])),
            n["fl"].eq(n["e0"] & n["p0"] & Mux(grp_end, nxt.lfirst, cur.lfirst)),
            n["il"].eq(n["elast"] & n["plast"]),
            n["bhz"].eq(n["e1"] & n["plast"]),
            n["chz"].eq(Mux(grp_end, nxt.c0, cur.c0) & n["p1"]),
        ]
        m.d.sync += [f[k].eq(n[k]) for k in f]
        # hz in t + 1 != 0, i.e. hz >= 2 in t: a register of its own (``hz_ge2``), so the
        # decision does not wait for the counter's compare (ULX3S P = 64 at 100 MHz: ``hz``
        # -> its OR -> 5 ns across the die -> the decision -> ``grp_end``, 10.80 ns)
        hz1 = hz_ge2
        dec_a = run_a & ~(f["fl"] & ~idle_a) & ~(f["il"] & hz1)     # nothing issues in t
        dec_b = ~(f["bhz"] & hz1)                                   # a step inside a phase
        dec_c = ~(f["chz"] & hz1)                                   # a phase's last step
        # a group's last step: not the program's last, the next group not a layer's first
        # (barrier), and not a one-step group behind a group of more than one valid lane
        dec_d = ~cur.pl & ~nxt.lfirst & ~(nxt.one & cur.nvne1)
        issue_n = Signal()
        m.d.comb += issue_n.eq(Mux(issue, Mux(f["elast"], Mux(f["plast"], dec_d, dec_c),
                                              dec_b), dec_a))
        return issue_n, n

    def elaborate(self, platform):
        m = Module()
        plan = self._plan
        lay = self._rec
        dmem, rmem, ptab, rows = self._tables(m)
        g0 = _record(plan, 0)
        g1 = _record(plan, min(1, len(plan.program) - 1))
        for key, val in list(g0.items()) + list(g1.items()):
            check_unsigned(f"group.{key}", [val], Shape.cast(lay.members[key]).width)
        cur = Signal(lay, init=g0)
        nxt = Signal(lay, init=g1)

        # the record after ``nxt`` as a register (GROUP_LATENCY): ``nxt`` -> descriptor
        # tables -> adders -> ``nxt`` in one cycle was the ULX3S P = 64 route's worst path at
        # 100 MHz (``nxt.glast`` -> record update -> carry chain, 11.70 ns); ``_rows``
        succ_r = Signal(lay, name="succ_r",
                        init=_record(plan, 2 % len(plan.program)))
        grp_end_o = Signal(name="grp_end")
        succ = self._successor(m, nxt, self._rows(m, succ_r, g1,
                                                  (dmem, rmem, rows), grp_end_o))
        m.d.sync += succ_r.eq(succ)

        # ---- issue stage ----------------------------------------------------------------
        # ``issue`` is a register: the decision for cycle t + 1 is made in cycle t from flag
        # registers kept one cycle ahead (``_flags``, ``_decide``), so the issue decision's
        # fan-out (the group records' and counters' enables, the banks' step registers)
        # starts at a flip-flop and its inputs are flip-flops. The barrier reads ``idle``
        # through a register (BARRIER_LATENCY; ``idle_r`` below).
        pp = ptab.read_port(domain="comb")
        running, draining = Signal(), Signal()
        erem = Signal.like(cur.count_m1, init=g0["count_m1"])   # steps left in the phase
        ph = Signal.like(cur.phases_m1)
        hz = Signal(unsigned(unsigned_bits(plan.pes)))
        f = self._flags(g0)
        # two copies of ``issue`` and of the flags that also leave the decision (fpgac.hw.fanout
        # names, so synthesis keeps both): ``issue`` / ``f`` feed only the decision's few LUTs,
        # ``issue_o`` / ``fo`` the group records' and counters' enables, the stage-1 registers
        # and the banks' step inputs (hundreds of flip-flops): the decision loop stays a short,
        # local net (ULX3S P = 32: ``issue`` -> ``p1`` -> ``il`` was the critical path, 82 %
        # routing)
        issue = Signal(name=f"issue_{TAG}0", attrs=VIVADO_ATTRS)
        issue_o = Signal(name=f"issue_{TAG}1", attrs=VIVADO_ATTRS)
        fo = {k: Signal(init=f[k].init, name=f"{k}_{TAG}1", attrs=VIVADO_ATTRS)
              for k in _COPIED}
        # idle_r: ``idle`` of the cycle before (registered at the input); if no step issues
        # in t, the pipeline is idle in t + 1 when idle_r(t) and no step issued in t - 1
        idle = self.idle & ~self.s1_valid
        idle_r = Signal(init=1)
        m.d.sync += idle_r.eq(idle)
        grp_end = issue & f["elast"] & f["plast"]       # a group's last step issues
        start = self.start & ~running & ~draining
        running_n = Signal()
        m.d.comb += running_n.eq(Mux(start, 1, Mux(grp_end & cur.pl, 0, running)))
        # hz >= 2 as a register (hz <= cur.nvalid - 1 after a group's last step, grp_end_o)
        hz_ge2 = Signal(name="hz_ge2")
        dcur, dnxt = self._decision_copies(m, succ_r, (g0, g1), grp_end_o)
        issue_n, flags_n = self._decide(m, dcur, dnxt, issue, f, (erem, ph, hz_ge2),
                                        running | (self.start & ~draining),
                                        idle_r & ~self.s1_valid)
        m.d.sync += [issue.eq(issue_n), issue_o.eq(issue_n), running.eq(running_n)]
        m.d.sync += [fo[k].eq(flags_n[k]) for k in fo]
        # ``group_first`` (= e0 & p0) as a register of its own: it reaches every bank, so no
        # LUT sits in front of that net (ULX3S P = 64: e0 & p0 -> 8 ns to bank 40)
        gfirst = Signal(init=f["e0"].init & f["p0"].init, name=f"group_first_{TAG}1",
                        attrs=VIVADO_ATTRS)
        m.d.sync += gfirst.eq(flags_n["e0"] & flags_n["p0"])
        m.d.comb += [
            self.issue.eq(unaliased(issue_o)),
            self.pass_first.eq(unaliased(fo["e0"])),
            self.group_first.eq(unaliased(gfirst)),
            self.wz.eq(cur.wz),
            self.sel_addr.eq(cur.sel_row),
            pp.addr.eq(cur.phase_base + ph),
            self.busy.eq(running | draining),
        ]
        for k in range(len(plan.banks)):
            m.d.comb += self.bank_cmd[k].eq(Mux(cur.mask[k], Mux(cur.g0, 1, 2), 0))
        with m.If(hz.any()):
            m.d.sync += hz.eq(hz - 1)
        self._stage1(m, cur, issue_o, fo["e0"], fo["elast"], fo["p0"], fo["il"], pp.data)
        # the enables of ``ph`` and of the group records as registers of their own (one
        # cycle ahead, like ``issue``): ``issue & elast`` and ``issue & elast & plast``
        step_end = Signal(name="step_end")
        m.d.sync += [step_end.eq(issue_n & flags_n["elast"]),
                     grp_end_o.eq(issue_n & flags_n["il"]),
                     hz_ge2.eq(Mux(grp_end_o, cur.nvalid >= 3, hz >= 3))]
        self._advance(m, cur, nxt, succ_r, (erem, ph, hz),
                      (issue_o, step_end, grp_end_o), draining)
        # the end of the program reads ``idle`` registered too (``idle_r``: DONE_LATENCY), so
        # ``done`` and ``draining`` start at flip-flops, not at the OR of the whole
        # pipeline's valid bits (ULX3S P = 64 at 90 MHz: the writer's ``busy`` -> that OR ->
        # 3.9 ns across the die -> ``draining`` was the worst path, 11.27 ns)
        ended = draining & idle_r & ~self.s1_valid
        restart = Signal(name=f"restart_{TAG}1", attrs=VIVADO_ATTRS)
        m.d.sync += restart.eq(ended)
        m.d.comb += self.restart.eq(unaliased(restart))
        with m.If(ended):
            m.d.comb += self.done.eq(1)
            m.d.sync += draining.eq(0)
        return m
