"""AXI4-Stream wrapper of the accelerator core (AMBA port names, one clock, active-low reset).

Ports (Verilog names, as written by :func:`fpgac.ip.generate.write_ip`)
-----------------------------------------------------------------------
``aclk``, ``aresetn``
    Clock and synchronous active-low reset (AMBA 4 AXI4-Stream, ARESETn).
``s_axis_tdata[7:0]``, ``s_axis_tvalid``, ``s_axis_tready``, ``s_axis_tlast``
    Pixels, ``plan.input_pixels`` per image in raster order ``(c, y, x)``, unsigned 8 bit.
    ``tlast`` marks an image's last pixel. ``tready`` is high while the core waits for pixels
    (not computing, no result waiting in the output register).
``m_axis_tdata[W-1:0]``, ``m_axis_tvalid``, ``m_axis_tready``, ``m_axis_tlast``
    One beat per image (``tlast`` always 1): the core's result payload zero-extended to
    ``W = 8 * ceil(payload_bits / 8)`` bits: ``klass`` in bits ``[class_bits-1:0]``, logit ``i``
    (unsigned ``out_bits``) at bit ``class_bits + i * out_bits``. Held until ``tready``.
``tlast_error``
    Sticky flag (cleared by reset): a ``tlast`` came before the image's last pixel, or the last
    pixel came without ``tlast``. An early ``tlast`` also drops the partial image (the core is
    reset, no result), so the next beat starts a new image; a missing one does not (that image
    is complete and its result is sent).

Amaranth users take :class:`AxiStreamAccelerator` (or the core :class:`fpgac.hw.core.Accelerator`
itself, with ``amaranth.lib.stream`` interfaces) and connect it in their own design.
"""

from __future__ import annotations

import operator

from amaranth.hdl import Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpgac.hw.wrap import default_core, local_core_module

__all__ = ["AxiStreamAccelerator", "tdata_bits"]


def tdata_bits(plan) -> int:
    """Width of ``m_axis_tdata``: the result payload rounded up to whole bytes."""
    bits = operator.index(plan.class_bits) + operator.index(plan.classes) * operator.index(
        plan.out_bits)
    return 8 * -(-bits // 8)


class AxiStreamAccelerator(wiring.Component):
    """The core behind AXI4-Stream slave (pixels) and master (results) ports (module doc).

    Parameters
    ----------
    plan : HardwarePlan
        The accelerator plan (``fpgac.compiler.plan.plan_hardware``).
    core : wiring.Component, optional
        Defaults to ``fpgac.hw.core.Accelerator(plan)``.

    The component makes its own local ``sync`` domain from ``aclk`` / ``aresetn`` (AMBA port
    names), so in an Amaranth design drive ``aclk`` from your clock and ``aresetn`` from your
    reset like any other input.
    """

    def __init__(self, plan, *, core=None):
        self.core = default_core(plan, core)
        self._pixels = operator.index(plan.input_pixels)
        self._width = tdata_bits(plan)
        super().__init__({
            "aclk": In(1),
            "aresetn": In(1),
            "s_axis_tdata": In(8),
            "s_axis_tvalid": In(1),
            "s_axis_tready": Out(1),
            "s_axis_tlast": In(1),
            "m_axis_tdata": Out(self._width),
            "m_axis_tvalid": Out(1),
            "m_axis_tready": In(1),
            "m_axis_tlast": Out(1),
            "tlast_error": Out(1),
        })

    def elaborate(self, platform):
        m, drop = local_core_module(self.core, clk=self.aclk, rst=~self.aresetn)
        core = self.core

        m.d.comb += [
            core.pixels.payload.eq(self.s_axis_tdata),
            core.pixels.valid.eq(self.s_axis_tvalid),
            self.s_axis_tready.eq(core.pixels.ready),
            self.m_axis_tdata.eq(core.result.payload.as_value()),
            self.m_axis_tvalid.eq(core.result.valid),
            core.result.ready.eq(self.m_axis_tready),
            self.m_axis_tlast.eq(1),
        ]
        count = Signal(range(max(2, self._pixels)))
        last = count == self._pixels - 1
        with m.If(self.s_axis_tvalid & self.s_axis_tready):
            m.d.sync += count.eq(Mux(last | self.s_axis_tlast, 0, count + 1))
            with m.If(self.s_axis_tlast != last):
                m.d.sync += self.tlast_error.eq(1)
            # early tlast: reset the core in this cycle (the partial image is dropped)
            m.d.comb += drop.eq(self.s_axis_tlast & ~last)
        return m
