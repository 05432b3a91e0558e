"""Board harness: the accelerator core behind a UART, with status LEDs.

Host protocol (8N1, see ``docs/boards.md``)
-------------------------------------------
* Host -> board: the ``plan.input_pixels`` raw 8-bit pixels of one image (row-major, 784 bytes
  for MNIST), nothing else. If the line goes quiet for ``resync_clocks`` while an image is
  partly received, the harness resets the core and waits for a new image from its first byte.
* Board -> host, one frame per image::

      0xA5, klass, logit[0] .. logit[classes-1], checksum

  Each logit is 1 byte if ``plan.out_bits <= 8``, else 2 bytes little endian. ``checksum`` is
  the XOR of every byte after the header (klass and the logit bytes).

:class:`Harness` is a plain component over pins (``rx``, ``tx``, ``busy_led``, ``digit_leds``)
so the simulator can drive it; :class:`BoardTop` requests the board's pins from an
amaranth-boards platform and wires them to a :class:`Harness`. The core never sees a board.
"""

import math
import operator

from amaranth.hdl import Cat, Const, Elaboratable, Module, Mux, ResetInserter, Signal
from amaranth.lib import io, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from fpgac.boards.uart import UARTRx, UARTTx, check_divisor
from fpgac.compiler.analysis.cycles import predict
from fpgac.compiler.passes.weight_image import CRC_INIT
from fpgac.hw.wrap import default_core

__all__ = ["HEADER", "STATUS_HEADER", "STATUS_LENGTH", "STATUS_NONE", "STATUS_LOADED",
           "STATUS_BAD_CRC", "STATUS_TRUNCATED", "STATUS_BUSY", "crc16_byte", "Harness", "BoardTop", "frame_length", "logit_bytes", "rx_fifo_depth",
           "plan_rx_fifo_depth"]

#: First byte of every result frame.
HEADER = 0xA5
#: First byte of a status frame (loaded weight store): ``0x5A, status, crc lo, crc hi,
#: check`` (check: XOR of the three bytes after the header).
STATUS_HEADER = 0x5A
#: Bytes of a status frame.
STATUS_LENGTH = 5
#: Status codes: no (valid) weights; weights loaded (crc: theirs); an upload's CRC did not
#: match (crc: the one computed); an upload stalled before its end (line idle for the resync
#: time); an upload refused because an image was in flight.
STATUS_NONE, STATUS_LOADED, STATUS_BAD_CRC, STATUS_TRUNCATED, STATUS_BUSY = range(5)


def logit_bytes(out_bits: int) -> int:
    """Bytes per logit on the wire: 1 for ``out_bits <= 8``, else 2 (``out_bits <= 16``)."""
    out_bits = operator.index(out_bits)
    if not 1 <= out_bits <= 16:
        raise ValueError(f"out_bits must be in [1, 16], not {out_bits}")
    return 1 if out_bits <= 8 else 2


def frame_length(classes: int, out_bits: int) -> int:
    """Length in bytes of one result frame (header, klass, logits, checksum)."""
    return 3 + classes * logit_bytes(out_bits)


