"""The writer: drains latched lane results through the requantizer into the activation memory."""

from __future__ import annotations

from amaranth.hdl import C, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.hw.cases import full_case
from fpgac.hw.checks import check_signed, check_unsigned
from fpgac.hw.fanout import TAG, VIVADO_ATTRS
from fpgac.hw.requant import Requantizer
from fpgac.hw.tables import field_rom

__all__ = ["Writer"]


class Writer(wiring.Component):
    """Drains one latched result per cycle: channel slot ``ci < nch`` outer, window slot
    ``wi < nvw`` inner (lane ``ci * width + wi``), addresses from counters and the channel
    table (``docs/architecture.md``, "Control").

    A ``start`` pulse in cycle ``c`` (the cycle the lanes latch) loads the group context
    (``start_layer``, ``start_final``, ``start_rank``: the round's first channel rank,
    ``start_nch``, ``start_nvw``, ``start_off0`` / ``start_px0``: the offset inside an output
    channel and the column of the group's first window). From ``c + 1`` on, cycle ``c + 1 +
    i`` (``i < nch * nvw``) holds result ``i``: it reads ``lanes[ci * width + wi]`` (into the
    first half of the lane multiplexer) and the prefetched ``chan_table[rank + ci] = (base,
    bias)``; cycle ``c + 1 + i + latency`` writes
    ``requant(lane + bias)`` (``params[layer]``) at ``base + offset`` (``wr_en``, ``wr_addr``,
    ``wr_data``; ``wr_final`` marks the last layer's writes). The window offset steps by one
    window per result (``+ out_wrap`` more on a row wrap of ``win_w`` windows) and restarts at
    ``start_off0`` for the next channel. The lanes' latches must stay stable until their last
    read (the controller's hazard rule). ``busy`` is high while anything is in flight except
    the write itself.

    Rectangle groups (``LayerDesc.br > 0``; ``start_nvc``: the group's valid columns, ``nvw``
    = valid rows x ``nvc``): the valid lanes only, ``u`` outer, ``v < nvc`` inner (lane
    ``ci * width + u * bc + v``, offset ``start_off0 + u * Wop + v``): at a row's end
    (column ``start_px0 + nvc``) the lane skips ``bc - nvc`` lanes and the offset ``Wop -
    nvc`` words. Raster order is the same walk with rows ending at ``win_w`` (the offset
    skips ``out_wrap``, the lane nothing).

    Parameters
    ----------
    plan : HardwarePlan
        Reads ``chan_table``, ``descriptors`` (``width``, ``win_w``, ``out_wrap``, ``br``,
        ``bc``),
        ``requant`` and the widths.
    """

    def __init__(self, plan):
        self._plan = plan
        self._params = tuple(plan.requant)
        self._pes = int(plan.pes)
        self._acc_bits = int(plan.acc_bits)
        self._addr_bits = int(plan.addr_bits)
        self._bias_bits = int(plan.bias_bits)
        descs = plan.descriptors
        self._sel_bits = unsigned_bits(len(self._params) - 1)
        self._entry = data.StructLayout({
            "base": unsigned(self._addr_bits), "bias": signed(self._bias_bits)})
        self._px_bits = unsigned_bits(max(d.win_w for d in descs) - 1)
        self._n_bits = unsigned_bits(max(max(d.slots, d.width) for d in descs))
        super().__init__({
            "start": In(1),
            "start_layer": In(unsigned(self._sel_bits)),
            "start_final": In(1),
            "start_rank": In(unsigned(unsigned_bits(len(plan.chan_table) - 1))),
            "start_nch": In(unsigned(self._n_bits)),
            "start_nvw": In(unsigned(self._n_bits)),
            "start_off0": In(unsigned(self._addr_bits)),
            "start_px0": In(unsigned(self._px_bits)),
            "start_nvc": In(unsigned(unsigned_bits(max(d.bc for d in descs)))),
            "lanes": In(data.ArrayLayout(signed(self._acc_bits), self._pes)),
            "wr_en": Out(1),
            "wr_addr": Out(unsigned(self._addr_bits)),
            "wr_data": Out(unsigned(plan.act_bits)),
            "wr_final": Out(1),
            "busy": Out(1),
        })

    #: Lanes per first-stage multiplexer of the lane multiplexer (two registered halves).
    LANE_GROUP = 8

    #: Cycles from reading a latched result to writing its requantized value: the two read
    #: registers (the lane multiplexer's halves; the channel table entry), the sum register
    #: and the requantizer.
    LATENCY = 3 + Requantizer.LATENCY

    @property
    def latency(self) -> int:
        """Cycles from reading a latched result to writing its requantized value."""
        return self.LATENCY

    def _walk(self, m, lp, sp, rd, lane_reps=()):
        """The drain counters (class docstring): channel slot, window, lane, offset and the
        channel-table address (``rd``); ``lp`` / ``sp``: the layer rows of the draining /
        starting group. Returns ``(layer, final, lane, off, active)``.

        The two ends that steer every counter, a channel slot's last window (``ch_end``) and a
        row's last column (``row_end``), are flip-flops, set one cycle ahead from down counters
        (``wrem``: windows left in the slot, ``prem``: columns left in the row) and from flags
        computed at ``start`` (``nvw1``, ``row1``, ``prem0_0``), so no compare's carry chain
        feeds the counters' wide enables (ULX3S P = 32: ``wi + 1 == nvw`` -> the enables of
        ``ci``, ``rank``, ``lane`` was the critical path, 79.4 MHz). ``lane_reps``: registers
        that hold the low bits of ``lane`` too (one per first-stage multiplexer)."""
        active = Signal()
        layer = Signal.like(self.start_layer)
        final = Signal()
        nch = Signal.like(self.start_nch)
        off0 = Signal.like(self.start_off0)
        ci = Signal.like(self.start_nch)
        wrem = Signal.like(self.start_nvw)          # windows left in the slot after this one
        wrem0 = Signal.like(self.start_nvw)         # nvw - 1
        lane = Signal(unsigned(unsigned_bits(self._pes)))
        lane_ci = Signal.like(lane)
        rank = Signal.like(self.start_rank)
        off = Signal.like(off0)
        pw = self._px_bits + 1
        prem = Signal(unsigned(pw))                 # columns left in the row after this one
        prem0 = Signal(unsigned(pw))                # ... in a slot's first row
        row_m1 = Signal(unsigned(pw))               # ... in the rows after it
        lskip = Signal.like(lane)
        oskip = Signal.like(off0)
        ch_end, row_end = Signal(), Signal()        # wrem == 0, prem == 0
        nvw1, row1, prem0_0 = Signal(), Signal(), Signal()   # wrem0, row_m1, prem0 == 0
        m.d.comb += [lp.addr.eq(layer), sp.addr.eq(self.start_layer)]

        def to_lane(value):         # ``lane <= value`` and its replicas' low bits
            return [lane.eq(value)] + [r.eq(value) for r in lane_reps]   # low bits

        with m.If(self.start):
            m.d.comb += rd.addr.eq(self.start_rank)
        with m.Else():
            m.d.comb += rd.addr.eq(Mux(ch_end, rank + 1, rank))
        with m.If(active):
            with m.If(ch_end):
                with m.If(ci + 1 == nch):
                    m.d.sync += active.eq(0)
                m.d.sync += [ci.eq(ci + 1), lane_ci.eq(lane_ci + lp.data.width),
                             *to_lane(lane_ci + lp.data.width), rank.eq(rank + 1),
                             off.eq(off0), wrem.eq(wrem0), ch_end.eq(nvw1),
                             prem.eq(prem0), row_end.eq(prem0_0)]
            with m.Else():
                m.d.sync += [wrem.eq(wrem - 1), ch_end.eq(wrem == 1)]
                with m.If(row_end):
                    m.d.sync += [prem.eq(row_m1), row_end.eq(row1),
                                 off.eq(off + 1 + oskip), *to_lane(lane + 1 + lskip)]
                with m.Else():
                    m.d.sync += [prem.eq(prem - 1), row_end.eq(prem == 1),
                                 off.eq(off + 1), *to_lane(lane + 1)]
        with m.If(self.start):
            first_m1 = Signal(unsigned(pw))         # prem0 of the starting group
            m.d.comb += first_m1.eq(Mux(sp.data.rect, self.start_nvc - 1,
                                        sp.data.win_w - 1 - self.start_px0))
            m.d.sync += [active.eq(1), layer.eq(self.start_layer), final.eq(self.start_final),
                         nch.eq(self.start_nch), off0.eq(self.start_off0), ci.eq(0),
                         wrem.eq(self.start_nvw - 1), wrem0.eq(self.start_nvw - 1),
                         ch_end.eq(self.start_nvw == 1), nvw1.eq(self.start_nvw == 1),
                         *to_lane(0), lane_ci.eq(0), rank.eq(self.start_rank),
                         off.eq(self.start_off0), prem.eq(first_m1), prem0.eq(first_m1),
                         row_end.eq(~first_m1.any()), prem0_0.eq(~first_m1.any())]
            with m.If(sp.data.rect):
                m.d.sync += [row_m1.eq(self.start_nvc - 1), row1.eq(self.start_nvc == 1),
                             lskip.eq(sp.data.bc - self.start_nvc),
                             oskip.eq(sp.data.owp - self.start_nvc)]
            with m.Else():
                m.d.sync += [row_m1.eq(sp.data.win_w - 1), row1.eq(sp.data.win_w == 1),
                             lskip.eq(0), oskip.eq(sp.data.out_wrap)]

        return layer, final, lane, off, active

    def elaborate(self, platform):
        m = Module()
        plan = self._plan
        table = plan.chan_table
        bases = check_unsigned("chan_table.base", (e[0] for e in table), self._addr_bits)
        biases = check_signed("chan_table.bias", (e[1] for e in table), self._bias_bits)
        m.submodules.chans = chans = memory.Memory(
            shape=self._entry, depth=max(2, len(table)),
            init=[{"base": ba, "bias": bi} for ba, bi in zip(bases, biases)])
        rd = chans.read_port()
        rows = [{"width": d.width, "rect": int(d.br > 0), "bc": d.bc, "win_w": d.win_w,
                 "out_wrap": d.out_wrap, "owp": d.win_w + d.out_wrap}
                for d in plan.descriptors]
        m.submodules.layers = lmem = field_rom(rows)
        lp = lmem.read_port(domain="comb")
        sp = lmem.read_port(domain="comb")      # the starting group's layer
        sum_bits = max(self._acc_bits, self._bias_bits) + 1
        m.submodules.requant = rq = Requantizer(self._params, in_bits=sum_bits,
                                                tag_bits=self._addr_bits + 1)

        group = self.LANE_GROUP
        lo_bits = (group - 1).bit_length()
        ngroups = -(-self._pes // group)
        # each first-stage multiplexer reads a copy of the lane's low bits of its own
        # (``fpgac.hw.fanout`` names: synthesis keeps them; ULX3S P = 64 at 100 MHz: ``lane``
        # -> 5.36 ns across the die -> a far group's multiplexer -> its part, 10.30 ns)
        # (no reset: read only while draining, loaded at ``start``; with one, P = 75 at 100
        # MHz on bcc9dbc: the core reset -> 6.49 ns across the die -> a copy's LSR, 10.08 ns)
        reps = [Signal(unsigned(lo_bits), name=f"lane_{TAG}{j}", attrs=VIVADO_ATTRS,
                       reset_less=True) for j in range(ngroups)] if lo_bits else []
        layer, final, lane, off, active = self._walk(m, lp, sp, rd, reps)

        # read stages (cycles c + 1 + i and c + 2 + i): the lane multiplexer in two registered
        # halves, one LANE_GROUP:1 multiplexer per group of lanes on the lane's low bits, then
        # one over the groups on its high bits (ULX3S P = 64 with the multipliers in the DSPs:
        # `lane` -> the 64:1 multiplexer -> `picked0` was the worst path, 12.6 ns); beside
        # them the table entry (a block RAM without its output register: its data registered
        # twice), the offset, the layer and the valid bit; then the sum stage: value + bias,
        # base + offset (the values have no reset: they are used only under valid0 / valid1)
        parts = [Signal(signed(self._acc_bits), name=f"part{j}", reset_less=True)
                 for j in range(ngroups)]
        for j, part in enumerate(parts):
            members = range(group * j, min(group * (j + 1), self._pes))
            for p in full_case(m, reps[j] if reps else lane[:lo_bits], members):
                m.d.sync += part.eq(self.lanes[p])

        def delayed(value, name, *, reset_less=True):
            reg = Signal(value.shape(), name=name, reset_less=reset_less)
            m.d.sync += reg.eq(value)
            return reg

        # beside the first half: the lane's high bits, the table entry, offset, layer, valid
        hi_r = delayed(lane[lo_bits:] if len(lane) > lo_bits else C(0, 1), "hi_r")
        side = {"bias": rd.data.bias, "base": rd.data.base, "off": off, "final": final,
                "sel": layer}
        side_r = {k: delayed(v, f"{k}_r") for k, v in side.items()}
        valid_r = delayed(active, "valid_r", reset_less=False)
        # beside the second half
        picked0 = Signal(signed(self._acc_bits), reset_less=True)
        for part in full_case(m, hi_r, parts):
            m.d.sync += picked0.eq(part)
        bias0, base0, off0r, final0, sel0 = (delayed(v, f"{k}0") for k, v in side_r.items())
        valid0 = delayed(valid_r, "valid0", reset_less=False)
        value1 = Signal(signed(sum_bits), reset_less=True)
        tag1 = Signal(unsigned(self._addr_bits + 1), reset_less=True)
        sel1 = Signal.like(layer, reset_less=True)
        valid1 = Signal()
        addr = Signal(unsigned(self._addr_bits))
        m.d.comb += addr.eq(base0 + off0r)
        m.d.sync += [
            value1.eq(picked0 + bias0),
            tag1.eq(addr | (final0 << self._addr_bits)),
            sel1.eq(sel0), valid1.eq(valid0),
        ]
        m.d.comb += [
            rq.i.valid.eq(valid1), rq.i.payload.value.eq(value1), rq.i.payload.sel.eq(sel1),
            rq.i.payload.tag.eq(tag1),
            self.wr_en.eq(rq.o.valid),
            self.wr_addr.eq(rq.o.payload.tag[:self._addr_bits]),
            self.wr_final.eq(rq.o.payload.tag[self._addr_bits]),
            self.wr_data.eq(rq.o.payload.value),
            self.busy.eq(active | valid_r | valid0 | valid1 | rq.busy),
        ]
        return m
