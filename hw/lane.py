"""One processing element (lane): activation address, multiply, accumulate, pool, latch."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Lane"]


class Lane(wiring.Component):
    """A lane of the lockstep array.

    A step presented in cycle ``c`` (stage 1: ``valid`` and the step fields) drives
    ``rd_addr = in_base + phase_off + tap`` combinationally in ``c`` (the activation memory
    answers on ``rd_data`` in ``c + 1``), multiplies ``(x - inz) * d`` in ``c + 1`` and in
    ``c + 2`` updates::

        acc  = (first ? 0 : acc) + product
        pool = phase0 ? acc : max(pool, acc)          if last  (last step of a phase)
        result = that pooled value                     if latch (last step of the group)

    ``result`` shows the latched value from ``c + latency``. ``busy`` is high while a valid
    step is in stage 2 or 3. The accumulator is ``acc_bits`` signed; the compiler guarantees no
    overflow (:mod:`fpgac.compiler.analysis.widths`).
    """

    def __init__(self, *, act_bits: int, w_bits: int, tap_bits: int, addr_bits: int,
                 acc_bits: int):
        self._act_bits = int(act_bits)
        self._acc_bits = int(acc_bits)
        super().__init__({
            "valid": In(1), "first": In(1), "last": In(1), "phase0": In(1), "latch": In(1),
            "inz": In(unsigned(act_bits)),
            "d": In(signed(w_bits)),
            "tap": In(unsigned(tap_bits)),
            "in_base": In(unsigned(addr_bits)),
            "phase_off": In(unsigned(addr_bits)),
            "rd_addr": Out(unsigned(addr_bits)),
            "rd_data": In(unsigned(act_bits)),
            "result": Out(signed(acc_bits)),
            "busy": Out(1),
        })

    #: Cycles from a step at the lane input to its latched value on ``result``.
    LATENCY = 3

    @property
    def latency(self) -> int:
        """Cycles from a step at the lane input to its latched value on ``result``."""
        return self.LATENCY

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.rd_addr.eq(self.in_base + self.phase_off + self.tap)
        # stage 2
        v2, first2, last2, p02, lat2 = (Signal(name=f"{n}2") for n in
                                        ("valid", "first", "last", "phase0", "latch"))
        d2 = Signal.like(self.d)
        inz2 = Signal.like(self.inz)
        m.d.sync += [v2.eq(self.valid), first2.eq(self.first), last2.eq(self.last),
                     p02.eq(self.phase0), lat2.eq(self.latch), d2.eq(self.d),
                     inz2.eq(self.inz)]
        # stage 3
        v3, first3, last3, p03, lat3 = (Signal(name=f"{n}3") for n in
                                        ("valid", "first", "last", "phase0", "latch"))
        xd = Signal(signed(self._act_bits + 1))
        prod = Signal(signed(2 * (self._act_bits + 1)))
        m.d.comb += xd.eq(self.rd_data - inz2)
        m.d.sync += [v3.eq(v2), first3.eq(first2), last3.eq(last2), p03.eq(p02),
                     lat3.eq(lat2), prod.eq(xd * d2)]
        acc = Signal(signed(self._acc_bits))
        pool = Signal(signed(self._acc_bits))
        acc_new = Signal(signed(self._acc_bits))
        pooled = Signal(signed(self._acc_bits))
        m.d.comb += [
            acc_new.eq(Mux(first3, 0, acc) + prod),
            pooled.eq(Mux(p03 | (acc_new > pool), acc_new, pool)),
        ]
        with m.If(v3):
            m.d.sync += acc.eq(acc_new)
            with m.If(last3):
                m.d.sync += pool.eq(pooled)
            with m.If(lat3):
                m.d.sync += self.result.eq(pooled)
        m.d.comb += self.busy.eq(v2 | v3)
        return m