def rx_fifo_depth(compute_cycles: int, frame_bytes: int, divisor) -> int:
    """Bytes the harness queues between the UART receiver and the core.

    Images may arrive back to back at the line rate (a batched request). The core takes no
    pixel from its last pixel until its result is handed over: ``compute_cycles``, plus, when
    the previous result frame is still on the line, that frame's ``frame_bytes * 10 *
    divisor`` cycles. The bytes that arrive meanwhile (one per ``10 * divisor`` cycles, rounded
    down for a fractional divisor), plus 2 for the receiver's hand-over, must fit.
    """
    byte_cycles = math.floor(10 * check_divisor(divisor))
    blocked = operator.index(compute_cycles) + 2 + operator.index(frame_bytes) * byte_cycles
    return -(-blocked // byte_cycles) + 2


def plan_rx_fifo_depth(plan, divisor) -> int:
    """:func:`rx_fifo_depth` for ``plan``'s core: it takes no pixel for its compute cycles
    and, before the next image, while its loader rewrites the input ring (``input_fill``)."""
    return rx_fifo_depth(predict(plan).compute_cycles + int(plan.input_fill),
                         frame_length(int(plan.classes), int(plan.out_bits)), divisor)


class Harness(wiring.Component):
    """UART RX -> core pixels; core result -> UART TX frame; busy and digit LEDs.

    Parameters
    ----------
    plan : HardwarePlan
        Read for ``input_pixels``, ``classes``, ``out_bits``, ``class_bits``.
    divisor : int or Fraction
        UART clocks per bit (:func:`fpgac.boards.uart.uart_divisor`).
    core : wiring.Component, optional
        The accelerator; defaults to ``fpgac.hw.core.Accelerator(plan)``.
    resync_clocks : int
        Idle clocks inside a partly received image after which the core and the receive
        queue are reset.

    The received bytes go through a FIFO of :func:`rx_fifo_depth` bytes (for the plan's
    compute cycles), so images sent back to back at the line rate are never dropped.

    Attributes
    ----------
    por : In(1)
        Power-on reset (synchronous): while high, the harness and the core are held in reset,
        as by the ``sync`` domain's own reset; the core leaves reset one cycle after it falls
        (``core_rst``). :class:`fpgac.boards.clock.ClockGen` drives it from the PLL lock and
        leaves the domain's reset undriven, so that the core's flip-flops read one register
        as their reset, not an OR of two.
    rx : In(1)
        UART line from the host.
    tx : Out(1)
        UART line to the host.
    busy_led : Out(1)
        High from the first pixel of an image until its result frame is on the line.
    digit_leds : Out(plan.class_bits)
        The last predicted class, binary (held until the next result).
    """

    def __init__(self, plan, *, divisor, core=None, resync_clocks: int = 1 << 20):
        self._plan = plan
        self._divisor = check_divisor(divisor)
        self._resync = operator.index(resync_clocks)
        if self._resync < 1:
            raise ValueError(f"resync_clocks must be >= 1, not {self._resync}")
        self.core = default_core(plan, core)
        self._pixels = operator.index(plan.input_pixels)
        self._classes = operator.index(plan.classes)
        self._out_bits = operator.index(plan.out_bits)
        self._class_bits = operator.index(plan.class_bits)
        self._lbytes = logit_bytes(self._out_bits)
        super().__init__({
            "rx": In(1, init=1),
            "por": In(1),
            "tx": Out(1, init=1),
            "busy_led": Out(1),
            "digit_leds": Out(self._class_bits),
        })

    @property
    def frame_length(self) -> int:
        return frame_length(self._classes, self._out_bits)

    def elaborate(self, platform):
        top = Module()
        # The core's reset is one register, ``core_rst``, and nothing else where the domain
        # has no reset of its own (the board's PLL top: the lock reset comes in on ``por``):
        # it fans out to every flip-flop of the core, so a counter compare in front of it, or
        # an OR with the domain's reset, was the routed ULX3S critical path. ``por`` resets
        # the harness's own logic (``m`` below), and with it sets ``core_rst`` (init 1).
        m = Module()
        top.submodules.logic = ResetInserter(self.por)(m)
        core_rst = Signal(init=1)
        top.submodules.core = ResetInserter(core_rst)(self.core)
        m.submodules.uart_rx = urx = UARTRx(self._divisor)
        m.submodules.uart_tx = utx = UARTTx(self._divisor)
        core = self.core
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx)]

        # ---- pixels in through a queue, with resync on a stalled partial image ----
        depth = plan_rx_fifo_depth(self._plan, self._divisor)
        fifo = SyncFIFOBuffered(width=8, depth=depth)
        m.submodules.rx_fifo = ResetInserter(core_rst)(fifo)
        wiring.connect(m, fifo.r_stream, core.pixels)
        m.d.sync += core_rst.eq(0)
        if self._plan.weight_store == "loaded":
            status, receiving = _LoadedRx(self._plan, self._resync).wire(m, urx, fifo, core,
                                                                         core_rst)
        else:
            status, receiving = None, self._rx_images(m, urx, fifo, core_rst)
        sending = self._tx_frames(m, utx, core, status)
        m.d.comb += self.busy_led.eq(receiving | fifo.r_stream.valid | core.busy | sending)
        return top

    def _rx_images(self, m, urx, fifo, core_rst):
        """The ROM store's receive path: every byte is a pixel; returns 'an image is partly
        received'."""
        # no byte is taken in the reset cycle (it waits in the receiver)
        m.d.comb += [fifo.w_stream.payload.eq(urx.data.payload),
                     fifo.w_stream.valid.eq(urx.data.valid & ~core_rst),
                     urx.data.ready.eq(fifo.w_stream.ready & ~core_rst)]
        count = Signal(range(self._pixels))      # bytes of the current image received
        idle = Signal(range(self._resync + 1))
        with m.If(urx.data.valid & urx.data.ready):
            m.d.sync += [
                count.eq(Mux(count == self._pixels - 1, 0, count + 1)),
                idle.eq(0),
            ]
        with m.Elif(count != 0):
            with m.If(idle == self._resync):       # the reset follows in the next cycle
                m.d.sync += [core_rst.eq(1), count.eq(0), idle.eq(0)]
            with m.Else():
                m.d.sync += idle.eq(idle + 1)
        return count != 0

    def _tx_frames(self, m, utx, core, status):
        """Result frames (and, with the loaded store, status frames ``status``: a
        :class:`_LoadedRx` request) on the transmitter; returns 'a frame is on the line'."""
        n = self.frame_length
        klass = Signal(self._class_bits)
        logits = [Signal(self._out_bits, name=f"logit{i}") for i in range(self._classes)]
        index = Signal(range(n + 1))         # 0: idle / frame done, else the next byte is index-1
        check = Signal(8)
        sending = Signal()
        sidx = Signal(range(STATUS_LENGTH + 1))   # the same for a status frame
        m.d.comb += sending.eq((index != 0) | (sidx != 0))
        m.d.comb += core.result.ready.eq(~sending)
        with m.If(core.result.valid & ~sending):
            m.d.sync += [klass.eq(core.result.payload.klass), index.eq(1), check.eq(0)]
            m.d.sync += [logits[i].eq(core.result.payload.logits[i])
                         for i in range(self._classes)]
            m.d.sync += self.digit_leds.eq(core.result.payload.klass)
        if status is not None:
            with m.Elif(status.pending & ~sending):
                m.d.sync += [sidx.eq(1), check.eq(0), status.pending.eq(0)]

        wire = []                              # byte sequence of a frame, as expressions
        wire.append(Const(HEADER, 8))
        wire.append(klass)
        for sig in logits:
            for b in range(self._lbytes):
                wire.append(sig.as_unsigned()[8 * b:8 * b + 8])
        byte = Signal(8)
        with m.Switch(index):          # full case: the checksum is the Default (lint rule)
            for i, expr in enumerate(wire):
                with m.Case(i + 1):
                    m.d.comb += byte.eq(expr)
            with m.Default():
                m.d.comb += byte.eq(check)
        if status is not None:
            sbytes = [Const(STATUS_HEADER, 8), status.code, status.crc[:8], status.crc[8:]]
            with m.If(sidx != 0):
                with m.Switch(sidx):
                    for i, expr in enumerate(sbytes):
                        with m.Case(i + 1):
                            m.d.comb += byte.eq(expr)
                    with m.Default():
                        m.d.comb += byte.eq(check)
        m.d.comb += [utx.data.payload.eq(byte), utx.data.valid.eq(sending)]
        with m.If(utx.data.valid & utx.data.ready):
            with m.If(index != 0):
                m.d.sync += index.eq(Mux(index == n, 0, index + 1))
            if status is not None:
                with m.If(sidx != 0):
                    m.d.sync += sidx.eq(Mux(sidx == STATUS_LENGTH, 0, sidx + 1))
            with m.If((index != 1) & (sidx != 1)):
                m.d.sync += check.eq(check ^ byte)
        return sending


