"""The requantizer: accumulator (incl. bias) -> output activation (``docs/semantics.md`` §2)."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgac.compiler.analysis.widths import signed_bits, unsigned_bits
from fpgac.compiler.plan import REQUANT_SPLIT, Requant
from fpgac.hw.cases import full_case

__all__ = ["Requantizer"]


class Requantizer(wiring.Component):
    """Pipelined requantizer over a fixed table of per-layer constants.

    For an input ``(value, sel, tag)`` it outputs, :attr:`latency` cycles later,
    ``(y, tag)`` with, for ``q = params[sel]``::

        y = ((value * q.mqm0 + q.rnd) >> q.shift) + q.outz      # arithmetic (floor) shift
        y = max(y, q.outz) if q.relu
        y = min(max(y, 0), 2**q.n_bits - 1)

    The streams are always ready (no back-pressure); ``o.valid`` follows ``i.valid``.
    ``busy`` is high while an item is inside (accepted, not yet on ``o``). Stages (one
    register each, :attr:`LATENCY`): the layer's constants, the product (two partial products
    when ``in_bits`` > :attr:`SPLIT` + 1), the rounding constant (with their sum), the shift
    (with the zero point and clamp bounds), the zero point, the clamp.

    Parameters
    ----------
    params : tuple of Requant
        The constants, selected by ``i.payload.sel``.
    in_bits : int
        Signed width of ``value``.
    tag_bits : int
        Width of the pass-through tag.
    """

    def __init__(self, params: tuple[Requant, ...], *, in_bits: int, tag_bits: int = 1):
        self._params = tuple(params)
        if not self._params:
            raise ValueError("Requantizer: expected at least one parameter set")
        self._in_bits = int(in_bits)
        self._tag_bits = int(tag_bits)
        self._sel_bits = unsigned_bits(len(self._params) - 1)
        self._out_bits = max(q.n_bits for q in self._params)
        big = 2 ** (self._in_bits - 1)
        self._prod_bits = signed_bits(max(big * q.mqm0 + q.rnd for q in self._params))
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({
                "value": signed(self._in_bits), "sel": unsigned(self._sel_bits),
                "tag": unsigned(self._tag_bits)}), always_ready=True)),
            "o": Out(stream.Signature(data.StructLayout({
                "value": unsigned(self._out_bits), "tag": unsigned(self._tag_bits)}),
                always_ready=True)),
            "busy": Out(1),
        })

    #: Low bits of the value multiplied apart from the rest (an ECP5 MULT18X18D input is 18
    #: bits signed: 17 unsigned bits; ``compiler.plan.REQUANT_SPLIT``).
    SPLIT = REQUANT_SPLIT

    #: Cycles from ``i.valid`` to ``o.valid`` of the same item: constants, multiply, round,
    #: shift, zero point, clamp (one register stage each).
    LATENCY = 6

    @property
    def latency(self) -> int:
        """Cycles from ``i.valid`` to ``o.valid`` of the same item."""
        return self.LATENCY

    @property
    def out_bits(self) -> int:
        return self._out_bits

    def elaborate(self, platform):
        m = Module()
        params = self._params

        def per_layer(sel, assign):
            # a full case: the last layer takes the default branch (no latch-like holes)
            for q in full_case(m, sel, params):
                m.d.sync += assign(q)

        # the item and its layer select follow the stages 1 .. 6
        sel = [self.i.payload.sel]
        tag = [self.i.payload.tag]
        valid = [self.i.valid]
        for s in range(1, self.LATENCY + 1):
            sel.append(Signal.like(self.i.payload.sel, name=f"sel{s}", reset_less=True))
            tag.append(Signal.like(self.i.payload.tag, name=f"tag{s}", reset_less=True))
            valid.append(Signal(name=f"valid{s}"))
            m.d.sync += [sel[s].eq(sel[s - 1]), tag[s].eq(tag[s - 1]),
                         valid[s].eq(valid[s - 1])]
        # 1: the value and the layer's multiplier and rounding constant
        # (only the valid bits have a reset: the values are read under them)
        value1 = Signal.like(self.i.payload.value, reset_less=True)
        mq1 = Signal(unsigned(unsigned_bits(max(q.mqm0 for q in params))), reset_less=True)
        rnd1 = Signal(unsigned(unsigned_bits(max(q.rnd for q in params))), reset_less=True)
        m.d.sync += value1.eq(self.i.payload.value)
        per_layer(sel[0], lambda q: [mq1.eq(q.mqm0), rnd1.eq(q.rnd)])
        # 2: the product, as two partial products of the value's low SPLIT bits (unsigned)
        # and the rest (signed) when the value is wider than one multiplier input, so each is
        # a multiplier into a register (ECP5 timing: MULT18X18D -> the adder of the partial
        # products -> register was the critical path of the routed P = 16 build at 100 MHz);
        # 3: their sum plus the rounding constant (the same value: value * mq + rnd)
        rnd2 = Signal.like(rnd1)
        sum3 = Signal(signed(self._prod_bits), reset_less=True)
        m.d.sync += rnd2.eq(rnd1)
        if self._in_bits > self.SPLIT + 1:
            lo2 = Signal(unsigned(self.SPLIT + mq1.shape().width), reset_less=True)
            hi2 = Signal(signed(self._prod_bits - self.SPLIT + 1), reset_less=True)
            m.d.sync += [lo2.eq(value1[:self.SPLIT] * mq1),
                         hi2.eq(value1[self.SPLIT:].as_signed() * mq1),
                         sum3.eq((hi2 << self.SPLIT) + lo2 + rnd2)]
        else:
            prod2 = Signal(signed(self._prod_bits), reset_less=True)
            m.d.sync += [prod2.eq(value1 * mq1), sum3.eq(prod2 + rnd2)]
        # 4: the arithmetic (floor) shift, and the layer's zero point and clamp bounds
        sh4 = Signal(signed(self._prod_bits), reset_less=True)
        outz4 = Signal(unsigned(self._out_bits), reset_less=True)
        lo4 = Signal(unsigned(self._out_bits), reset_less=True)
        hi4 = Signal(unsigned(self._out_bits), reset_less=True)
        per_layer(sel[3], lambda q: [sh4.eq(sum3 >> q.shift), outz4.eq(q.outz),
                                     lo4.eq(q.outz if q.relu else 0),
                                     hi4.eq(2 ** q.n_bits - 1)])
        # 5: plus the zero point; 6: clamp
        y5 = Signal(signed(max(self._prod_bits, self._out_bits + 1) + 1), reset_less=True)
        lo5 = Signal.like(lo4)
        hi5 = Signal.like(hi4)
        m.d.sync += [y5.eq(sh4 + outz4), lo5.eq(lo4), hi5.eq(hi4)]
        m.d.sync += self.o.payload.value.eq(Mux(y5 < lo5, lo5, Mux(y5 > hi5, hi5, y5)))
        m.d.comb += [self.o.payload.tag.eq(tag[-1]), self.o.valid.eq(valid[-1]),
                     self.busy.eq(Cat(*valid[1:-1]).any())]
        return m
