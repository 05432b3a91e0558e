"""cocotb test module for ``tb_top.sv``: start the clock, then wait for ``done``.

All stimulus, capture and cycle counting happens inside the SystemVerilog wrapper, so Python
does nothing per cycle and the simulator runs at full speed. The clock is cocotb's C++ (GPI)
clock unless the wrapper was built with ``TB_INTERNAL_CLOCK`` (then it has no ``clk`` port and
the simulator's own scheduler toggles it).
"""

from __future__ import annotations

import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, Timer

#: Clock period in ns (the value is irrelevant to results; cycles are counted in the wrapper).
PERIOD_NS = 10


@cocotb.test()
async def run_images(dut) -> None:
    """Run every image the wrapper was told to run; pass when ``done`` rises."""
    if os.environ.get("FPGAC_TB_INTERNAL_CLOCK") != "1":
        clock = Clock(dut.clk, PERIOD_NS, unit="ns", impl="gpi")
        clock.start(start_high=False)
    # let the wrapper's initialisers run first: with randomised initial state (x_seed) ``done``
    # may read 1 at time 0, before tb_top.sv assigns it
    await Timer(1, unit="step")
    if not int(dut.done.value):
        await RisingEdge(dut.done)