def crc16_byte(crc, byte):
    """CRC-16/CCITT (``0x1021``, MSB first) of ``crc`` after one more ``byte``: Amaranth
    expressions (or Python ints: the same function checks itself against
    :func:`binascii.crc_hqx`).

    On Amaranth values the update is written as what it is, a linear map over GF(2): output
    bit ``j`` is the XOR of the input bits (16 of ``crc``, 8 of ``byte``) whose unit vector
    sets bit ``j``. The bit-serial form (eight nested ``Mux`` steps, each reading the previous
    step three times) is a tree, not a graph, in the emitted Verilog: 3^8 copies, 2.8 MB of
    the loaded LeNet-5 harness."""
    if isinstance(crc, int) and isinstance(byte, int):
        return _crc16_int(crc, byte)
    bits = Cat(crc, byte)
    cols = ([_crc16_int(1 << i, 0) for i in range(16)]
            + [_crc16_int(0, 1 << k) for k in range(8)])
    return Cat(*(Cat(*(bits[i] for i, col in enumerate(cols) if col >> j & 1)).xor()
                 for j in range(16)))


def _crc16_int(crc: int, byte: int) -> int:
    """:func:`crc16_byte` on Python ints, bit serially."""
    crc ^= byte << 8
    for _ in range(8):
        crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


