"""What every wrapper of the core shares (the board harness, the AXI4-Stream and Wishbone IP).

:func:`default_core` gives the core a wrapper runs (the one passed in, or
:class:`~fpgac.hw.core.Accelerator` of the plan); :func:`local_core_module` starts a wrapper's
``elaborate``: a module with its own local ``sync`` domain on the bus clock and reset, the core
inside behind a reset the wrapper drives.
"""

from __future__ import annotations

from amaranth.hdl import ClockDomain, Module, ResetInserter, Signal

__all__ = ["default_core", "local_core_module"]


def default_core(plan, core=None):
    """``core``, or ``Accelerator(plan)`` when it is None (imported here, so that importing a
    wrapper does not import the core)."""
    if core is None:
        from fpgac.hw.core import Accelerator
        core = Accelerator(plan)
    return core


def local_core_module(core, *, clk, rst) -> tuple[Module, Signal]:
    """``(m, core_reset)``: a new module whose local ``sync`` domain runs on ``clk`` with the
    synchronous reset ``rst``, holding ``core`` as submodule ``core``; driving ``core_reset``
    high resets the core alone (its ``sync`` logic), on top of ``rst``."""
    m = Module()
    m.domains.sync = cd = ClockDomain("sync", local=True)
    m.d.comb += [cd.clk.eq(clk), cd.rst.eq(rst)]
    core_reset = Signal()
    m.submodules.core = ResetInserter(core_reset)(core)
    return m, core_reset
