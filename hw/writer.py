"""The writer: drains latched lane results through the requantizer into the activation memory."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.compiler.plan import Requant
from fpgac.hw.checks import check_signed, check_unsigned
from fpgac.hw.requant import Requantizer

__all__ = ["Writer"]


class Writer(wiring.Component):
    """Drains one latched result per cycle, in the order of the output table.

    A ``start`` pulse in cycle ``c`` (the cycle the lanes latch) loads the group context; from
    ``c + 1`` on, for ``i < count``, cycle ``c + 1 + i`` reads entry ``out_table[base + i] =
    (lane, addr, bias)`` (prefetched) and ``lanes[lane]``, and cycle ``c + 1 + i + latency``
    writes ``requant(lanes[lane] + bias)`` (``params[layer]``) at ``addr`` (``wr_en``,
    ``wr_addr``, ``wr_data``; ``wr_final`` marks the last layer's writes). The lanes' latches
    must stay stable until their last read (the controller's hazard rule).
    ``busy`` is high while anything is in flight except the write itself.

    Parameters
    ----------
    out_table : tuple of (lane, addr, bias)
    params : tuple of Requant
    pes, acc_bits, addr_bits, bias_bits, act_bits : int
    """

    def __init__(self, *, out_table, params: tuple[Requant, ...], pes: int, acc_bits: int,
                 addr_bits: int, bias_bits: int, act_bits: int):
        self._table = tuple(out_table)
        self._params = tuple(params)
        self._pes = int(pes)
        self._acc_bits = int(acc_bits)
        self._addr_bits = int(addr_bits)
        self._bias_bits = int(bias_bits)
        self._lane_bits = unsigned_bits(self._pes - 1)
        self._idx_bits = unsigned_bits(len(self._table))
        self._sel_bits = unsigned_bits(len(self._params) - 1)
        self._entry = data.StructLayout({
            "lane": unsigned(self._lane_bits), "addr": unsigned(self._addr_bits),
            "bias": signed(self._bias_bits)})
        super().__init__({
            "start": In(1),
            "start_base": In(unsigned(self._idx_bits)),
            "start_count": In(unsigned(unsigned_bits(self._pes))),
            "start_layer": In(unsigned(self._sel_bits)),
            "start_final": In(1),
            "lanes": In(data.ArrayLayout(signed(self._acc_bits), self._pes)),
            "wr_en": Out(1),
            "wr_addr": Out(unsigned(self._addr_bits)),
            "wr_data": Out(unsigned(act_bits)),
            "wr_final": Out(1),
            "busy": Out(1),
        })

    @property
    def latency(self) -> int:
        """Cycles from reading a latched result to writing its requantized value."""
        return 1 + 2   # sum register + Requantizer.latency

    def elaborate(self, platform):
        m = Module()
        lanes = check_unsigned("out_table.lane", (e[0] for e in self._table), self._lane_bits)
        addrs = check_unsigned("out_table.addr", (e[1] for e in self._table), self._addr_bits)
        biases = check_signed("out_table.bias", (e[2] for e in self._table), self._bias_bits)
        m.submodules.table = table = memory.Memory(
            shape=self._entry, depth=max(2, len(self._table)),
            init=[{"lane": ln, "addr": ad, "bias": bi} for ln, ad, bi in
                  zip(lanes, addrs, biases)])
        rd = table.read_port()
        sum_bits = max(self._acc_bits, self._bias_bits) + 1
        m.submodules.requant = rq = Requantizer(self._params, in_bits=sum_bits,
                                                tag_bits=self._addr_bits + 1)

        active = Signal()
        idx = Signal(unsigned(self._idx_bits))
        base = Signal.like(self.start_base)
        count = Signal.like(self.start_count)
        layer = Signal.like(self.start_layer)
        final = Signal()
        with m.If(self.start):
            m.d.comb += rd.addr.eq(self.start_base)
        with m.Else():
            m.d.comb += rd.addr.eq(base + idx + 1)
        with m.If(active):
            m.d.sync += idx.eq(idx + 1)
            with m.If(idx + 1 == count):
                m.d.sync += active.eq(0)
        with m.If(self.start):
            m.d.sync += [active.eq(1), idx.eq(0), base.eq(self.start_base),
                         count.eq(self.start_count), layer.eq(self.start_layer),
                         final.eq(self.start_final)]

        value1 = Signal(signed(sum_bits))
        tag1 = Signal(unsigned(self._addr_bits + 1))
        sel1 = Signal.like(layer)
        valid1 = Signal()
        valid2 = Signal()
        # lane multiplexer as a full case (a dynamic part-select would be a wide shift that
        # Verilog truncates: WIDTHTRUNC)
        picked = Signal(signed(self._acc_bits))
        with m.Switch(rd.data.lane):
            for p in range(self._pes):
                with (m.Case(p) if p < self._pes - 1 else m.Default()):
                    m.d.comb += picked.eq(self.lanes[p])
        m.d.sync += [
            value1.eq(picked + rd.data.bias),
            tag1.eq(rd.data.addr | (final << self._addr_bits)),
            sel1.eq(layer), valid1.eq(active), valid2.eq(valid1),
        ]
        m.d.comb += [
            rq.i.valid.eq(valid1), rq.i.payload.value.eq(value1), rq.i.payload.sel.eq(sel1),
            rq.i.payload.tag.eq(tag1),
            self.wr_en.eq(rq.o.valid),
            self.wr_addr.eq(rq.o.payload.tag[:self._addr_bits]),
            self.wr_final.eq(rq.o.payload.tag[self._addr_bits]),
            self.wr_data.eq(rq.o.payload.value),
            self.busy.eq(active | valid1 | valid2),
        ]
        return m
