"""Wishbone B4 (classic) slave wrapper of the accelerator core, with a small register map.

Bus: 32-bit data, word addresses ``wb_adr_i[11:0]`` (byte address = 4 * word address), one
clock ``wb_clk_i`` and active-high synchronous reset ``wb_rst_i`` (Wishbone B4 RST_I); classic
cycles (``cyc``/``stb``/``we``/``sel``, ``ack``), ``irq`` high while a result waits.
Registered ``ack``: a register access takes 2 cycles; an image-window write is acknowledged
once all its pixels are taken by the core (wait states while it loads, never while it
computes: software writes an image only when STATUS.ready is 1).

Register map (word addresses; :data:`REGISTERS` is the machine-readable form)
-----------------------------------------------------------------------------

============  ======  =====  ==================================================================
word address  name    access contents
============  ======  =====  ==================================================================
0x000         ID      R      0x46504743 (ASCII "FPGC")
0x001         INFO    R      [15:0] input pixels per image, [23:16] classes, [28:24] out_bits
0x002         STATUS  R      [0] ready (takes pixels), [1] busy, [2] result valid,
                             [3] order error (sticky), [31:16] pixels of the current image
0x003         CONTROL W      [0] 1: reset the core and the pixel counter (drops a partial image
                             and a waiting result; clears the order error), [1] 1: pop the
                             result (the core may start the next image)
0x004         RESULT  R      [7:0] predicted class (first maximum) of the waiting result
0x100-0x1FF   LOGITS  R      logit i (unsigned out_bits, zero-extended) at 0x100 + i
0x800-0xFFF   IMAGE   W      pixels 4k .. 4k+3 of the image at 0x800 + k, byte lane j = pixel
                             4k+j (little endian; the last word's unused lanes are ignored).
                             Words must be written in order from 0x800; a write to any other
                             window address is ignored and sets STATUS.order_error.
============  ======  =====  ==================================================================

Unmapped addresses read as 0 and ignore writes. Limits: at most 8192 pixels per image and 256
classes (:func:`check_plan`).
"""

from __future__ import annotations

import operator

from amaranth.hdl import Cat, Const, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpgac.errors import FpgacError
from fpgac.hw.wrap import default_core, local_core_module

__all__ = ["WishboneAccelerator", "REGISTERS", "ID_VALUE", "LOGITS_BASE", "IMAGE_BASE",
           "ADDR_BITS", "check_plan", "register_table"]

ID_VALUE = 0x46504743
ADDR_BITS = 12
LOGITS_BASE = 0x100
IMAGE_BASE = 0x800
MAX_CLASSES = 0x100
MAX_PIXELS = 4 * (1 << ADDR_BITS) - 4 * IMAGE_BASE

#: (word address or range, name, access, contents), the table of the module docstring.
REGISTERS = (
    ("0x000", "ID", "R", "0x46504743 (ASCII \"FPGC\")"),
    ("0x001", "INFO", "R", "[15:0] input pixels per image, [23:16] classes, [28:24] out_bits"),
    ("0x002", "STATUS", "R", "[0] ready (takes pixels), [1] busy, [2] result valid, "
                            "[3] order error (sticky), [31:16] pixels of the current image"),
    ("0x003", "CONTROL", "W", "[0] reset core and pixel counter (drops a partial image and a "
                              "waiting result, clears order error), [1] pop the result"),
    ("0x004", "RESULT", "R", "[7:0] predicted class (first maximum) of the waiting result"),
    ("0x100-0x1FF", "LOGITS", "R", "logit i (unsigned out_bits, zero-extended) at 0x100 + i"),
    ("0x800-0xFFF", "IMAGE", "W", "pixels 4k..4k+3 at 0x800 + k, byte lane j = pixel 4k+j; in "
                                  "order from 0x800, else ignored and STATUS.order_error set"),
)


def check_plan(plan) -> None:
    """:class:`FpgacError` if ``plan`` does not fit the register map (pixels, classes)."""
    if int(plan.input_pixels) > MAX_PIXELS:
        raise FpgacError(f"--bus wishbone: expected at most {MAX_PIXELS} input pixels, found "
                         f"{plan.input_pixels}")
    if int(plan.classes) > MAX_CLASSES:
        raise FpgacError(f"--bus wishbone: expected at most {MAX_CLASSES} classes, found "
                         f"{plan.classes}")
    if int(plan.out_bits) > 32:
        raise FpgacError(f"--bus wishbone: expected out_bits <= 32, found {plan.out_bits}")


def register_table() -> str:
    """The register map as a Markdown table (byte address = 4 * word address)."""
    lines = ["| word address | name | access | contents |", "|---|---|---|---|"]
    lines += [f"| {a} | {n} | {acc} | {c} |" for a, n, acc, c in REGISTERS]
    return "\n".join(lines)


