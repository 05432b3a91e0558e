"""8N1 UART receiver and transmitter with stream interfaces.

Both blocks run in the ``sync`` domain at ``clk_freq`` Hz and time each bit with a clock
divisor ``divisor``, the clocks per bit: an integer, or a fraction with a power-of-two
denominator (:data:`FRAC_BITS` bits), which a phase accumulator spreads over the bits (each bit
lasts ``floor`` or ``ceil`` of it; after ``k`` bits the line is within one clock of ``k *
divisor``). :func:`uart_divisor` gives it for a clock and a baud rate (``clk_freq / baud``
rounded to ``2**-FRAC_BITS`` of a clock, so the actual rate ``clk_freq / divisor`` is within
0.05 % of the requested one) and checks that a bit lasts at least 4 clocks (the receiver
samples in the middle of each bit).

Line format: idle high, one start bit (low), 8 data bits LSB first, one stop bit (high).
"""


import math
import operator
from fractions import Fraction

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from fpgac.errors import FpgacError

__all__ = ["uart_divisor", "check_divisor", "UARTTx", "UARTRx", "MIN_DIVISOR", "FRAC_BITS"]

#: Smallest accepted number of clocks per bit.
MIN_DIVISOR = 4
#: Fraction bits of a divisor (:func:`uart_divisor` rounds ``clk_freq / baud`` to
#: ``2**-FRAC_BITS`` clocks: at most 1/512 of a clock per bit, 1/50 over a frame).
FRAC_BITS = 8


def uart_divisor(clk_freq: float, baud: int) -> Fraction:
    """Clocks per bit for ``baud`` at ``clk_freq`` Hz: ``clk_freq / baud`` rounded to
    ``2**-FRAC_BITS`` (a :class:`~fractions.Fraction`, an integer where the division is one).

    Raises
    ------
    FpgacError
        When the divisor is below :data:`MIN_DIVISOR`.
    """
    if not clk_freq > 0:
        raise FpgacError(f"uart clock: expected a frequency > 0 Hz, found {clk_freq!r}")
    baud = operator.index(baud)
    if baud <= 0:
        raise FpgacError(f"uart baud: expected a rate > 0, found {baud}")
    divisor = Fraction(round(Fraction(clk_freq) * 2**FRAC_BITS / baud), 2**FRAC_BITS)
    if divisor < MIN_DIVISOR:
        raise FpgacError(
            f"uart baud: expected at least {MIN_DIVISOR} clocks per bit at "
            f"{clk_freq / 1e6:g} MHz, found {clk_freq / baud:.2f} for {baud} baud")
    return divisor


def check_divisor(divisor) -> Fraction:
    """``divisor`` (an integer or a :class:`~fractions.Fraction`) as a fraction; ``ValueError``
    below :data:`MIN_DIVISOR` or with a denominator that is not a power of two up to
    ``2**FRAC_BITS``."""
    if isinstance(divisor, Fraction):
        value = divisor
    else:
        value = Fraction(operator.index(divisor))
    den = value.denominator
    if den & (den - 1) or den > 2**FRAC_BITS:
        raise ValueError(f"divisor must have a power-of-two denominator <= 2**{FRAC_BITS}, "
                         f"not {value}")
    if value < MIN_DIVISOR:
        raise ValueError(f"divisor must be >= {MIN_DIVISOR}, not {value}")
    return value


class _BitTimer:
    """Counts the clocks of the waits ``waits`` (fractions of a clock with a power-of-two
    denominator) one after another, each started by :meth:`start`: ``timer`` is loaded with
    the wait's whole clocks minus one (plus one when the phase accumulator carries) and counts
    down to 0, so ``k`` waits from an accumulator at 0 last ``floor(sum)`` clocks; without a
    fractional part the accumulator is not built (the integer divisor's plain counter)."""

    def __init__(self, m: Module, waits: dict):
        self._m = m
        self._den = max(w.denominator for w in waits.values())
        self._waits = {k: (math.floor(w), int((w - math.floor(w)) * self._den))
                       for k, w in waits.items()}
        self.timer = Signal(range(max(max(n for n, _ in self._waits.values()) + 1, 2)))
        self._frac_bits = self._den.bit_length() - 1
        self._acc = Signal(self._frac_bits) if self._frac_bits else None
        self._total = {}                 # per wait with a fraction: accumulator + fraction
        for k, (_, frac) in self._waits.items():
            if self._acc is not None:
                self._total[k] = Signal(self._frac_bits + 1, name=f"phase_{k}")
                m.d.comb += self._total[k].eq(self._acc + frac)
        self.expired = ~self.timer.any()

    def start(self, wait: str, *, fresh: bool = False):
        """Load the wait ``wait`` (in the current ``m.d.sync`` context); ``fresh``: from the
        accumulator at 0 (a receiver's start bit), else from its phase (the waits before)."""
        whole, frac = self._waits[wait]
        if self._acc is None:
            self._m.d.sync += self.timer.eq(whole - 1)
            return
        if fresh:
            self._m.d.sync += [self.timer.eq(whole - 1), self._acc.eq(frac)]
            return
        total = self._total[wait]
        self._m.d.sync += [self.timer.eq(whole - 1 + total[-1]),
                           self._acc.eq(total[:-1])]

    def count(self):
        """Count the current wait down (in the current ``m.d.sync`` context)."""
        self._m.d.sync += self.timer.eq(self.timer - 1)


