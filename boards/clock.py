"""Board clocks: PLL divider search per FPGA family and the Amaranth ``sync`` domain from it.

``fpgac build --clock-mhz F`` runs the design at ``F`` MHz made by the board's PLL from its
oscillator:

================  =================  ==========  ==========================================
family            primitive          oscillator  output frequency
================  =================  ==========  ==========================================
ECP5 (ULX3S)      ``EHXPLLL``        25 MHz      ``f_in / CLKI_DIV * CLKFB_DIV``
iCE40 (iCEBreaker) ``SB_PLL40_PAD``  12 MHz      ``f_in / (DIVR+1) * (DIVF+1) / 2**DIVQ``
Artix-7 (Arty)    ``MMCME2_BASE``    100 MHz     ``f_in / DIVCLK * MULT_F / CLKOUT0_DIVIDE_F``
================  =================  ==========  ==========================================

The divider search (:func:`pll_config`) honours each PLL's documented ranges (:data:`LIMITS`:
input, phase-detector (PFD), VCO and output frequency, divider ranges) and returns the exact
frequency it makes (a :class:`fractions.Fraction` in Hz). A request the PLL cannot make within
:data:`TOLERANCE` is refused with an error naming the achievable range (or the nearest
frequencies it can make). A request equal to the oscillator that the PLL cannot make (iCE40 at
12 MHz) uses the oscillator directly.

Sources of the ranges: Lattice TN1263 (ECP5 sysCLOCK) and the ``ecppll`` tool of Project
Trellis (input 8-400 MHz, PFD 3.125-400 MHz, VCO 400-800 MHz, output 10-400 MHz); Lattice
TN1251 (iCE40 sysCLOCK) and ``icepll`` of Project IceStorm (input and PFD 10-133 MHz, VCO
533-1066 MHz, output 16-275 MHz, SIMPLE feedback); Xilinx DS181 (Artix-7 data sheet, speed grade
-1: MMCM input 10-800 MHz, PFD 10-450 MHz, VCO 600-1200 MHz, output 4.69-800 MHz, global buffer
464 MHz) and UG472 (MMCME2 attributes: ``DIVCLK_DIVIDE`` 1-106, ``CLKFBOUT_MULT_F`` 2-64 and
``CLKOUT0_DIVIDE_F`` 1-128 in steps of 1/8).

Choice among exact (or equally close) settings: ECP5 and iCE40 follow ``ecppll`` / ``icepll``
(first in divider order; ECP5 prefers the VCO nearest 600 MHz), so the dividers match what those
tools print; Xilinx takes the smallest ``DIVCLK_DIVIDE``, then the VCO nearest 1000 MHz, then
the smallest multiplier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from amaranth.hdl import (ClockDomain, ClockSignal, Elaboratable, Instance, Module,
                          Signal)
from amaranth.lib import io
from amaranth.lib.cdc import FFSynchronizer

from fpgac.errors import FpgacError

__all__ = ["LIMITS", "TOLERANCE", "PllConfig", "ClockPlan", "pll_config", "plan_clock",
           "achievable_range",
           "ClockGen", "ClockedTop", "LockReset", "DEFAULT_CLOCK_MHZ", "OVERLAP_CLOCK_MHZ",
           "default_clock_mhz", "PRIMITIVES"]

MHZ = 1_000_000

#: Relative distance from the request allowed for the frequency the PLL makes (0.5 %).
TOLERANCE = Fraction(1, 200)

#: The PLL primitive of each flow.
PRIMITIVES = {"ecp5": "EHXPLLL", "ice40": "SB_PLL40_PAD", "vivado": "MMCME2_BASE"}

#: Documented frequency ranges (MHz, inclusive) of each family's PLL (see the module docstring).
LIMITS = {
    "ecp5": {"input": (8, 400), "pfd": (Fraction(25, 8), 400), "vco": (400, 800),
             "output": (10, 400)},
    "ice40": {"input": (10, 133), "pfd": (10, 133), "vco": (533, 1066), "output": (16, 275)},
    "vivado": {"input": (10, 800), "pfd": (10, 450), "vco": (600, 1200),
               "output": (Fraction(469, 100), 464)},
}

#: Default ``--clock-mhz`` per board: a documented default (Vivado), a clock that met timing in
#: place and route (open flows), or, where the Fmax depends on the lane count, a table
#: ``((P, MHz), ...)`` in increasing ``P`` (:func:`default_clock_mhz`) of clocks below the
#: routed nextpnr Fmax of LeNet-5 builds at that ``P``. ULX3S: P <= 16 100 MHz (routed 107.23
#: MHz at 100 MHz on 1f0cac0; 105.43 on 2b46bfc; 90 MHz before the controller's issue flags),
#: P <= 64 85 MHz (routed 87.98 MHz at 85 MHz on 1f0cac0, the lane multipliers in the DSPs'
#: registers and the writer's lane multiplexer in two registered halves; 88.74 at 90 and
#: 85.46 at 100 on ec6baab, not met; 80 MHz before, routed 83.79 at 80 on aa6d0aa; 75 MHz
#: before that, routed 77.38 at 75 on 4299117; 70 MHz, routed 73.05 at 70 on a55f144; 55 MHz,
#: routed 59.04). P <= 32 had its own 75 MHz (routed 83.65-94.03 MHz at 90 MHz on the designs
#: of 2026-12-01); it takes P = 64's entry. Every ULX3S clock from 25 MHz up makes the
#: bridge's 3 Mbaud with the UART's fractional divisor (``fpgac.boards.uart``), so the link
#: rate does not depend on the entry. The measurements and commands are in ``docs/boards.md``.
DEFAULT_CLOCK_MHZ = {"arty": 100, "arty-100t": 100, "icebreaker": 30,
                     "ulx3s": ((16, 100), (64, 85))}
#: Default ``--clock-mhz`` of a plan with the overlapped load (``plan.overlap``, the default
#: ``--overlap auto``) where it differs from :data:`DEFAULT_CLOCK_MHZ` (same form): its
#: copies are whole block RAMs (no LUT-RAM tails), fewer LUTs and shorter routes. ULX3S:
#: P <= 75 100 MHz: the default build's own route (LeNet-5, P = 75 at 100 MHz, nextpnr's
#: default seed, the lane's pool in two stages of 3bd0b83) reached 105.22 MHz, met; the same
#: netlist with ``--seed 2`` 98.06 (``fpgac build --seeds 2`` keeps the route that meets).
#: Before the two-stage pool, routes at 100 MHz of 2026-12-03 reached 94.25-105.13 MHz at
#: P = 64 and 96.96-102.67 at P = 75, so this entry was 95 MHz (``docs/boards.md``, "Seeds
#: and the lane's pool stage"). ``--pes auto`` looks up to P = 75 (the table's top), where
#: conv2's 16 channels of 25 windows fill 75 lanes: 2,727 cycles an image instead of 3,259
#: at P = 64.
OVERLAP_CLOCK_MHZ = {"ulx3s": ((16, 100), (75, 100))}


def default_clock_mhz(board_name: str, pes: int | None = None, overlap: bool = False) -> float:
    """The default clock of ``board_name`` in MHz for a plan with ``pes`` lanes (and the
    overlapped load: ``overlap``, :data:`OVERLAP_CLOCK_MHZ` where the board has an entry).

    A board with a table (:data:`DEFAULT_CLOCK_MHZ`) takes the entry of the smallest measured
    ``P >= pes``, the last entry above the table, and the lowest clock of the table without
    ``pes`` (the clock that met timing at every measured ``P``: the default link rate of
    ``fpgac run --board``). A ``P`` between two entries was not routed itself: it takes the
    larger ``P``'s clock, which is an assumption (fewer lanes usually route at least as
    fast, but not always: on 2026-12-03 P = 64 routed at 96.44-97.13 MHz where P = 75 reached
    96.96-102.67), so ``--pes auto`` looks only at the ``P`` of the entries
    (:func:`fpgac.flows.build.auto_pes`)."""
    entry = DEFAULT_CLOCK_MHZ[board_name]
    if overlap and board_name in OVERLAP_CLOCK_MHZ:
        entry = OVERLAP_CLOCK_MHZ[board_name]
    if not isinstance(entry, tuple):
        return entry
    if pes is None:
        return min(mhz for _, mhz in entry)
    for p, mhz in entry:
        if int(pes) <= p:
            return mhz
    return entry[-1][1]


@dataclass(frozen=True)
class PllConfig:
    """One PLL setting.

    Attributes
    ----------
    primitive : str
        ``EHXPLLL``, ``SB_PLL40_PAD`` or ``MMCME2_BASE``.
    f_in, f_pfd, f_vco, f_out : Fraction
        Input, phase-detector, VCO and output frequency in Hz (exact).
    dividers : dict
        The primitive's divider parameters (ints; ``Fraction`` for the MMCM's ``_F`` ones).
    requested : Fraction
        The requested output frequency in Hz.
    """

    primitive: str
    f_in: Fraction
    f_pfd: Fraction
    f_vco: Fraction
    f_out: Fraction
    dividers: dict = field(default_factory=dict)
    requested: Fraction = Fraction(0)

    @property
    def mhz(self) -> float:
        return float(self.f_out / MHZ)

    def describe(self) -> dict:
        """JSON-friendly summary (frequencies in MHz as floats, dividers as numbers)."""
        return {"primitive": self.primitive, "f_in_mhz": float(self.f_in / MHZ),
                "f_pfd_mhz": float(self.f_pfd / MHZ), "f_vco_mhz": float(self.f_vco / MHZ),
                "f_out_mhz": float(self.f_out / MHZ),
                "f_out_exact_hz": str(self.f_out),
                "requested_mhz": float(self.requested / MHZ),
                "dividers": {k: (float(v) if isinstance(v, Fraction) else v)
                             for k, v in self.dividers.items()}}


def _in(value, lo, hi) -> bool:
    return lo * MHZ <= value <= hi * MHZ


def _fmt(f) -> str:
    return f"{float(Fraction(f) / MHZ):.6g} MHz"


def _ecp5_candidates(f_in: Fraction):
    lim = LIMITS["ecp5"]
    for clki in range(1, 129):
        pfd = f_in / clki
        if not _in(pfd, *lim["pfd"]):
            continue
        for clkfb in range(1, 81):
            out = pfd * clkfb
            if not _in(out, *lim["output"]):
                continue
            first = max(1, math.ceil(lim["vco"][0] * MHZ / out))
            for clkop in range(first, min(128, math.floor(lim["vco"][1] * MHZ / out)) + 1):
                vco = out * clkop
                yield out, vco, pfd, {"CLKI_DIV": clki, "CLKFB_DIV": clkfb,
                                          "CLKOP_DIV": clkop}


def _ice40_candidates(f_in: Fraction):
    lim = LIMITS["ice40"]
    for divr in range(16):
        pfd = f_in / (divr + 1)
        if not _in(pfd, *lim["pfd"]):
            continue
        for divf in range(128):
            vco = pfd * (divf + 1)
            if not _in(vco, *lim["vco"]):
                continue
            for divq in range(1, 7):
                out = vco / 2 ** divq
                if _in(out, *lim["output"]):
                    yield out, vco, pfd, {"DIVR": divr, "DIVF": divf, "DIVQ": divq}


def _ice40_filter_range(pfd: Fraction) -> int:
    """Loop-filter setting for a PFD frequency (TN1251 table, as ``icepll`` computes it)."""
    for bound, value in ((17, 1), (26, 2), (44, 3), (66, 4), (101, 5)):
        if pfd < bound * MHZ:
            return value
    return 6


def _xilinx_candidates(f_in: Fraction, f_req: Fraction):
    """For every (DIVCLK, MULT_F) with PFD and VCO in range: the CLKOUT0_DIVIDE_F (1/8 steps)
    nearest the request (and its neighbour, so ties and both sides are seen)."""
    lim = LIMITS["vivado"]
    for divclk in range(1, 107):
        pfd = f_in / divclk
        if not _in(pfd, *lim["pfd"]):
            continue
        for mult8 in range(16, 64 * 8 + 1):
            vco = pfd * Fraction(mult8, 8)
            if not _in(vco, *lim["vco"]):
                continue
            ideal = vco / f_req * 8
            for div8 in {math.floor(ideal), math.ceil(ideal)}:
                if not 8 <= div8 <= 128 * 8:
                    continue
                if div8 < 16 and div8 % 8:          # fractional divide needs >= 2.000
                    continue
                out = vco / Fraction(div8, 8)
                if _in(out, *lim["output"]):
                    yield out, vco, pfd, {"DIVCLK_DIVIDE": divclk,
                                          "CLKFBOUT_MULT_F": Fraction(mult8, 8),
                                          "CLKOUT0_DIVIDE_F": Fraction(div8, 8)}


def achievable_range(flow: str, f_in: Fraction) -> tuple[Fraction, Fraction]:
    """Lowest and highest output frequency (Hz) the PLL of ``flow`` makes from ``f_in``."""
    if flow == "vivado":
        lim = LIMITS["vivado"]
        lo = max(Fraction(lim["output"][0]), Fraction(lim["vco"][0], 128)) * MHZ
        hi = min(Fraction(lim["output"][1]), Fraction(lim["vco"][1])) * MHZ
        return lo, hi
    gen = _ecp5_candidates if flow == "ecp5" else _ice40_candidates
    outs = [out for out, *_ in gen(f_in)]
    if not outs:
        raise FpgacError(f"pll ({PRIMITIVES[flow]}): no setting at all from a {_fmt(f_in)} input")
    return min(outs), max(outs)


def pll_config(flow: str, f_in_hz, f_out_hz) -> PllConfig:
    """The PLL setting of ``flow`` (``ecp5``, ``ice40``, ``vivado``) nearest ``f_out_hz``.

    Raises
    ------
    FpgacError
        ``--clock-mhz`` outside the achievable range (named in the message), the input outside
        the PLL's input range, or no setting within :data:`TOLERANCE` of the request (the
        message names the nearest frequencies below and above).
    """
    if flow not in LIMITS:
        raise FpgacError(f"pll: expected a flow in {', '.join(LIMITS)}, found {flow!r}")
    lim = LIMITS[flow]
    f_in = Fraction(f_in_hz).limit_denominator(1_000_000)
    f_req = Fraction(f_out_hz).limit_denominator(1_000_000)
    prim = PRIMITIVES[flow]
    if not _in(f_in, *lim["input"]):
        raise FpgacError(f"pll ({prim}): expected an input clock in {_fmt(lim['input'][0] * MHZ)}"
                         f"..{_fmt(lim['input'][1] * MHZ)}, found {_fmt(f_in)}")
    cands = {"ecp5": lambda: _ecp5_candidates(f_in), "ice40": lambda: _ice40_candidates(f_in),
             "vivado": lambda: _xilinx_candidates(f_in, f_req)}[flow]
    lo, hi = achievable_range(flow, f_in)
    if not lo <= f_req <= hi:
        raise FpgacError(
            f"--clock-mhz: expected {_fmt(lo)}..{_fmt(hi)} (what the {prim} makes from the "
            f"{_fmt(f_in)} oscillator), found {_fmt(f_req)}")
    best = best_key = None
    for out, vco, pfd, div in cands():
        err = abs(out - f_req)
        if flow == "ecp5":
            key = (err, abs(vco - 600 * MHZ))          # ecppll: ties -> VCO nearest 600 MHz
        elif flow == "ice40":
            key = (err,)                               # icepll: first in divider order
        else:
            key = (err, div["DIVCLK_DIVIDE"], abs(vco - 1000 * MHZ), div["CLKFBOUT_MULT_F"])
        if best_key is None or key < best_key:
            best, best_key = (out, vco, pfd, div), key
    out, vco, pfd, div = best
    if abs(out - f_req) > TOLERANCE * f_req:
        below = max((o for o, *_ in cands() if o <= f_req), default=None)
        above = min((o for o, *_ in cands() if o >= f_req), default=None)
        near = " or ".join(_fmt(f) for f in (below, above) if f is not None)
        raise FpgacError(
            f"--clock-mhz: expected a frequency the {prim} makes from {_fmt(f_in)} within "
            f"{float(TOLERANCE):.1%}, found {_fmt(f_req)}; nearest: {near}")
    div = dict(div)
    if flow == "ecp5":
        div["CLKOP_CPHASE"] = div["CLKOP_DIV"] // 2     # as ecppll writes it
    elif flow == "ice40":
        div["FILTER_RANGE"] = _ice40_filter_range(pfd)
    return PllConfig(prim, f_in, pfd, vco, out, div, f_req)


@dataclass(frozen=True)
class ClockPlan:
    """The clock of a build: the oscillator directly (``pll is None``) or a PLL setting."""

    board: str
    flow: str
    f_osc: Fraction
    pll: PllConfig | None

    @property
    def hz(self) -> float:
        return float(self.pll.f_out if self.pll else self.f_osc)

    @property
    def mhz(self) -> float:
        return self.hz / MHZ

    def describe(self) -> dict:
        d = {"source": "pll" if self.pll else "oscillator",
             "oscillator_mhz": float(self.f_osc / MHZ), "mhz": self.mhz}
        if self.pll:
            d["pll"] = self.pll.describe()
        return d


def plan_clock(board, clock_mhz=None, pes: int | None = None, overlap: bool = False) -> ClockPlan:
    """The clock for ``board`` (a :class:`fpgac.boards.platforms.Board`) at ``clock_mhz``.

    ``None`` means the board's default for a plan with ``pes`` lanes and ``overlap``
    (:func:`default_clock_mhz`). The PLL makes every clock
    it can (its lock also gates the reset); the oscillator is used directly only for a request
    equal to it that the PLL cannot make (iCE40: 12 MHz is below its 16 MHz minimum).
    """
    if clock_mhz is None:
        clock_mhz = default_clock_mhz(board.name, pes, overlap)
    if not isinstance(clock_mhz, (int, float, Fraction)) or not clock_mhz > 0:
        raise FpgacError(f"--clock-mhz: expected a frequency > 0 MHz, found {clock_mhz!r}")
    f_osc = Fraction(board.clock_hz).limit_denominator(1_000_000)
    f_req = Fraction(clock_mhz).limit_denominator(1_000_000) * MHZ
    if f_req == f_osc:
        lo, hi = achievable_range(board.flow, f_osc)
        if not lo <= f_req <= hi:
            return ClockPlan(board.name, board.flow, f_osc, None)
    return ClockPlan(board.name, board.flow, f_osc, pll_config(board.flow, f_osc, f_req))


#: Extra Vivado constraints file written by :class:`ClockGen` (names the MMCM output clock).
XDC_FILE = "sync_clock.xdc"

#: Power-on delay after the PLL locks, before ``sync`` leaves reset (iCE40 block RAMs read as
#: zero for about 3 us after configuration; the platforms wait 15 us, so do we).
POR_SECONDS = 15e-6


class LockReset(Elaboratable):
    """Reset from a PLL lock: ``rst`` is high until ``lock`` (asynchronous, synchronized here)
    has been high for ``delay`` cycles of ``domain``, and again as soon as it drops.

    Exact timing: with ``lock`` high from cycle 0 on (sampled at the clock edge), the
    synchronized ``locked`` is high from cycle 2, and ``rst`` is low from cycle
    ``delay + 4`` on (2 cycles synchronizer, ``delay`` counting, 1 cycle ``ready``, 1 cycle
    ``rst`` register).
    """

    def __init__(self, delay: int, domain: str = "sync"):
        if delay < 1:
            raise ValueError(f"delay must be >= 1, not {delay}")
        self.delay = delay
        self.domain = domain
        self.lock = Signal()
        self.locked = Signal()
        self.rst = Signal(init=1)

    def elaborate(self, platform):
        m = Module()
        d = m.d[self.domain]
        m.submodules.lock_sync = FFSynchronizer(self.lock, self.locked, o_domain=self.domain)
        timer = Signal(range(self.delay + 1))
        ready = Signal()
        with m.If(~self.locked):
            d += [timer.eq(0), ready.eq(0)]
        with m.Elif(timer == self.delay):
            d += ready.eq(1)
        with m.Else():
            d += timer.eq(timer + 1)
        d += self.rst.eq(~ready)
        return m


class ClockGen(Elaboratable):
    """Drives the ``sync`` domain at ``clock.hz`` from the board oscillator through the PLL.

    The parent defines ``sync`` (Amaranth wants a domain defined at or above its users):
    :class:`ClockedTop` does.

    ``rst`` is high until the PLL reports lock and then for :data:`POR_SECONDS` more
    (counted on the PLL clock); it is the design's power-on reset (:class:`ClockedTop` gives it
    to the top's ``por``). ``sync``'s own reset stays undriven: an OR of it with the core's
    resync reset in front of every core flip-flop was the routed ULX3S P = 64 critical path.
    Timing constraints: the platform constrains the oscillator port;
    nextpnr derives the PLL output's constraint from the PLL parameters ("Derived frequency
    constraint" in its log; a net constraint from here would name a net that synthesis
    renames); for Vivado the ``create_clock`` on the oscillator port plus the MMCM gives the
    derived clock, and
    :meth:`xdc` (written as :data:`XDC_FILE`, read by the platform's Tcl script) states it with a
    ``create_generated_clock``.
    """

    def __init__(self, clock: ClockPlan):
        if clock.pll is None:
            raise ValueError("ClockGen needs a PLL setting (the oscillator needs no ClockGen)")
        self.clock = clock
        self.locked = Signal()
        #: The lock reset (a register): high until the PLL has locked for
        #: :data:`POR_SECONDS`. ``sync``'s own reset is left undriven (constant 0);
        #: :class:`ClockedTop` hands this to the top's ``por``.
        self.rst = Signal(init=1)

    def _ecp5(self, m, platform, clk_out, locked):
        cfg = self.clock.pll
        d = cfg.dividers
        port = platform.request(platform.default_clk, dir="-")
        m.submodules.osc_buffer = buf = io.Buffer("i", port)
        m.submodules.pll = Instance(
            "EHXPLLL",
            a_FREQUENCY_PIN_CLKI=f"{float(cfg.f_in / MHZ):.6f}",
            a_FREQUENCY_PIN_CLKOP=f"{float(cfg.f_out / MHZ):.6f}",
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
            a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA",
            p_CLKOP_ENABLE="ENABLED", p_CLKI_DIV=d["CLKI_DIV"], p_CLKFB_DIV=d["CLKFB_DIV"],
            p_CLKOP_DIV=d["CLKOP_DIV"], p_CLKOP_CPHASE=d["CLKOP_CPHASE"], p_CLKOP_FPHASE=0,
            p_FEEDBK_PATH="CLKOP",
            i_CLKI=buf.i, i_CLKFB=clk_out, i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0,
            i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0,
            o_CLKOP=clk_out, o_LOCK=locked)

    def _ice40(self, m, platform, clk_out, locked):
        d = self.clock.pll.dividers
        port = platform.request(platform.default_clk, dir="-")
        m.submodules.pll = Instance(
            "SB_PLL40_PAD",
            p_FEEDBACK_PATH="SIMPLE", p_PLLOUT_SELECT="GENCLK",
            p_DIVR=d["DIVR"], p_DIVF=d["DIVF"], p_DIVQ=d["DIVQ"],
            p_FILTER_RANGE=d["FILTER_RANGE"],
            i_PACKAGEPIN=port.io, i_RESETB=1, i_BYPASS=0,
            o_PLLOUTGLOBAL=clk_out, o_LOCK=locked)

    def _xilinx(self, m, platform, clk_out, locked):
        cfg = self.clock.pll
        d = cfg.dividers
        port = platform.request(platform.default_clk, dir="-")
        m.submodules.osc_buffer = buf = io.Buffer("i", port)
        feedback, unbuffered = Signal(), Signal()
        m.submodules.pll = Instance(
            "MMCME2_BASE",
            p_BANDWIDTH="OPTIMIZED", p_CLKIN1_PERIOD=round(float(1e9 / cfg.f_in), 3),
            p_DIVCLK_DIVIDE=d["DIVCLK_DIVIDE"],
            p_CLKFBOUT_MULT_F=float(d["CLKFBOUT_MULT_F"]),
            p_CLKOUT0_DIVIDE_F=float(d["CLKOUT0_DIVIDE_F"]),
            i_CLKIN1=buf.i, i_CLKFBIN=feedback, i_RST=0, i_PWRDWN=0,
            o_CLKFBOUT=feedback, o_CLKOUT0=unbuffered, o_LOCKED=locked)
        m.submodules.clk_bufg = Instance("BUFG", i_I=unbuffered, o_O=clk_out)
        platform.add_file(XDC_FILE, self.xdc())        # read by the Vivado script (read_xdc)

    def elaborate(self, platform):
        m = Module()
        clk_out = Signal()
        lock_async = Signal()
        {"ecp5": self._ecp5, "ice40": self._ice40, "vivado": self._xilinx}[self.clock.flow](
            m, platform, clk_out, lock_async)

        m.domains.por = ClockDomain("por", reset_less=True, local=True)
        m.d.comb += ClockSignal("por").eq(clk_out)
        m.submodules.lock_reset = lr = LockReset(max(1, int(POR_SECONDS * self.clock.hz)),
                                                 domain="por")
        m.d.comb += [lr.lock.eq(lock_async), self.locked.eq(lr.locked)]
        m.d.comb += [ClockSignal("sync").eq(clk_out),     # sync: defined by the parent
                     self.rst.eq(lr.rst)]
        return m

    def xdc(self) -> str:
        """Vivado constraints naming the MMCM output clock (the oscillator port's
        ``create_clock`` is written by the platform)."""
        cfg = self.clock.pll
        mult = cfg.dividers["CLKFBOUT_MULT_F"]
        div = cfg.dividers["DIVCLK_DIVIDE"] * cfg.dividers["CLKOUT0_DIVIDE_F"]
        ratio = Fraction(mult) / Fraction(div)
        return ("# sync clock: MMCME2_BASE output, "
                f"{float(cfg.f_in / MHZ):g} MHz * {ratio.numerator} / {ratio.denominator} = "
                f"{float(cfg.f_out / MHZ):.6g} MHz\n"
                "create_generated_clock -name sync_clk "
                "-source [get_pins -hierarchical -filter {NAME =~ *pll/CLKIN1}] "
                f"-multiply_by {ratio.numerator} -divide_by {ratio.denominator} "
                "[get_pins -hierarchical -filter {NAME =~ *pll/CLKOUT0}]\n")


class ClockedTop(Elaboratable):
    """``top`` (e.g. :class:`fpgac.boards.harness.BoardTop`) with its ``sync`` domain made by a
    :class:`ClockGen` when ``clock`` has a PLL; with the oscillator, the platform makes ``sync``
    (and its reset) as usual. ``top`` must already be told the clock frequency (its UART
    divisor) and have a ``por`` input (power-on reset: driven from the PLL lock, the only
    reset of the design then; low with the oscillator)."""

    def __init__(self, top, clock: ClockPlan):
        self.top = top
        self.clock = clock
        self.clockgen = ClockGen(clock) if clock.pll is not None else None

    def elaborate(self, platform):
        m = Module()
        if self.clockgen is not None:
            m.domains.sync = ClockDomain("sync")
            m.submodules.clocks = self.clockgen
            m.d.comb += self.top.por.eq(self.clockgen.rst)
        m.submodules.top = self.top
        return m
