"""A weight bank: a ROM of compact entries with its own read pointer and tap decoder."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgac.hw.checks import check_unsigned
from fpgac.hw.fanout import TAG, VIVADO_ATTRS

__all__ = ["WeightBank", "bank_rom", "bank_ram", "WeightLoader", "SPRAM_SCRIPT"]

#: Yosys commands (after reading the design) that drop the initialiser Amaranth gives every
#: memory from the loaded banks' RAMs (submodule ``weight_ram``), so that they map to SPRAM.
SPRAM_SCRIPT = "delete t:$meminit_v2 r:MEMID=\\weight_ram %i"


def bank_rom(entries, *, wraw_bits: int, gap_bits: int, has_last: bool) -> memory.Memory:
    """The ROM of bank entries ``(w, gap, last)``: fields LSB first, ``last`` only with
    ``has_last`` (contents range-checked)."""
    fields = {"w": unsigned(wraw_bits), "gap": unsigned(gap_bits)}
    if has_last:
        fields["last"] = unsigned(1)
    init = []
    for i, (w, gap, last) in enumerate(entries):
        check_unsigned(f"bank[{i}].w", [w], wraw_bits)
        check_unsigned(f"bank[{i}].gap", [gap], gap_bits)
        entry = {"w": w, "gap": gap}
        if has_last:
            entry["last"] = last
        init.append(entry)
    return memory.Memory(shape=data.StructLayout(fields), depth=max(2, len(init)), init=init)


def bank_ram(depth: int, *, wraw_bits: int, gap_bits: int, has_last: bool) -> memory.Memory:
    """The RAM of a loaded bank (``plan.weight_store == "loaded"``): the layout of
    :func:`bank_rom`, no contents (the harness writes them), ``ram_style = "huge"`` so that
    Yosys (``synth_ice40 -spram``) maps it to SPRAM (one shared read/write address). Amaranth
    still emits a zero initialiser, which SPRAM cannot take: the board build deletes it
    (:data:`SPRAM_SCRIPT`); the core never reads the RAM before the upload."""
    fields = {"w": unsigned(wraw_bits), "gap": unsigned(gap_bits)}
    if has_last:
        fields["last"] = unsigned(1)
    return memory.Memory(shape=data.StructLayout(fields), depth=max(2, int(depth)), init=[],
                         attrs={"ram_style": "huge"})


class WeightLoader(wiring.Component):
    """Writes the weight image (:func:`fpgac.compiler.passes.weight_image.weight_image`) into
    the loaded banks, one byte at a time.

    ``data`` takes one byte per transfer (always ready); ``start`` (a strobe) points the loader
    at the first byte of the image. Every ``entry_bytes`` bytes (little endian) make one entry,
    written in the cycle after its last byte: ``wr_en[k]`` with ``wr_addr`` and ``wr_data``
    (the entry's bits, LSB first) for bank ``k``, the banks in order, each ``sizes[k]``
    entries. ``done`` is high once every entry has been written (until the next ``start``).
    """

    def __init__(self, *, sizes, entry_bytes: int, width: int):
        self._sizes = tuple(int(n) for n in sizes)
        self._nbytes = int(entry_bytes)
        super().__init__({
            "start": In(1),
            "data": In(stream.Signature(8)),
            "wr_en": Out(len(self._sizes)),
            "wr_addr": Out(range(max(2, max(self._sizes, default=1)))),
            "wr_data": Out(unsigned(width)),
            "done": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        nb, sizes = self._nbytes, self._sizes
        word = Signal(8 * nb)
        byte = Signal(range(max(2, nb)))
        bank = Signal(range(max(2, len(sizes) + 1)))
        addr = Signal.like(self.wr_addr)
        full = Signal()
        m.d.comb += [self.data.ready.eq(1), self.done.eq(bank == len(sizes))]
        m.d.sync += full.eq(0)
        with m.If(self.start):
            m.d.sync += [byte.eq(0), addr.eq(0),
                         bank.eq(next((k for k, n in enumerate(sizes) if n), len(sizes)))]
        with m.Elif(self.data.valid & (bank != len(sizes))):
            m.d.sync += word.eq(Cat(word[8:], self.data.payload))
            m.d.sync += byte.eq(Mux(byte == nb - 1, 0, byte + 1))
            m.d.sync += full.eq(byte == nb - 1)
        # an entry is complete: write it, then move to the next address / bank
        m.d.comb += [self.wr_addr.eq(addr), self.wr_data.eq(word)]
        with m.If(full):
            for k, n in enumerate(sizes):
                if not n:
                    continue
                with m.If(bank == k if k else ~bank.any()):     # no `!bank` (lint)
                    m.d.comb += self.wr_en[k].eq(1)
                    nxt = next((j for j in range(k + 1, len(sizes)) if sizes[j]), len(sizes))
                    with m.If(addr == n - 1):
                        m.d.sync += [addr.eq(0), bank.eq(nxt)]
                    with m.Else():
                        m.d.sync += addr.eq(addr + 1)
        return m


class WeightBank(wiring.Component):
    """One bank of :attr:`HardwarePlan.banks <fpgac.compiler.plan.HardwarePlan.banks>`.

    Entries ``(w, gap, last)`` are decoded as in :mod:`fpgac.compiler.passes.encode_weights`.
    Timing: a step issued in cycle ``t`` (``step``, with ``pass_first`` on the first step of a
    phase, ``group_first`` on the first step of a group, the group's ``cmd`` and the layer's
    ``wz``) is registered (the controller's issue logic ends at these registers), reads the
    ROM in ``t + 1`` (the ROM is always enabled; only the pointer depends on the step), the
    entry is registered in ``t + 2`` (the block RAM's output register), decoded in ``t + 3``
    and the decoded ``d = w - wz`` (signed) and tap offset ``off`` show in ``t + 4``
    (:attr:`latency`). The ``last`` bit is registered too (in ``t + 3``) before it stops the
    reads, so no logic follows the block RAM's clock-to-out: the read in the cycle after the
    last entry's may go one entry past the list (or the bank's end: a harmless read); it is
    discarded (no output) and the pointer steps back to it, so the outputs are those of a bank
    that stopped at once (no added latency, the cycle model is unchanged). ``restart`` is
    registered like the step. ``cmd`` is 0 (idle), 1 (next: on ``group_first`` start the
    following list; later phases rewind to it) or 2 (rewind to the current list's start on
    every ``pass_first``); a bank that read its list's ``last`` entry (or is idle, or reads a
    filler) shows ``d = 0`` and ``off = 0`` until the next ``pass_first``.
    ``restart`` (between the program's last read and the next program's first step, at least
    a cycle before it: the controller's registered ``done``) points the bank at its first
    list.
    Without ``has_last`` the compiler guarantees every pass reads exactly the group's count.

    With ``port`` (a read port of a shared ROM built by :func:`bank_rom`), the bank reads its
    entries at ``base ..`` of that ROM instead of owning one.

    With ``loaded`` the bank owns a RAM (:func:`bank_ram`, ``len(entries)`` words, contents
    written at run time) with one shared address: ``wr_en`` writes ``wr_data`` at ``wr_addr``
    (the read is disabled in that cycle, so the RAM is one single-port SPRAM). Writes are only
    allowed while no step is in flight (the core takes no image before the weights are
    complete).
    """

    def __init__(self, *, entries, wraw_bits: int, gap_bits: int, has_last: bool,
                 w_bits: int, tap_bits: int, port=None, base: int = 0, loaded: bool = False):
        self._loaded = bool(loaded)
        self._entries = tuple(entries)
        self._port = port
        self._base = int(base)
        self._wraw = int(wraw_bits)
        self._gap = int(gap_bits)
        self._has_last = bool(has_last)
        self._tap = int(tap_bits)
        ports = {
            "restart": In(1),
            "step": In(1), "pass_first": In(1), "group_first": In(1), "cmd": In(2),
            "wz": In(unsigned(wraw_bits)),
            "d": Out(signed(w_bits)),
            "off": Out(unsigned(tap_bits)),
        }
        if self._loaded:
            ports.update({"wr_en": In(1), "wr_addr": In(range(max(2, len(self._entries)))),
                          "wr_data": In(unsigned(wraw_bits + gap_bits + int(has_last)))})
        super().__init__(ports)

    #: Cycles from ``step`` to ``d``/``off``: input register, ROM read, ROM output register,
    #: decode.
    LATENCY = 4

    @property
    def latency(self) -> int:
        return self.LATENCY

    def elaborate(self, platform):
        m = Module()
        if self._loaded:
            m.submodules.weight_ram = ram = bank_ram(len(self._entries), wraw_bits=self._wraw,
                                              gap_bits=self._gap, has_last=self._has_last)
            rp, wp = ram.read_port(), ram.write_port()
        elif self._port is None:
            m.submodules.rom = rom = bank_rom(self._entries, wraw_bits=self._wraw,
                                              gap_bits=self._gap, has_last=self._has_last)
            rp = rom.read_port()
        else:
            rp = self._port
        # the input register: every bank has its own copy of the step flags, wz and cmd, which
        # are the same in all banks (cmd in the banks whose columns of the group masks are
        # equal); named as register replicas (fpgac.hw.fanout) so that synthesis keeps them
        # apart (merged, one register reached all 64 banks of the ULX3S P = 64 build: its worst
        # path, docs/boards.md; a merged cmd, bank 3's, fed bank 6 over 8.2 ns at 80 MHz)
        restart, step, pass_first, group_first = (
            Signal(name=f"{n}0_{TAG}", attrs=VIVADO_ATTRS)
            for n in ("restart", "step", "pass_first", "group_first"))
        cmd = Signal.like(self.cmd, name=f"cmd0_{TAG}", attrs=VIVADO_ATTRS)
        wz = Signal.like(self.wz, name=f"wz0_{TAG}", reset_less=True, attrs=VIVADO_ATTRS)
        m.d.sync += [restart.eq(self.restart), step.eq(self.step),
                     pass_first.eq(self.pass_first), group_first.eq(self.group_first),
                     cmd.eq(self.cmd), wz.eq(self.wz)]
        ptr = Signal(rp.addr.shape(), init=self._base)
        lstart = Signal(rp.addr.shape(), init=self._base)
        stopped = Signal()
        v1 = Signal()
        pf1 = Signal()
        a1 = Signal.like(rp.addr, reset_less=True)     # the address read in the previous cycle
        lastq = Signal()                # the entry read two cycles ago was a list's last
        wz1 = Signal.like(self.wz, reset_less=True)
        addr = Signal.like(rp.addr)
        cur = Signal.like(rp.addr)
        nxt = group_first & (cmd == 1)
        # `last` is registered before it stops the reads (block RAM clock-to-out): a read in
        # the cycle after the last entry's may go one entry too far; it is discarded (`v2`)
        # and the pointer steps back to it (`cur`); right after a pass's first read, `lastq`
        # belongs to the pass before (`~pf1`; a pass the bank sits out reads nothing anyway)
        stop_now = Signal()
        if self._has_last:
            m.d.comb += stop_now.eq(lastq & ~pf1)
        ovs = v1 & stop_now
        done = ~pass_first & (stopped | stop_now)
        read = Signal()
        m.d.comb += [
            cur.eq(Mux(ovs, a1, ptr)),
            addr.eq(Mux(pass_first & ~nxt, lstart, cur)),
            read.eq(step & cmd.any() & ~done),
        ]
        if self._loaded:            # one address for the read and the write (SPRAM)
            m.d.comb += [rp.addr.eq(Mux(self.wr_en, self.wr_addr, addr)), wp.addr.eq(rp.addr),
                         wp.en.eq(self.wr_en), wp.data.eq(self.wr_data),
                         rp.en.eq(~self.wr_en)]
        else:
            m.d.comb += rp.addr.eq(addr)
        with m.If(restart):
            m.d.sync += ptr.eq(self._base)
        with m.Elif(read):
            m.d.sync += ptr.eq(addr + 1)
        with m.Elif(ovs):
            m.d.sync += ptr.eq(a1)
        with m.If(step & nxt):
            m.d.sync += lstart.eq(cur)
        with m.If(step & pass_first):
            m.d.sync += stopped.eq(0)
        with m.Elif(stop_now):
            m.d.sync += stopped.eq(1)
        m.d.sync += [v1.eq(read), pf1.eq(read & pass_first), wz1.eq(wz), a1.eq(addr)]
        if self._has_last:
            m.d.sync += lastq.eq(v1 & rp.data.last)

        # the ROM output register (t + 2)
        v2 = Signal()
        pf2 = Signal()
        wz2 = Signal.like(self.wz, reset_less=True)
        w2 = Signal(unsigned(self._wraw), reset_less=True)
        gap2 = Signal(unsigned(self._gap), reset_less=True)
        m.d.sync += [v2.eq(v1 & ~stop_now), pf2.eq(pf1), wz2.eq(wz1), w2.eq(rp.data.w),
                     gap2.eq(rp.data.gap)]
        self._decode(m, v2, pf2, wz2, w2, gap2)
        return m

    def _decode(self, m, v2, pf2, wz2, w2, gap2) -> None:
        """The bank stage (``t + 3``) on the registered entry: filler test, tap offset
        accumulation, ``d = w - wz`` (registered into ``d`` / ``off``)."""
        g, tb = self._gap, self._tap
        wide = max(tb, 2 * g + 1) + 1
        filler = Signal()
        adv = Signal(unsigned(wide))
        acc = Signal(unsigned(tb), reset_less=True)      # set by a pass's first entry (pf2)
        prev = Signal(unsigned(wide))
        total = Signal(unsigned(wide + 1))
        off_new = Signal(unsigned(tb))
        m.d.comb += [
            filler.eq(w2 == wz2),
            adv.eq(Mux(filler, Cat(Const(0, g), gap2) + (1 << g), gap2 + 1)),
            prev.eq(Mux(pf2, (1 << tb) - 1, acc)),
            total.eq(prev + adv),
            off_new.eq(total[:tb]),
        ]
        with m.If(v2):
            m.d.sync += acc.eq(off_new)
        keep = v2 & ~filler
        d = Signal.like(self.d, reset_less=True)
        off = Signal.like(self.off, reset_less=True)
        m.d.sync += [d.eq(Mux(keep, w2 - wz2, 0)), off.eq(Mux(keep, off_new, 0))]
        m.d.comb += [self.d.eq(d), self.off.eq(off)]