class _UART(wiring.Component):
    """What the transmitter and the receiver share: ``divisor``, the clocks per bit (see
    :func:`uart_divisor`): an integer or a fraction with a power-of-two denominator up to
    ``2**FRAC_BITS``, at least :data:`MIN_DIVISOR` (``ValueError`` otherwise)."""

    def __init__(self, divisor):
        self._divisor = check_divisor(divisor)
        super().__init__()

    @property
    def divisor(self) -> Fraction:
        return self._divisor


class UARTTx(_UART):
    """UART transmitter, 8N1, ``divisor`` clocks per bit (:class:`_UART`; a fractional divisor:
    each bit ``floor`` or ``ceil`` of it, a frame's ``k``-th bit edge within one clock of
    ``k * divisor`` after its start).

    Attributes
    ----------
    data : In(stream.Signature(8))
        Bytes to send. A byte is accepted (``ready``) only while the transmitter is idle; it is
        on the line from the next cycle, for ``floor(10 * divisor)`` cycles.
    tx : Out(1)
        The serial line (idle high).
    busy : Out(1)
        High while a frame is on the line.
    """

    data: In(stream.Signature(8))
    tx: Out(1, init=1)
    busy: Out(1)

    def elaborate(self, platform):
        m = Module()
        bt = _BitTimer(m, {"bit": self._divisor})
        shreg = Signal(10, init=0x3FF)       # stop, d7..d0, start; shifted out LSB first
        bits = Signal(range(11))

        idle = ~bits.any()                    # not `bits == 0` (Yosys writes a multi-bit `!`)
        m.d.comb += [
            self.tx.eq(shreg[0]),
            self.busy.eq(~idle),
            self.data.ready.eq(idle),
        ]
        with m.If(idle):
            with m.If(self.data.valid):
                m.d.sync += [
                    shreg.eq(self.data.payload << 1 | (1 << 9)),
                    bits.eq(10),
                ]
                bt.start("bit")
        with m.Elif(bt.expired):
            m.d.sync += [
                shreg.eq(shreg >> 1 | (1 << 9)),
                bits.eq(bits - 1),
            ]
            bt.start("bit")
        with m.Else():
            bt.count()
        return m


class UARTRx(_UART):
    """UART receiver, 8N1, ``divisor`` clocks per bit (:class:`_UART`), sampling each bit in
    its middle.

    Attributes
    ----------
    rx : In(1)
        The serial line (idle high); synchronized internally by two flip-flops.
    data : Out(stream.Signature(8))
        Received bytes. A byte is offered from the middle of its stop bit until taken; one byte
        is buffered, a byte that arrives while the buffer is still full is dropped and counted
        in ``overrun``.
    framing_error : Out(1)
        One-cycle pulse when a stop bit is low (the byte is dropped; the receiver then waits for
        the line to return high, so a break is one error, not many).
    overrun : Out(1)
        One-cycle pulse when a complete byte is dropped because ``data`` was not taken in time.
    """

    rx: In(1, init=1)
    data: Out(stream.Signature(8))
    framing_error: Out(1)
    overrun: Out(1)

    @property
    def half(self) -> Fraction:
        """The wait from a start bit's falling edge (after the synchronizer) to its sample:
        half the divisor, rounded down to its denominator (``divisor // 2`` for an integer)."""
        den = self._divisor.denominator
        return Fraction(math.floor(self._divisor * den / 2), den)

    @property
    def latency(self) -> int:
        """Cycles from the falling edge of a start bit to ``data.valid`` (ideal line)."""
        return 2 + math.floor(self.half + 9 * self._divisor) + 1

    def elaborate(self, platform):
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, rx, init=1)

        bt = _BitTimer(m, {"half": self.half, "bit": self._divisor})
        shreg = Signal(8)
        bit = Signal(range(9))

        with m.If(self.data.valid & self.data.ready):
            m.d.sync += self.data.valid.eq(0)

        # An explicit state register instead of m.FSM, whose compare with state 0 Yosys writes
        # as a multi-bit `!fsm_state` (WIDTHTRUNC), and an If chain instead of a Switch, whose
        # empty trailing cases Yosys drops (CASEINCOMPLETE); docs/architecture.md "Lint". For
        # the same reason zero tests are `~x.any()`.
        IDLE, START, DATA, STOP, BREAK = range(5)
        state = Signal(range(5))
        expired = bt.expired
        with m.If(~state.any()):             # IDLE
            with m.If(~rx):
                m.d.sync += state.eq(START)
                bt.start("half", fresh=True)
        with m.Elif(state == START):
            with m.If(expired):
                with m.If(rx):
                    m.d.sync += state.eq(IDLE)          # glitch, not a start bit
                with m.Else():
                    m.d.sync += [bit.eq(0), state.eq(DATA)]
                    bt.start("bit")
            with m.Else():
                bt.count()
        with m.Elif(state == DATA):
            with m.If(expired):
                m.d.sync += [
                    shreg.eq(rx << 7 | shreg >> 1),
                    bit.eq(bit + 1),
                ]
                bt.start("bit")
                with m.If(bit == 7):
                    m.d.sync += state.eq(STOP)
            with m.Else():
                bt.count()
        with m.Elif(state == STOP):
            with m.If(expired):
                with m.If(rx):
                    with m.If(self.data.valid & ~self.data.ready):
                        m.d.comb += self.overrun.eq(1)
                    with m.Else():
                        m.d.sync += [self.data.payload.eq(shreg), self.data.valid.eq(1)]
                    m.d.sync += state.eq(IDLE)
                with m.Else():
                    m.d.comb += self.framing_error.eq(1)
                    m.d.sync += state.eq(BREAK)
            with m.Else():
                bt.count()
        with m.Else():                           # BREAK (and the unused codes 5..7)
            with m.If(rx):
                m.d.sync += state.eq(IDLE)
        return m
