"""Storage and I/O blocks of the core: activation memory, pixel loader, result unit."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgac import semantics
from fpgac.hw.bram import RegisteredReadMemory
from fpgac.hw.cases import full_case
from fpgac.hw.checks import check_unsigned
from fpgac.hw.fanout import TAG, VIVADO_ATTRS, registers, unaliased

__all__ = ["ActivationMemory", "PixelLoader", "ResultUnit"]


class ActivationMemory(wiring.Component):
    """``pes`` copies of the activation memory, one read port each whose data comes from an
    output register (:attr:`read_latency` = 2).

    Every write (``wr_en`` with ``wr_addr``, ``wr_data`` in cycle ``c``) goes to all copies in
    cycle ``c + write_latency`` (:attr:`write_latency`); a read whose address is presented in
    cycle ``c`` returns in ``c + 2`` the contents before any write *applied* in cycle ``c``: it
    sees the writes presented up to cycle ``c - 1 - write_latency``. A read of a word in the
    cycle a write to it is applied is not defined (:class:`~fpgac.hw.bram.RegisteredReadMemory`;
    the core's schedule has none). With ``debug``, ``debug_addr`` reads copy 0 through an
    extra port with one cycle of latency (``debug_data`` in ``c + 1``, not registered).

    The write port is registered once per group of ``fanout_lanes`` copies
    (:func:`fpgac.hw.fanout.registers`: enable, address and data, and with a split copy the
    body's and the tail's enables already decoded), so every copy's write-enable pin is
    driven by a flip-flop of its own group and no write input is one net to all ``pes``
    copies (ULX3S, P = 64: the writer's valid -> the enable decode -> the LUT-RAM tails was
    the worst path at 80 MHz, 11.2 ns of routing).

    ``body`` (the plan's ``act_body``): with ``body < len(init)`` each copy is two memories, a
    body of ``body`` words (a power of two: addresses ``< body``, block RAM) and a tail of
    ``len(init) - body < body`` words (the addresses from ``body`` on, small enough for
    distributed RAM); both read into their output registers and the address bit
    ``log2(body)``, registered twice, selects between them. Same timing and contents as one
    memory. On an ECP5 build a copy (or a body) that fits one ``DP16KD`` is that block RAM
    with its output register (:class:`~fpgac.hw.bram.RegisteredReadMemory`).
    """

    #: Cycles from a write presented on the ports to the copies (the replicated register).
    write_latency = 1
    #: Cycles from a read address to its word on ``rd_data`` (the output register).
    read_latency = RegisteredReadMemory.READ_LATENCY

    def __init__(self, *, init, pes: int, act_bits: int, addr_bits: int, debug: bool = False,
                 body: int | None = None, fanout_lanes: int = 8):
        self._init = tuple(init)
        self._pes = int(pes)
        self._groups = -(-self._pes // int(fanout_lanes))
        self._fanout = int(fanout_lanes)
        self._act_bits = int(act_bits)
        self._debug = bool(debug)
        self._body = len(self._init) if body is None else int(body)
        if self._body < len(self._init) and (
                self._body & (self._body - 1) or not len(self._init) < 2 * self._body
                or (1 << (int(addr_bits) - 1)) != self._body):
            raise ValueError(f"body: expected the power of two 2**(addr_bits - 1) with "
                             f"body < depth < 2 * body, found body {self._body}, depth "
                             f"{len(self._init)}, addr_bits {addr_bits}")
        ports = {
            "wr_en": In(1), "wr_addr": In(unsigned(addr_bits)),
            "wr_data": In(unsigned(act_bits)),
            "rd_addr": In(data.ArrayLayout(unsigned(addr_bits), self._pes)),
            "rd_data": Out(data.ArrayLayout(unsigned(act_bits), self._pes)),
        }
        if self._debug:
            ports["debug_addr"] = In(unsigned(addr_bits))
            ports["debug_data"] = Out(unsigned(act_bits))
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        init = check_unsigned("mem_init", self._init, self._act_bits)
        n = self._groups
        addrs = registers(m, n, "mem_wa", self.wr_addr, reset_less=True)
        datas = registers(m, n, "mem_wd", self.wr_data, reset_less=True)
        k = self._body.bit_length() - 1
        split = self._body < len(init)
        if split:
            whi = self.wr_addr[k]
            ens = {0: registers(m, n, "mem_we_body", self.wr_en & ~whi, like=self.wr_en),
                   1: registers(m, n, "mem_we_tail", self.wr_en & whi, like=self.wr_en)}
            parts = (("body", init[:self._body], 0, True), ("tail", init[self._body:], 1, False))
        else:
            ens = {0: registers(m, n, "mem_we", self.wr_en)}
            parts = (("copy", init, 0, True),)
        for p in range(self._pes):
            g = p // self._fanout
            outs = []
            for name, words, hi, block in parts:
                mem = RegisteredReadMemory(width=self._act_bits, depth=len(words), init=words,
                                           block=block)
                m.submodules[f"{name}{p}" if split else f"copy{p}"] = mem
                m.d.comb += [mem.wr_en.eq(ens[hi][g]),
                             mem.wr_addr.eq(addrs[g][:len(mem.wr_addr)]),
                             mem.wr_data.eq(datas[g]),
                             mem.rd_addr.eq(self.rd_addr[p][:len(mem.rd_addr)])]
                outs.append(mem.rd_data)
            if split:
                sel = [Signal(name=f"sel{p}_{s}", reset_less=True) for s in (1, 2)]
                m.d.sync += [sel[0].eq(self.rd_addr[p][k]), sel[1].eq(sel[0])]
                m.d.comb += self.rd_data[p].eq(Mux(sel[1], outs[1], outs[0]))
            else:
                m.d.comb += self.rd_data[p].eq(outs[0])
        if self._debug:
            self._debug_port(m, init, addrs[0], datas[0], ens, k, split)
        return m

    def _debug_port(self, m, init, addr, data_, ens, k, split):
        """A shadow of copy 0 (same writes, same contents) with a one-cycle read port for
        ``debug_addr`` (simulation dumps only: one more memory)."""
        mem = memory.Memory(shape=unsigned(self._act_bits), depth=len(init), init=init)
        m.submodules.debug_copy = mem
        wp, rp = mem.write_port(), mem.read_port()
        en = (ens[0][0] | ens[1][0]) if split else ens[0][0]
        m.d.comb += [wp.en.eq(en), wp.addr.eq(addr), wp.data.eq(data_),
                     rp.addr.eq(self.debug_addr), self.debug_data.eq(rp.data)]


class PixelLoader(wiring.Component):
    """Accepts ``C*H*W`` pixels in raster order ``(c, y, x)`` and writes their LUT values.

    ``pixels.ready`` equals ``enable`` (with ``fill``: once the ring is written). A pixel
    accepted in cycle ``c`` is written in ``c + 1`` at its place inside the input map
    (``offset``, padding ring ``pad``). ``last`` is high in the cycle the last pixel of an
    image is accepted. ``busy`` is high while an image is partly loaded.

    ``fill`` (a number of pad cells, or 0) and ``fill_first`` (the first one, an offset in the
    input map): before each image the loader first writes ``fill_value`` to the ``fill`` pad
    cells of the input map from ``fill_first`` on, one per cycle in ascending address order
    (written one cycle after its step, like a pixel), and only then raises
    ``pixels.ready``: the activation regions are reused, so those ring cells may hold another
    map's values (``docs/architecture.md``, "Activations"; the others are never written).
    The fill runs while ``enable`` is high, from reset and from the cycle after ``last`` on,
    whether or not a pixel is offered (so ``pixels.ready`` means "takes pixels", as a bus
    status bit reads it).

    ``overlap`` (the plan option: the next image loads while the current one computes; no
    ``fill``): two more inputs. ``grant``: the write port is free in this cycle (the writer
    has priority); a taken pixel waits in the output register (``wr_en`` high) until a cycle
    with ``grant`` and is written then, and no pixel is taken while one waits, unless it is
    written in the same cycle. ``last_ok``: the last pixel of an image (the start of its
    compute) may be taken; it needs only ``last_ok``, the others only ``enable``. So
    ``pixels.ready = (at_last ? last_ok : enable) & (~wr_en | grant)``, ``at_last`` a
    register (the next pixel is the image's last), and ``last = pixels.valid & at_last &
    last_ok & (~wr_en | grant)``: registers and ``valid`` only, not ``enable`` (ULX3S P = 64
    overlap plan at 100 MHz: the core's ``enable`` -> ``ready`` -> ``last`` -> the
    controller's start -> its issue decision was the worst path, 10.25 ns).
    """

    def __init__(self, *, lut, shape: tuple[int, int, int], offset: int, pad: int,
                 act_bits: int, addr_bits: int, fill: int = 0, fill_value: int = 0,
                 fill_first: int = 0, overlap: bool = False):
        self._fill = int(fill)
        self._fill_value = int(fill_value)
        self._fill_first = int(fill_first)
        self._overlap = bool(overlap)
        if self._overlap and self._fill:
            raise ValueError(f"fill: expected 0 with overlap (the input map's ring is never "
                             f"overwritten), found {self._fill}")
        if self._fill:
            c, h, w = (int(v) for v in shape)
            ring = semantics.pad_cells(c, h, w, pad)
            if self._fill_first not in ring:
                raise ValueError(f"fill_first: expected a pad cell of the {c}x{h}x{w} map with "
                                 f"ring {pad}, found {self._fill_first}")
            after = len(ring) - ring.index(self._fill_first)
            if not 0 < self._fill <= after:
                raise ValueError(f"fill: expected 1..{after} (the pad cells of a {c}x{h}x{w} "
                                 f"map with ring {pad} from {self._fill_first} on), found "
                                 f"{self._fill}")
        self._lut = tuple(lut)
        self._shape = tuple(int(v) for v in shape)
        self._offset = int(offset)
        self._pad = int(pad)
        self._act_bits = int(act_bits)
        ports = {
            "pixels": In(stream.Signature(8)),
            "enable": In(1),
            "wr_en": Out(1), "wr_addr": Out(unsigned(addr_bits)),
            "wr_data": Out(unsigned(act_bits)),
            "last": Out(1),
            "busy": Out(1),
        }
        if self._overlap:
            ports.update({"grant": In(1), "last_ok": In(1)})
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        if len(self._lut) != 256:
            raise ValueError(f"pixel_lut: expected 256 entries, found {len(self._lut)}")
        m.submodules.lut = lut = memory.Memory(
            shape=unsigned(self._act_bits), depth=256,
            init=check_unsigned("pixel_lut", self._lut, self._act_bits))
        rp = lut.read_port(domain="comb")
        c, h, w = self._shape
        pad = self._pad
        _, wp = semantics.padded_shape(h, w, pad)
        start = self._offset + semantics.padded_offset(0, 0, 0, h, w, pad)
        x = Signal(range(max(2, w)))
        y = Signal(range(max(2, h)))
        ch = Signal(range(max(2, c)))
        addr = Signal.like(self.wr_addr, init=start)
        accept = self.pixels.valid & self.pixels.ready
        filled, fill_step = self._ring_fill(m, c, h, w, pad)
        m.d.comb += [rp.addr.eq(self.pixels.payload),
                     self.busy.eq(x.any() | y.any() | ch.any())]
        if self._overlap:
            self._overlap_ready(m, accept, c * h * w)
        else:
            m.d.comb += self.pixels.ready.eq(self.enable & filled)
            m.d.sync += self.wr_en.eq(accept | fill_step)
        with m.If(accept):
            m.d.sync += [self.wr_addr.eq(addr), self.wr_data.eq(rp.data)]
            with m.If(x == w - 1):
                m.d.sync += x.eq(0)
                with m.If(y == h - 1):
                    m.d.sync += y.eq(0)
                    with m.If(ch == c - 1):
                        m.d.sync += [ch.eq(0), addr.eq(start)]
                        if not self._overlap:       # (with overlap: _overlap_ready)
                            m.d.comb += self.last.eq(1)
                        if self._fill:
                            m.d.sync += filled.eq(0)
                    with m.Else():
                        m.d.sync += [ch.eq(ch + 1), addr.eq(addr + 1 + 2 * pad + 2 * pad * wp)]
                with m.Else():
                    m.d.sync += [y.eq(y + 1), addr.eq(addr + 1 + 2 * pad)]
            with m.Else():
                m.d.sync += [x.eq(x + 1), addr.eq(addr + 1)]
        return m

    def _overlap_ready(self, m, accept, pixels: int) -> None:
        """``pixels.ready`` and the output register's hold with ``overlap`` (class
        docstring)."""
        n = Signal(range(max(2, pixels)))
        at_last = Signal(init=int(pixels == 1))
        with m.If(accept):
            m.d.sync += [n.eq(Mux(at_last, 0, n + 1)),
                         at_last.eq(Mux(at_last, int(pixels == 1), n + 2 == pixels))]
        port = ~self.wr_en | self.grant
        m.d.comb += [self.pixels.ready.eq(Mux(at_last, self.last_ok, self.enable) & port),
                     self.last.eq(self.pixels.valid & at_last & self.last_ok & port)]
        m.d.sync += self.wr_en.eq(accept | (self.wr_en & ~self.grant))

    def _ring_fill(self, m, c, h, w, pad):
        """The pad-cell walk (class docstring); returns ``(filled, step)``: the ring is
        written (constant 1 without ``fill``), a pad cell is stepped this cycle. Walks the
        padded map ``(c, y, x)`` in raster order and jumps over each row's interior
        (``x = pad - 1`` -> ``W + pad``)."""
        if not self._fill:
            return Signal(init=1), Signal()
        hp, wp = semantics.padded_shape(h, w, pad)
        c0, rest = divmod(self._fill_first, hp * wp)
        y0, x0 = divmod(rest, wp)
        filled = Signal()
        fx = Signal(range(max(2, wp)), init=x0)
        fy = Signal(range(max(2, hp)), init=y0)
        fc = Signal(range(max(2, c)), init=c0)
        faddr = Signal.like(self.wr_addr, init=self._offset + self._fill_first)
        left_n = Signal(range(max(2, self._fill)), init=self._fill - 1)   # cells after this
        step = Signal()
        m.d.comb += step.eq(self.enable & ~filled)
        with m.If(step):
            m.d.sync += left_n.eq(left_n - 1)
            m.d.sync += [self.wr_addr.eq(faddr),
                         self.wr_data.eq(check_unsigned("fill_value", [self._fill_value],
                                                        self._act_bits)[0])]
            interior = (fy >= pad) & (fy < h + pad)
            # (a compare with 0 is written as a reduction: Yosys emits `!fx`, a width lint)
            left = ~fx.any() if pad == 1 else fx == pad - 1
            with m.If(interior & left):
                m.d.sync += [fx.eq(w + pad), faddr.eq(faddr + w + 1)]
            with m.Elif(fx == wp - 1):
                m.d.sync += [fx.eq(0), faddr.eq(faddr + 1)]
                with m.If(fy == hp - 1):
                    m.d.sync += fy.eq(0)
                    m.d.sync += fc.eq(fc + 1)
                with m.Else():
                    m.d.sync += fy.eq(fy + 1)
            with m.Else():
                m.d.sync += [fx.eq(fx + 1), faddr.eq(faddr + 1)]
            with m.If(~left_n.any()):           # the last cell: back to the first for the next
                m.d.sync += [fx.eq(x0), fy.eq(y0), fc.eq(c0), left_n.eq(self._fill - 1),
                             faddr.eq(self._offset + self._fill_first), filled.eq(1)]
        return filled, step


class ResultUnit(wiring.Component):
    """Captures the last layer's writes as logits, tracks the first maximum, sends the result.

    A write with ``wr_final`` in cycle ``c`` stores ``wr_data`` as logit ``wr_addr - offset``
    and updates the running argmax (a later class wins only if strictly greater, or equal with a
    smaller index: the first maximum, whatever the write order). ``done`` in cycle ``c`` makes
    ``result.valid`` high from ``c + 1`` until the transfer; the transfer clears the argmax.
    ``pending`` is a copy of ``result.valid`` (its own flip-flop, the same value in every
    cycle) for the core's own use (idle, busy), so that ``result.valid`` drives only the
    stream's sink and the transfer logic (ULX3S P = 64 overlap plan: ``result.valid``, pulled
    across the die by the core's loader logic, -> its own reset through the transfer LUT was
    the worst path, 10.81 ns, 9.39 of it routing).
    """

    def __init__(self, *, classes: int, out_bits: int, class_bits: int, offset: int,
                 addr_bits: int, act_bits: int):
        self._classes = int(classes)
        self._out_bits = int(out_bits)
        self._class_bits = int(class_bits)
        self._offset = int(offset)
        self.result_layout = data.StructLayout({
            "klass": unsigned(class_bits),
            "logits": data.ArrayLayout(unsigned(out_bits), classes)})
        super().__init__({
            "wr_en": In(1), "wr_final": In(1), "wr_addr": In(unsigned(addr_bits)),
            "wr_data": In(unsigned(act_bits)),
            "done": In(1),
            "result": Out(stream.Signature(self.result_layout)),
            "pending": Out(1),
        })

    #: ``done`` -> ``result.valid``.
    LATENCY = 1

    @property
    def latency(self) -> int:
        """Cycles from ``done`` to ``result.valid``."""
        return self.LATENCY

    def elaborate(self, platform):
        m = Module()
        have = Signal()
        best = Signal(unsigned(self._out_bits))
        best_i = Signal(unsigned(self._class_bits))
        cls = Signal(unsigned(self._class_bits))
        val = Signal(unsigned(self._out_bits))
        m.d.comb += [cls.eq(self.wr_addr - self._offset), val.eq(self.wr_data)]
        logits = self.result.payload.logits
        with m.If(self.wr_en & self.wr_final):
            # the compiler only writes classes 0..classes-1: the last one is the default
            for k in full_case(m, cls, range(self._classes)):
                m.d.sync += logits[k].eq(val)
            with m.If(~have | (val > best) | ((val == best) & (cls < best_i))):
                m.d.sync += [have.eq(1), best.eq(val), best_i.eq(cls)]
        m.d.comb += self.result.payload.klass.eq(best_i)
        pending = Signal(name=f"pending_{TAG}0", attrs=VIVADO_ATTRS)   # kept: fpgac.hw.fanout
        with m.If(self.done):
            m.d.sync += [self.result.valid.eq(1), pending.eq(1)]
        with m.If(self.result.valid & self.result.ready):
            m.d.sync += [self.result.valid.eq(0), have.eq(0)]
        with m.If(pending & self.result.ready):
            m.d.sync += pending.eq(0)
        m.d.comb += self.pending.eq(unaliased(pending))
        return m
