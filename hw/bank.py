"""A weight bank: a ROM of compact entries with its own read pointer and tap decoder."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from fpgac.hw.checks import check_unsigned

__all__ = ["WeightBank", "bank_rom"]


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


class WeightBank(wiring.Component):
    """One bank of :attr:`HardwarePlan.banks <fpgac.compiler.plan.HardwarePlan.banks>`.

    Entries ``(w, gap, last)`` are decoded as in :mod:`fpgac.compiler.passes.encode_weights`.
    Timing: a step issued in cycle ``t`` (``step``, with ``pass_first`` on the first step of a
    phase, ``group_first`` on the first step of a group, the group's ``cmd`` and the layer's
    ``wz``) is registered (the controller's issue logic ends at these registers), reads the
    ROM in ``t + 1`` (the ROM is always enabled; only the pointer depends on the step), the
    entry is registered in ``t + 2`` (the block RAM's output register), decoded in ``t + 3``
    and the decoded ``d = w - wz`` (signed) and tap offset ``off`` show in ``t + 4``
    (:attr:`latency`). Only the ``last`` bit is used straight from the ROM (in ``t + 2``: it
    stops the reads). ``restart`` is registered like the step. ``cmd`` is 0 (idle), 1 (next: on
    ``group_first`` start the following list; later phases rewind to it) or 2 (rewind to the
    current list's start on every ``pass_first``); a bank that read its list's ``last`` entry (or is idle,
    or reads a filler) shows ``d = 0`` and ``off = 0`` until the next ``pass_first``.
    ``restart`` (a cycle before the program's first step) points the bank at its first list.
    Without ``has_last`` the compiler guarantees every pass reads exactly the group's count.

    With ``port`` (a read port of a shared ROM built by :func:`bank_rom`), the bank reads its
    entries at ``base ..`` of that ROM instead of owning one.
    """

    def __init__(self, *, entries, wraw_bits: int, gap_bits: int, has_last: bool,
                 w_bits: int, tap_bits: int, port=None, base: int = 0):
        self._entries = tuple(entries)
        self._port = port
        self._base = int(base)
        self._wraw = int(wraw_bits)
        self._gap = int(gap_bits)
        self._has_last = bool(has_last)
        self._tap = int(tap_bits)
        super().__init__({
            "restart": In(1),
            "step": In(1), "pass_first": In(1), "group_first": In(1), "cmd": In(2),
            "wz": In(unsigned(wraw_bits)),
            "d": Out(signed(w_bits)),
            "off": Out(unsigned(tap_bits)),
        })

    #: Cycles from ``step`` to ``d``/``off``: input register, ROM read, ROM output register,
    #: decode.
    LATENCY = 4

    @property
    def latency(self) -> int:
        return self.LATENCY

    def elaborate(self, platform):
        m = Module()
        if self._port is None:
            m.submodules.rom = rom = bank_rom(self._entries, wraw_bits=self._wraw,
                                              gap_bits=self._gap, has_last=self._has_last)
            rp = rom.read_port()
        else:
            rp = self._port
        # the input register
        restart, step, pass_first, group_first = (
            Signal(name=f"{n}0") for n in ("restart", "step", "pass_first", "group_first"))
        cmd = Signal.like(self.cmd, name="cmd0")
        wz = Signal.like(self.wz, name="wz0")
        m.d.sync += [restart.eq(self.restart), step.eq(self.step),
                     pass_first.eq(self.pass_first), group_first.eq(self.group_first),
                     cmd.eq(self.cmd), wz.eq(self.wz)]
        ptr = Signal(rp.addr.shape(), init=self._base)
        lstart = Signal(rp.addr.shape(), init=self._base)
        stopped = Signal()
        v1 = Signal()
        pf1 = Signal()
        wz1 = Signal.like(self.wz)
        addr = Signal.like(rp.addr)
        nxt = group_first & (cmd == 1)
        stop_now = Signal()
        if self._has_last:
            m.d.comb += stop_now.eq(v1 & rp.data.last)
        done = ~pass_first & (stopped | stop_now)
        read = Signal()
        m.d.comb += [
            addr.eq(Mux(pass_first & ~nxt, lstart, ptr)),
            read.eq(step & cmd.any() & ~done),
            rp.addr.eq(addr),
        ]
        with m.If(restart):
            m.d.sync += ptr.eq(self._base)
        with m.Elif(read):
            m.d.sync += ptr.eq(addr + 1)
        with m.If(step & nxt):
            m.d.sync += lstart.eq(ptr)
        with m.If(step & pass_first):
            m.d.sync += stopped.eq(0)
        with m.Elif(stop_now):
            m.d.sync += stopped.eq(1)
        m.d.sync += [v1.eq(read), pf1.eq(read & pass_first), wz1.eq(wz)]

        # the ROM output register (t + 2)
        v2 = Signal()
        pf2 = Signal()
        wz2 = Signal.like(self.wz)
        w2 = Signal(unsigned(self._wraw))
        gap2 = Signal(unsigned(self._gap))
        m.d.sync += [v2.eq(v1), pf2.eq(pf1), wz2.eq(wz1), w2.eq(rp.data.w),
                     gap2.eq(rp.data.gap)]

        # bank stage (t + 3): filler test, tap offset accumulation, d = w - wz (registered)
        g, tb = self._gap, self._tap
        wide = max(tb, 2 * g + 1) + 1
        filler = Signal()
        adv = Signal(unsigned(wide))
        acc = Signal(unsigned(tb))
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
        m.d.sync += [
            self.d.eq(Mux(keep, w2 - wz2, 0)),
            self.off.eq(Mux(keep, off_new, 0)),
        ]
        return m
