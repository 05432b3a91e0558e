"""The requantizer: accumulator (incl. bias) -> output activation (``docs/semantics.md`` §2)."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgac.compiler.analysis.widths import signed_bits, unsigned_bits
from fpgac.compiler.plan import Requant

__all__ = ["Requantizer"]


class Requantizer(wiring.Component):
    """Pipelined requantizer over a fixed table of per-layer constants.

    For an input ``(value, sel, tag)`` it outputs, :attr:`latency` cycles later,
    ``(y, tag)`` with, for ``q = params[sel]``::

        y = ((value * q.mqm0 + q.rnd) >> q.shift) + q.outz      # arithmetic (floor) shift
        y = max(y, q.outz) if q.relu
        y = min(max(y, 0), 2**q.n_bits - 1)

    The streams are always ready (no back-pressure); ``o.valid`` follows ``i.valid``.

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
        })

    @property
    def latency(self) -> int:
        """Cycles from ``i.valid`` to ``o.valid`` of the same item."""
        return 2

    @property
    def out_bits(self) -> int:
        return self._out_bits

    def elaborate(self, platform):
        m = Module()
        params = self._params
        mq = Signal(unsigned(unsigned_bits(max(q.mqm0 for q in params))))
        rnd = Signal(unsigned(unsigned_bits(max(q.rnd for q in params))))
        with m.Switch(self.i.payload.sel):
            for k, q in enumerate(params):
                # the last layer takes the default branch: a full case, no latch-like holes
                with (m.Case(k) if k < len(params) - 1 else m.Default()):
                    m.d.comb += [mq.eq(q.mqm0), rnd.eq(q.rnd)]
        prod = Signal(signed(self._prod_bits))
        sel1 = Signal.like(self.i.payload.sel)
        tag1 = Signal.like(self.i.payload.tag)
        valid1 = Signal()
        m.d.sync += [
            prod.eq(self.i.payload.value * mq + rnd),
            sel1.eq(self.i.payload.sel), tag1.eq(self.i.payload.tag), valid1.eq(self.i.valid),
        ]
        y = Signal(signed(self._prod_bits + 1))
        lo = Signal(signed(self._prod_bits + 1))
        hi = Signal(unsigned(self._out_bits))
        with m.Switch(sel1):
            for k, q in enumerate(params):
                with (m.Case(k) if k < len(params) - 1 else m.Default()):
                    m.d.comb += [
                        y.eq((prod >> q.shift) + q.outz),
                        lo.eq(q.outz if q.relu else 0),
                        hi.eq(2**q.n_bits - 1),
                    ]
        m.d.sync += [
            self.o.payload.value.eq(Mux(y < lo, lo, Mux(y > hi, hi, y))),
            self.o.payload.tag.eq(tag1),
            self.o.valid.eq(valid1),
        ]
        return m
