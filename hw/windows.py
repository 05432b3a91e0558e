"""The lanes' window counters: each lane's input base address, generated per group."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.compiler.plan import HardwarePlan
from fpgac.hw.cases import full_case
from fpgac.hw.checks import check_unsigned
from fpgac.hw.fanout import lane_group, registers, replicate
from fpgac.hw.tables import field_rom

__all__ = ["LaneWindows"]


class LaneWindows(wiring.Component):
    """Per lane ``p`` a counter ``(base, px, j)`` (``docs/architecture.md``, "Control"):
    ``in_base[p]`` is the activation base address of the lane's window for the group whose
    steps are at the lane inputs.

    All inputs come :attr:`AHEAD` = **three cycles ahead** of the step at the lane inputs (the
    step three stages before them in the core's step pipeline): ``advance`` (the last step of a
    group, with that group's ``layer``, ``final``, ``glast``: last window group of its round,
    ``rlast``: last round of its layer). Two advances are at least ``plan.group_latency`` = 2
    cycles apart (the controller's rule; refused otherwise). The module registers them (the
    first cycle: the layer once per group of ``plan.fanout_lanes`` lanes, :mod:`fpgac.hw.fanout`;
    the layer to reload and the controls once), then, in the second, the descriptor row of
    each group's layer copy from that group's own copy of the small step ROM, and the controls
    once per group, and in the third each lane's decision (row wrap, window limit) and the
    increments it selects, from its counters (stable then: no advance in the cycle before an
    advance): so the counters update from registers only, by one adder each (ECP5 timing: no
    descriptor ROM, no compare and no multiplexer in front of them; the ULX3S P = 64 route
    at 100 MHz had its worst path from a group's row through the lanes' wrap compare to `px`,
    11.74 ns, 10.25 of it routing), no single register drives all the lanes' counters, and no
    single ROM drives all the groups' rows (ULX3S P = 64 at 85 MHz: the shared ROM's address
    -> its LUTs -> the rows' replicas across the die was the worst path, 11.37 ns). In the
    cycle that last step is at the lane inputs, the counters update for the next group:
    within a round each lane's window moves ``width`` windows on (``j += width``; ``px +=
    step_px``, ``base += step_base``; on ``px >= win_w``: ``px -= win_w``, ``base +=
    wrap_base``; a lane whose new ``j >= windows`` keeps its base), after a round's last window
    group the counters reload ``lane_init`` of the next group's layer (layer 0 after the
    program's last group, which are also the reset values). The new bases show from the next
    cycle.

    Rectangle groups (``LayerDesc.br > 0``): every used lane's ``px`` is the group's column
    ``c0`` (``lane_init`` 0), stepping ``step_px = bc`` and wrapping at ``grp_w`` (the last
    group of a row of rectangles: the same decision in every lane), ``base`` steps
    ``step_base`` (``+ wrap_base`` on that wrap: ``br`` rows down, back to column 0); ``j``
    stays (0 on a used lane, limit 1; 1 on an unused lane, which keeps its base). Lanes of
    partial rectangles move on like the others (their windows lie past the map's last row or
    column, computed and not written; the compiler keeps their reads inside the memory).

    The compares are taken on the old values against per-layer limits (``j + width <
    windows`` as ``j < windows - width``, ``px + step_px >= win_w`` as ``px >= win_w -
    step_px``) and both candidate ``px`` / ``base`` sums are formed in parallel (``base +
    (step_base + wrap_base)`` as one adder, modulo the address width like the two adds it
    replaces), so the next state is one carry chain and a multiplexer from the registers.
    """

    #: Cycles the inputs come before the step they describe is at the lane inputs.
    AHEAD = 3

    def __init__(self, plan: HardwarePlan):
        if plan.group_latency < 2:
            raise ValueError(f"plan.group_latency: expected >= 2 (the counters' decisions are "
                             f"registered between two advances), found {plan.group_latency}")
        self._plan = plan
        descs = plan.descriptors
        self._px_bits = unsigned_bits(max(d.win_w for d in descs) - 1)
        self._j_bits = unsigned_bits(max(max(d.windows, j) + d.width for d, row in
                                         zip(descs, plan.lane_init) for _, _, j in row))
        super().__init__({
            "advance": In(1),
            "layer": In(unsigned(unsigned_bits(len(descs) - 1))),
            "final": In(1), "glast": In(1), "rlast": In(1),
            "in_base": Out(data.ArrayLayout(unsigned(plan.addr_bits), plan.pes)),
        })

    def elaborate(self, platform):
        m = Module()
        plan = self._plan
        ab = plan.addr_bits
        pb = self._px_bits
        # rectangles: j does not move (0 on a used lane, 1 on an unused one, limit 1) and
        # px is the group's column, wrapping at grp_w (a group-level decision taken by
        # every lane from the same registers)
        rows = [{"width": 0 if d.br else d.width,
                 "jlim": 1 if d.br else max(d.windows - d.width, 0),
                 "pxlim": max(d.grp_w - d.step_px, 0), "step_px": d.step_px,
                 "wrap_px": (d.step_px - d.grp_w) % (1 << pb), "step_base": d.step_base,
                 "wrap_step": (d.step_base + d.wrap_base) % (1 << ab)}
                for d in plan.descriptors]
        nl = len(plan.descriptors)
        # first cycle: the layer once per lane group, the controls and the layer to reload
        # once (only `advance` has a reset: the others are read under it)
        layers = replicate(m, plan, "layer", self.layer, reset_less=True)
        advance_a = Signal(name="advance_a")
        glast_a = Signal(name="glast_a", reset_less=True)
        nxt_layer_a = Signal.like(self.layer, name="nxt_layer_a", reset_less=True)
        m.d.sync += [advance_a.eq(self.advance), glast_a.eq(self.glast),
                     nxt_layer_a.eq(Mux(self.rlast, Mux(self.final, 0, self.layer + 1),
                                        self.layer))]
        # second cycle: the row of the step at the lane inputs from each group's own ROM
        # copy, and the update controls, one register copy per lane group (fpgac.hw.fanout:
        # no net from one register, or one ROM, to every lane)
        sts = []
        for g, layer in enumerate(layers):
            m.submodules[f"steps{g}"] = smem = field_rom(rows)
            sp = smem.read_port(domain="comb")
            m.d.comb += sp.addr.eq(layer)
            sts += registers(m, 1, f"row{g}", sp.data, reset_less=True)
        advances = replicate(m, plan, "advance", advance_a)
        glasts = replicate(m, plan, "glast", glast_a, reset_less=True)
        nxt_layers = replicate(m, plan, "nxt_layer", nxt_layer_a, reset_less=True)
        # third cycle: each lane's decision (row wrap, window limit) and increments from
        # registers (its counters are stable here: advances are >= group_latency = 2 cycles
        # apart), the controls and the window step once more per group
        def again(name, sig, reset_less=True):
            reg = Signal.like(sig, name=name, reset_less=reset_less)
            m.d.sync += reg.eq(sig)
            return reg
        advances = [again(f"advance_c{g}", a, reset_less=False) for g, a in enumerate(advances)]
        glasts = [again(f"glast_c{g}", v) for g, v in enumerate(glasts)]
        nxt_layers = [again(f"nxt_layer_c{g}", v) for g, v in enumerate(nxt_layers)]
        widths = [again(f"width_c{g}", st.width) for g, st in enumerate(sts)]
        for p in range(plan.pes):
            g = lane_group(plan, p)
            st, advance, glast, nxt_layer = sts[g], advances[g], glasts[g], nxt_layers[g]
            inits = [plan.lane_init[li][p] for li in range(nl)]
            check_unsigned(f"lane_init[*][{p}].base", [b for b, _, _ in inits], ab)
            check_unsigned(f"lane_init[*][{p}].px", [x for _, x, _ in inits], pb)
            check_unsigned(f"lane_init[*][{p}].j", [j for _, _, j in inits], self._j_bits)
            b0, x0, j0 = inits[0]
            base = Signal(unsigned(ab), init=b0, name=f"base{p}")
            px = Signal(unsigned(pb), init=x0, name=f"px{p}")
            j = Signal(unsigned(self._j_bits), init=j0, name=f"j{p}")
            m.d.comb += self.in_base[p].eq(base)
            move = Signal(name=f"move{p}", reset_less=True)
            dpx = Signal(unsigned(pb), name=f"dpx{p}", reset_less=True)
            dbase = Signal(unsigned(ab), name=f"dbase{p}", reset_less=True)
            wrap = px >= st.pxlim
            m.d.sync += [move.eq(j < st.jlim), dpx.eq(Mux(wrap, st.wrap_px, st.step_px)),
                         dbase.eq(Mux(wrap, st.wrap_step, st.step_base))]
            with m.If(advance):
                with m.If(~glast):
                    m.d.sync += j.eq(j + widths[g])
                    with m.If(move):
                        m.d.sync += [px.eq(px + dpx), base.eq(base + dbase)]
                with m.Else():
                    for b, x, v in full_case(m, nxt_layer, inits):   # last layer: default
                        m.d.sync += [base.eq(b), px.eq(x), j.eq(v)]
        return m
