"""A one-write-port, one-read-port memory whose read data comes from an output register
(read latency 2), in the ECP5 block RAM's own output register on an ECP5 build."""

from __future__ import annotations

from amaranth.hdl import ClockSignal, Const, Instance, Module, Signal, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from fpgac.hw.cases import full_case

__all__ = ["RegisteredReadMemory", "dp16kd_initvals", "dp16kd_width"]

#: ECP5 ``DP16KD`` data-width modes this module instantiates: mode -> (words, the word's bit
#: offsets inside the block's 18-bit rows of 1,024). The layout is Yosys's own for the same
#: modes (``tests/hw/test_bram.py`` compares it with ``synth_ecp5`` of an inferred memory).
DP16KD_MODES = {9: (2048, (0, 9)), 4: (4096, (0, 4, 9, 13))}


def dp16kd_width(width: int, depth: int) -> int | None:
    """The narrowest :data:`DP16KD_MODES` mode that holds ``depth`` words of ``width`` bits in
    one ``DP16KD``, or ``None``."""
    for mode in sorted(DP16KD_MODES):
        if int(width) <= mode and int(depth) <= DP16KD_MODES[mode][0]:
            return mode
    return None


def dp16kd_initvals(init, mode: int) -> dict[str, int]:
    """``INITVAL_00`` .. ``INITVAL_3F`` of a ``DP16KD`` in data-width ``mode`` holding the
    words ``init`` from address 0: 64 parameters of 320 bits, each 16 rows of 18 bits in
    20-bit slots; word ``a`` is in row ``a // k`` at bit offset ``offsets[a % k]``
    (``k`` words per row, :data:`DP16KD_MODES`)."""
    depth, offsets = DP16KD_MODES[mode]
    words = [int(v) for v in init]
    if len(words) > depth or any(not 0 <= v < (1 << mode) for v in words):
        raise ValueError(f"init: expected at most {depth} words of {mode} bits, found "
                         f"{len(words)} words in [{min(words, default=0)}, "
                         f"{max(words, default=0)}]")
    k = len(offsets)
    rows = [0] * 1024
    for a, v in enumerate(words):
        rows[a // k] |= v << offsets[a % k]
    vals = {}
    for i in range(64):
        val = 0
        for j in range(16):
            val |= rows[16 * i + j] << (20 * j)
        vals[f"INITVAL_{i:02X}"] = val
    return vals


class RegisteredReadMemory(wiring.Component):
    """``depth`` words of ``width`` bits, initialised to ``init``; one write port, one read
    port, one clock.

    A write (``wr_en``, ``wr_addr``, ``wr_data`` in cycle ``c``) is applied at the end of
    ``c``. A read address presented in cycle ``c`` gives its word on ``rd_data`` in cycle
    ``c + 2`` (:attr:`READ_LATENCY`), from a register: the contents before the writes applied
    at the end of ``c``. A read of the word written in the same cycle is not defined (the
    block RAM's two ports collide); the core never does one (a map's words are read only
    after its last write is applied: the layer barrier; the overlap loader writes a region no
    layer after the first reads).

    With ``block`` on an ECP5 platform (``platform.family == "ecp5"``) and a width that fits a
    mode of :data:`DP16KD_MODES` (at most 9 bits), the memory is ``DP16KD`` block RAMs of that
    mode (:meth:`blocks`: one per 2,048 words at 5 to 9 bits, per 4,096 at up to 4) with port
    A writing, port B reading and ``REGMODE_B = "OUTREG"``. Words of 5 to 8 bits at 2,049 to
    4,096 words sit in two x4 blocks side by side, one per 4-bit half (:meth:`slices`): the
    read data leaves the output registers with no logic after them. Other memories of more
    than one block stack them: the address bits above a block's select the write enable and,
    registered twice, the read data after the output registers (one LUT level: on the P = 64
    route at 100 MHz of ``docs/boards.md``, the copy's ``DOB`` -> that select -> ``x -
    inz`` -> the multiplier was the worst path, 10.32 ns). The second cycle is the block's own
    output register, so the read leaves the RAM with a register's clock-to-out instead of
    the array's (5.83 ns: the P = 64 route's worst path at 95 MHz, ``docs/boards.md``). Yosys
    maps an inferred memory to a ``DP16KD`` without it (its ECP5 library has no output
    register option) and, to give a read the word before a same-cycle write on the other
    port, delays the write by a cycle and forwards it (29 TRELLIS_FF and 28 LUT4 for a
    2,048 x 8 memory), which this module does not need.
    Elsewhere (simulation, iCE40, Xilinx, LUT RAM, larger memories) an inferred memory and a
    fabric register: the same timing (Vivado absorbs the register into the RAMB18's ``DOB_REG``).
    """

    #: Cycles from a read address to its word on ``rd_data``.
    READ_LATENCY = 2

    def __init__(self, *, width: int, depth: int, init=(), block: bool = True):
        self._width = int(width)
        self._depth = int(depth)
        self._init = tuple(int(v) for v in init)
        self._block = bool(block)
        addr_bits = max(1, (self._depth - 1).bit_length())
        super().__init__({
            "wr_en": In(1), "wr_addr": In(unsigned(addr_bits)),
            "wr_data": In(unsigned(self._width)),
            "rd_addr": In(unsigned(addr_bits)),
            "rd_data": Out(unsigned(self._width)),
        })

    def slices(self, platform) -> int:
        """Blocks side by side, each holding a 4-bit slice of every word (x4 mode): 2 for 5
        to 8 bits at 2,049 to 4,096 words (the overlap plan's copies), the blocks a pair of
        x9 blocks one above the other would take, and no block select on the read data.
        Else 1."""
        wide = self.instance_mode(platform) == 4 and self._width > 4
        return -(-self._width // 4) if wide else 1

    def instance_mode(self, platform) -> int | None:
        """The ``DP16KD`` mode this memory instantiates for ``platform``, or ``None``."""
        if not self._block or getattr(platform, "family", None) != "ecp5":
            return None
        mode = dp16kd_width(self._width, min(self._depth, 2048))
        if mode == 9 and 4 < self._width <= 8 and 2048 < self._depth <= 4096:
            return 4                            # two x4 slices side by side (:meth:`slices`)
        return mode

    def blocks(self, platform) -> int:
        """``DP16KD`` instances for ``platform`` (0: an inferred memory)."""
        mode = self.instance_mode(platform)
        if mode is None:
            return 0
        return self.slices(platform) * -(-self._depth // DP16KD_MODES[mode][0])

    def elaborate(self, platform):
        m = Module()
        mode = self.instance_mode(platform)
        if mode is None:
            mem = memory.Memory(shape=unsigned(self._width), depth=self._depth, init=self._init)
            m.submodules.mem = mem
            wp, rp = mem.write_port(), mem.read_port()
            q = Signal(unsigned(self._width), name="q", reset_less=True)
            m.d.comb += [wp.en.eq(self.wr_en), wp.addr.eq(self.wr_addr),
                         wp.data.eq(self.wr_data), rp.addr.eq(self.rd_addr)]
            m.d.sync += q.eq(rp.data)
            m.d.comb += self.rd_data.eq(q)
            return m
        if self.slices(platform) > 1:        # 4-bit slices of every word, side by side
            for b in range(self.slices(platform)):
                bits = slice(4 * b, min(4 * b + 4, self._width))
                width = bits.stop - bits.start
                init = [(v >> bits.start) & ((1 << width) - 1) for v in self._init]
                out = self._block_ram(m, b, mode, init, self.wr_en, self.wr_data[bits])
                m.d.comb += self.rd_data[bits].eq(out)
            return m
        # blocks of `words` words: address bits from log2(words) up pick the block (the write
        # enable decoded, the read data selected after the output registers by those bits
        # registered twice)
        words = DP16KD_MODES[mode][0]
        lo = (words - 1).bit_length()
        count = self.blocks(platform)
        outs = []
        for b in range(count):
            en = self.wr_en if count == 1 else self.wr_en & (self.wr_addr[lo:] == b)
            outs.append(self._block_ram(m, b, mode, self._init[b * words:(b + 1) * words], en,
                                        self.wr_data))
        if count == 1:
            m.d.comb += self.rd_data.eq(outs[0])
            return m
        hi = self.rd_addr[lo:]
        sel = [Signal.like(hi, name=f"blk{s}", reset_less=True) for s in (1, 2)]
        m.d.sync += [sel[0].eq(hi), sel[1].eq(sel[0])]
        for out in full_case(m, sel[1], outs):
            m.d.comb += self.rd_data.eq(out)
        return m

    def _block_ram(self, m, b, mode, init, wr_en, wr_data):
        """``DP16KD`` ``b`` in ``mode``: port A writes ``wr_data``, port B reads into
        ``OUTREG``; returns its read data (the low ``len(wr_data)`` bits of ``DOB``)."""
        words = DP16KD_MODES[mode][0]
        lo = (words - 1).bit_length()
        shift = 14 - lo                # the word address sits in AD[13:3] (x9) or AD[13:2] (x4)
        wa = Signal(14, name=f"ada{b}")
        ra = Signal(14, name=f"adb{b}")
        di = Signal(18, name=f"dia{b}")
        do = Signal(18, name=f"dob{b}")
        unused = Signal(18, name=f"doa{b}")
        m.d.comb += [wa.eq(self.wr_addr[:lo] << shift), ra.eq(self.rd_addr[:lo] << shift),
                     di.eq(wr_data)]
        ports = {}
        for i in range(14):
            ports[f"i_ADA{i}"] = wa[i]
            ports[f"i_ADB{i}"] = ra[i]
        for i in range(18):
            ports[f"i_DIA{i}"] = di[i]
            ports[f"i_DIB{i}"] = Const(0, 1)
            ports[f"o_DOA{i}"] = unused[i]
            ports[f"o_DOB{i}"] = do[i]
        for i in range(3):
            ports[f"i_CSA{i}"] = Const(0, 1)
            ports[f"i_CSB{i}"] = Const(0, 1)
        params = {f"p_{k}": Const(v, 320) for k, v in dp16kd_initvals(init, mode).items()}
        m.submodules[f"bram{b}"] = Instance(
            "DP16KD",
            p_DATA_WIDTH_A=mode, p_DATA_WIDTH_B=mode,
            p_REGMODE_A="NOREG", p_REGMODE_B="OUTREG",
            p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC",
            p_CSDECODE_A="0b000", p_CSDECODE_B="0b000",
            p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL",
            p_CLKAMUX="CLKA", p_CLKBMUX="CLKB", p_GSR="DISABLED",
            i_CLKA=ClockSignal("sync"), i_CLKB=ClockSignal("sync"),
            i_CEA=Const(1, 1), i_OCEA=Const(1, 1), i_WEA=wr_en, i_RSTA=Const(0, 1),
            i_CEB=Const(1, 1), i_OCEB=Const(1, 1), i_WEB=Const(0, 1), i_RSTB=Const(0, 1),
            **params, **ports)
        return do[:len(wr_data)]