class WishboneAccelerator(wiring.Component):
    """The core behind a Wishbone B4 classic slave (register map: module docstring).

    Parameters
    ----------
    plan : HardwarePlan
        The accelerator plan; checked by :func:`check_plan`.
    core : wiring.Component, optional
        Defaults to ``fpgac.hw.core.Accelerator(plan)``.

    Ports are named as in OpenCores / LiteX Verilog cores (``wb_adr_i``, ``wb_dat_i``,
    ``wb_dat_o``, ``wb_sel_i``, ``wb_we_i``, ``wb_cyc_i``, ``wb_stb_i``, ``wb_ack_o``); the
    component has its own local ``sync`` domain from ``wb_clk_i`` / ``wb_rst_i``.
    """

    def __init__(self, plan, *, core=None):
        check_plan(plan)
        self.core = default_core(plan, core)
        self._pixels = operator.index(plan.input_pixels)
        self._classes = operator.index(plan.classes)
        self._out_bits = operator.index(plan.out_bits)
        super().__init__({
            "wb_clk_i": In(1),
            "wb_rst_i": In(1),
            "wb_adr_i": In(ADDR_BITS),
            "wb_dat_i": In(32),
            "wb_dat_o": Out(32),
            "wb_sel_i": In(4),
            "wb_we_i": In(1),
            "wb_cyc_i": In(1),
            "wb_stb_i": In(1),
            "wb_ack_o": Out(1),
            "irq": Out(1),
        })

    def elaborate(self, platform):
        m, soft_reset = local_core_module(self.core, clk=self.wb_clk_i, rst=self.wb_rst_i)
        core = self.core
        n = self._pixels

        count = Signal(range(max(2, n)))           # pixels of the current image taken
        order_error = Signal()
        word = Signal(32)                          # image word being pushed
        left = Signal(3)                           # pixels of `word` still to push
        pushing = left.any()
        ack = Signal()
        dat = Signal(32)
        m.d.comb += [self.wb_ack_o.eq(ack), self.wb_dat_o.eq(dat),
                     self.irq.eq(core.result.valid)]
        m.d.sync += ack.eq(0)

        # ---- pixels: byte lane 0 first, one per cycle into the core (word shifts down) ----
        m.d.comb += [core.pixels.payload.eq(word[:8]), core.pixels.valid.eq(pushing)]
        take = core.pixels.valid & core.pixels.ready
        with m.If(take):
            m.d.sync += [word.eq(word >> 8), left.eq(left - 1),
                         count.eq(Mux(count == n - 1, 0, count + 1))]
            with m.If(left == 1):
                m.d.sync += ack.eq(1)              # the write's last pixel: acknowledge

        # ---- bus decode ----
        adr = self.wb_adr_i
        request = self.wb_cyc_i & self.wb_stb_i & ~ack & ~pushing
        in_image = adr[ADDR_BITS - 1]
        in_logits = ~in_image & (adr[8:ADDR_BITS - 1] == 1)
        expected = Signal(ADDR_BITS - 1)
        m.d.comb += expected.eq(count >> 2)
        remaining = Signal(range(n + 1))
        m.d.comb += remaining.eq(n - count)
        # CONTROL strobes as plain continuous assignments (not inside the decode's If chain):
        # a simulator that does not run `always @*` blocks at time 0 (Icarus) still sees 0.
        pop = Signal()
        control = request & self.wb_we_i & (adr == 3) & self.wb_sel_i[0]
        m.d.comb += [soft_reset.eq(control & self.wb_dat_i[0]),
                     pop.eq(control & self.wb_dat_i[1])]
        with m.If(request):
            with m.If(self.wb_we_i):
                with m.If(in_image):
                    with m.If(adr[:ADDR_BITS - 1] == expected):
                        m.d.sync += [word.eq(self.wb_dat_i),
                                     left.eq(Mux(remaining < 4, remaining, 4))]
                    with m.Else():
                        m.d.sync += [order_error.eq(1), ack.eq(1)]
                with m.Else():
                    m.d.sync += ack.eq(1)
                    with m.If(soft_reset):
                        m.d.sync += [count.eq(0), order_error.eq(0)]
            with m.Else():
                m.d.sync += ack.eq(1)
                m.d.sync += dat.eq(0)
                with m.If(in_logits):
                    logits = core.result.payload.logits
                    with m.Switch(adr[:8]):
                        for i in range(self._classes):
                            with (m.Case(i) if i < self._classes - 1 else m.Default()):
                                with m.If(adr[:8] < self._classes):
                                    m.d.sync += dat.eq(logits[i])
                with m.Elif(~in_image & ~adr[8:ADDR_BITS - 1].any()):
                    with m.Switch(adr[:8]):
                        with m.Case(0):
                            m.d.sync += dat.eq(ID_VALUE)
                        with m.Case(1):
                            m.d.sync += dat.eq(Cat(Const(n, 16), Const(self._classes, 8),
                                                   Const(self._out_bits, 5)))
                        with m.Case(2):
                            m.d.sync += dat.eq(Cat(core.pixels.ready, core.busy,
                                                   core.result.valid, order_error,
                                                   Const(0, 12), count))
                        with m.Case(4):
                            m.d.sync += dat.eq(core.result.payload.klass)
                        with m.Default():
                            m.d.sync += dat.eq(0)
        m.d.comb += core.result.ready.eq(pop)
        return m
