"""One processing element (lane): activation address, multiply, accumulate, pool, latch."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .mul import RegisteredMultiplier

__all__ = ["Lane"]

_FLAGS = ("valid", "first", "last", "phase0", "latch")


class Lane(wiring.Component):
    """A lane of the lockstep array, pipelined so that no stage holds more than one memory
    read, one multiplier or one carry chain (``docs/architecture.md``, "Pipeline and
    latencies").

    A step presented in cycle ``c`` (``valid`` and the step fields) goes through::

        c      register tap and in_base + phase_off            (after the core's bank mux)
        c + 1  register rd_addr = base + tap                  (address register)
        c + 2  activation memory read at rd_addr              (block RAM; distributed-RAM tail)
        c + 3  register the read word                         (block-RAM output register)
        c + 4  register x - inz and d                         (multiplier input registers)

    The read register is the activation memory's (``rd_data`` is the word at the ``rd_addr``
    of two cycles before, from a register: :class:`~fpgac.hw.io.ActivationMemory`; on an ECP5
    build the ``DP16KD``'s ``OUTREG``), so ``x - inz`` is computed from ``rd_data`` directly.
        c + 5  register (x - inz) * d                         (multiplier output register)

    The two multiplier registers are a :class:`~fpgac.hw.mul.RegisteredMultiplier`: on an
    ECP5 build, the ``MULT18X18D``'s own.
        c + 6  acc = (first ? 0 : acc) + product
        c + 7  register gt = acc > pool and a copy of acc          (the compare's carry chain)
        c + 8  pool = phase0 | gt ? acc : pool                 if last  (last step of a phase)
               result = that pooled value                     if latch (last step of the group)

    The compare in ``c + 7`` reads ``pool`` as written by the previous phase's last step in
    its ``c' + 8``; that is the pooled value of every earlier phase as long as two phase ends
    of a group are at least two cycles apart, i.e. a pooled layer's rounds take at least two
    steps per phase (``plan.program``'s ``count >= 2`` where ``phases > 1``: the compiler's
    rule, :mod:`fpgac.compiler.passes.emit_tables`). A one-phase group needs no compare
    (``phase0`` takes ``acc``). Why two stages: the compare's carry chain and the select of
    ``acc_bits`` x 2 multiplexers in one cycle were the worst path of the ULX3S LeNet-5
    routes at 100 MHz (P = 64 and 75, 2026-12-03: ``acc`` -> compare -> ``pool``, 9.5-10.6 ns).

    ``result`` shows the latched value from ``c + latency`` (:attr:`LATENCY` = 9). ``busy`` is
    high while a valid step is in any stage after ``c``. The accumulator is ``acc_bits``
    signed; the compiler guarantees no overflow (:mod:`fpgac.compiler.analysis.widths`).

    Reset: only the stages' ``valid`` bits have one. Every other register is ``reset_less``
    (a datapath value is used only under its step's ``valid``; ``acc``, ``pool`` and
    ``result`` are written by a step's ``first`` / ``phase0`` / ``latch`` before they are
    read), so the core's reset reaches 7 flip-flops per lane instead of about 240
    (``docs/boards.md``, "The datapath without reset").
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
    LATENCY = 9
    #: Cycles from ``rd_addr`` to its word on ``rd_data`` (the activation memory's read and
    #: output register): stages 2 -> 4.
    READ_LATENCY = 2

    @property
    def latency(self) -> int:
        """Cycles from a step at the lane input to its latched value on ``result``."""
        return self.LATENCY

    def elaborate(self, platform):
        m = Module()
        # flags, d and inz follow the step through stages 1 .. 8 (stage s is cycle c + s)
        flags = [{n: getattr(self, n) for n in _FLAGS}]
        for s in range(1, 9):
            stage = {n: Signal(name=f"{n}{s}", reset_less=n != "valid") for n in _FLAGS}
            m.d.sync += [stage[n].eq(flags[-1][n]) for n in _FLAGS]
            flags.append(stage)
        d = [self.d]
        for s in range(1, 5):
            d.append(Signal.like(self.d, name=f"d{s}", reset_less=True))
            m.d.sync += d[s].eq(d[s - 1])
        inz = [self.inz]
        for s in range(1, 5):
            inz.append(Signal.like(self.inz, name=f"inz{s}", reset_less=True))
            m.d.sync += inz[s].eq(inz[s - 1])

        # stage 1: the address parts; stage 2: the address, both from registers (ECP5: the
        # address adder does not feed a distributed-RAM read in the same cycle)
        tap1 = Signal.like(self.tap, reset_less=True)
        base1 = Signal.like(self.in_base, reset_less=True)
        addr2 = Signal.like(self.in_base, reset_less=True)
        m.d.sync += [tap1.eq(self.tap), base1.eq(self.in_base + self.phase_off),
                     addr2.eq(base1 + tap1)]
        m.d.comb += self.rd_addr.eq(addr2)
        # stage 3 -> 4: the read data, registered in the activation memory (its output register)
        x4 = self.rd_data
        # stage 4 -> 5: x - inz and d into the multiplier's operand registers; stage 5 -> 6:
        # the product register (the ECP5 DSP's own registers on an ECP5 build)
        m.submodules.mul = mul = RegisteredMultiplier(self._act_bits + 1, len(self.d))
        m.d.comb += [mul.a.eq(x4 - inz[4]), mul.b.eq(d[4])]
        prod6 = mul.p
        # stage 6: accumulate
        f6 = flags[6]
        acc = Signal(signed(self._acc_bits), reset_less=True)
        with m.If(f6["valid"]):
            m.d.sync += acc.eq(Mux(f6["first"], 0, acc) + prod6)
        # stage 7: the compare against the pool of the earlier phases, and acc's copy
        f8 = flags[8]
        pool = Signal(signed(self._acc_bits), reset_less=True)
        acc8 = Signal(signed(self._acc_bits), reset_less=True)
        gt8 = Signal(reset_less=True)
        m.d.sync += [acc8.eq(acc), gt8.eq(acc > pool)]
        # stage 8: pool and latch
        pooled = Signal(signed(self._acc_bits))
        result = Signal(signed(self._acc_bits), reset_less=True)
        m.d.comb += self.result.eq(result)
        m.d.comb += pooled.eq(Mux(f8["phase0"] | gt8, acc8, pool))
        with m.If(f8["valid"]):
            with m.If(f8["last"]):
                m.d.sync += pool.eq(pooled)
            with m.If(f8["latch"]):
                m.d.sync += result.eq(pooled)
        m.d.comb += self.busy.eq(Cat(*(f["valid"] for f in flags[1:])).any())
        return m