class _Status:
    """A pending status frame: ``pending``, ``code``, ``crc`` (registers)."""

    def __init__(self):
        self.pending = Signal()
        self.code = Signal(8)
        self.crc = Signal(16)

    def send(self, m, code, crc):
        m.d.sync += [self.pending.eq(1), self.code.eq(code), self.crc.eq(crc)]


class _LoadedRx:
    """The loaded store's receive path (``docs/boards.md``, "Weight upload"): command bytes
    ``'?'`` (status), ``'W'`` + weight image + CRC-16 (little endian), ``'I'`` + one image's
    pixels. ``have`` (the weights are complete and their CRC matched) and the stored CRC are
    outside the core's resync reset, as are the banks' contents: weights survive a resync."""

    def __init__(self, plan, resync: int):
        self.pixels = int(plan.input_pixels)
        self.nbytes = int(plan.weight_image_bytes)
        self.resync = resync

    def wire(self, m, urx, fifo, core, core_rst):
        """Build the parser; returns ``(status, receiving)``."""
        st = _Status()
        state = Signal(range(6), init=_CMD)
        # bytes of the current request still to come after this one: a down counter, so that
        # the end test is a zero test of a register (a count compared with ``limit - 1`` was
        # the routed iCEBreaker LeNet-5 build's critical path: carry chain, 14-bit compare,
        # then the state's and the length's enables; 28.85 MHz, not met at 30)
        left = Signal(range(max(self.pixels, self.nbytes + 2)))
        have = Signal()
        stored = Signal(16)
        crc = Signal(16, init=CRC_INIT)
        lo = Signal(8)
        drop_code = Signal(8)          # the status sent after a dropped request
        idle = Signal(range(self.resync + 1))
        b = urx.data.payload
        take = urx.data.valid & urx.data.ready
        m.d.comb += [
            fifo.w_stream.payload.eq(b),
            fifo.w_stream.valid.eq(urx.data.valid & ~core_rst & (state == _IMAGE)),
            urx.data.ready.eq(~core_rst & ((state != _IMAGE) | fifo.w_stream.ready)),
            core.weights.payload.eq(b),
            core.weights.valid.eq(take & (state == _UPLOAD)),
            core.weights_ok.eq(have),
        ]
        last = ~left.any()
        with m.If(take):
            m.d.sync += [idle.eq(0), left.eq(left - 1)]
            # if/elif, not a switch: Yosys writes a switch as per-signal case statements
            # without their default (Verilator CASEINCOMPLETE)
            with m.If(state == _CMD):
                self._command(m, b, st, state, left, (have, stored, crc, drop_code),
                              core, fifo)
            with m.Elif(state == _IMAGE):
                with m.If(last):
                    m.d.sync += state.eq(_CMD)
            with m.Elif(state == _DROP):
                with m.If(last):
                    m.d.sync += state.eq(_CMD)
                    st.send(m, drop_code, stored)
            with m.Elif(state == _UPLOAD):
                m.d.sync += crc.eq(crc16_byte(crc, b))
                with m.If(last):
                    m.d.sync += [state.eq(_CRC), left.eq(1)]
            with m.Else():                              # _CRC
                m.d.sync += lo.eq(b)
                with m.If(last):
                    m.d.sync += state.eq(_CMD)
                    with m.If((Cat(lo, b) == crc) & core.weights_done):
                        m.d.sync += [have.eq(1), stored.eq(crc)]
                        st.send(m, STATUS_LOADED, crc)
                    with m.Else():
                        st.send(m, STATUS_BAD_CRC, crc)
        with m.Elif(state != _CMD):
            with m.If(idle == self.resync):       # a stalled request: back to commands
                m.d.sync += [state.eq(_CMD), idle.eq(0)]
                with m.If(state == _IMAGE):
                    m.d.sync += core_rst.eq(1)    # the reset follows in the next cycle
                with m.If((state == _UPLOAD) | (state == _CRC)):
                    st.send(m, STATUS_TRUNCATED, crc)
            with m.Else():
                m.d.sync += idle.eq(idle + 1)
        return st, state != _CMD

    def _command(self, m, b, st, state, left, regs, core, fifo):
        """A command byte ``b``: the next state, the request's length (``left``: its bytes
        after the first), the status to answer (now, or ``drop_code`` after a dropped
        request)."""
        have, stored, crc, drop_code = regs
        with m.If(b == ord("I")):
            m.d.sync += left.eq(self.pixels - 1)
            with m.If(have):
                m.d.sync += state.eq(_IMAGE)
            with m.Else():                        # no weights: drop the pixels, say so
                m.d.sync += [state.eq(_DROP), drop_code.eq(STATUS_NONE)]
        with m.Elif(b == ord("?")):
            st.send(m, Mux(have, STATUS_LOADED, STATUS_NONE), stored)
        with m.Elif(b == ord("W")):
            m.d.sync += left.eq(self.nbytes + 1)
            with m.If(core.busy | fifo.r_stream.valid):
                # an image in flight: refuse the upload
                m.d.sync += [state.eq(_DROP), drop_code.eq(STATUS_BUSY)]
            with m.Else():
                m.d.sync += [state.eq(_UPLOAD), left.eq(self.nbytes - 1), have.eq(0),
                             crc.eq(CRC_INIT)]
                m.d.comb += core.weights_start.eq(1)


#: Receive states of the loaded store (none is 0: Yosys writes `state == 0` as `!state`,
#: a Verilator WIDTHTRUNC).
_CMD, _IMAGE, _DROP, _UPLOAD, _CRC = range(1, 6)


class BoardTop(Elaboratable):
    """Top level for an amaranth-boards platform: requests the pins and wires a :class:`Harness`.

    Parameters
    ----------
    plan : HardwarePlan
        The accelerator plan.
    board : fpgac.boards.platforms.Board
        Which UART and LED resources to use.
    baud : int
        UART baud rate; checked against the clock (:func:`fpgac.boards.uart.uart_divisor`).
    core : wiring.Component, optional
        Passed to :class:`Harness`.
    clk_freq : float, optional
        The ``sync`` clock in Hz when it is not the platform's default clock (a PLL clock,
        :mod:`fpgac.boards.clock`); the UART divisor and the resync timeout follow it.
    """

    def __init__(self, plan, board, *, baud: int = 115200, core=None, clk_freq=None):
        self.clk_freq = clk_freq
        self.plan = plan
        self.board = board
        self.baud = operator.index(baud)
        self.core = core
        self.harness = None
        #: Power-on reset of the harness and the core (:attr:`Harness.por`); driven by
        #: :class:`fpgac.boards.clock.ClockedTop` from the PLL lock, else low.
        self.por = Signal()

    def elaborate(self, platform):
        from fpgac.boards.uart import uart_divisor

        clk = self.clk_freq if self.clk_freq is not None else platform.default_clk_frequency
        divisor = uart_divisor(clk, self.baud)
        m = Module()
        self.harness = harness = Harness(self.plan, divisor=divisor, core=self.core,
                                         resync_clocks=max(1, int(clk // 10)))
        m.submodules.harness = harness
        m.d.comb += harness.por.eq(self.por)

        def pin(name, number, direction, sub=None):
            port = platform.request(name, number, dir="-")
            if sub is not None:
                port = getattr(port, sub)
            buf = io.Buffer(direction, port)
            m.submodules[f"{name}_{number}_{sub or 'io'}_buffer"] = buf
            return buf

        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx_buffer = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx_buffer = tx = io.Buffer("o", uart.tx)
        m.d.comb += [harness.rx.eq(rx.i), tx.o.eq(harness.tx)]
        for name, number in self.board.extra_high:
            m.d.comb += pin(name, number, "o").o.eq(1)
        busy_name, busy_number = self.board.busy_led
        busy_res = platform.lookup(busy_name, busy_number)
        is_rgb = any(getattr(sub, "name", None) == "g" for sub in busy_res.ios)
        busy = pin(busy_name, busy_number, "o", "g" if is_rgb else None)  # RGB LED: green
        m.d.comb += busy.o.eq(harness.busy_led)
        for bit, (name, number) in enumerate(self.board.digit_leds):
            if bit < len(harness.digit_leds):
                m.d.comb += pin(name, number, "o").o.eq(harness.digit_leds[bit])
        return m
