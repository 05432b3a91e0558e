"""The boards fpgac builds for: amaranth-boards platforms plus pin choices and part capacities.

Capacities are the parts' data-sheet figures; they are what ``fpgac build`` checks a design
against (before place and route) and what the reports print utilization against.
"""

from dataclasses import dataclass, field

from amaranth_boards.arty_a7 import ArtyA7_35Platform, ArtyA7_100Platform
from amaranth_boards.icebreaker import ICEBreakerPlatform
from amaranth_boards.ulx3s import ULX3S_85F_Platform

from fpgac.errors import FpgacError

__all__ = ["Capacity", "Board", "BOARDS", "get_board"]


@dataclass(frozen=True)
class Capacity:
    """Resources of one FPGA part.

    ``luts`` counts 4-input logic cells (iCE40) or 4-LUTs (ECP5) or 6-LUTs (7 series);
    ``bram_bits`` is the total block RAM (iCE40: EBR only, the SPRAM is listed apart);
    ``dsps`` counts hard multipliers (SB_MAC16, MULT18X18D, DSP48E1).
    """

    luts: int
    ffs: int
    bram_blocks: int
    bram_bits: int
    dsps: int
    spram_bits: int = 0


@dataclass(frozen=True)
class Board:
    """One supported board.

    Attributes
    ----------
    name : str
        The ``--board`` name.
    platform : type
        The amaranth-boards platform class.
    flow : str
        ``"vivado"`` (Xilinx), ``"ice40"`` or ``"ecp5"`` (open flow with YoWASP).
    capacity : Capacity
        The part's resources.
    busy_led : tuple[str, int]
        Resource lit while an image is being received, computed or answered.
    digit_leds : tuple[tuple[str, int], ...]
        Resources showing the last predicted class in binary, LSB first.
    extra_resources : str
        Name of a platform attribute with resources to add (``add_resources``), or ``""``.
    """

    name: str
    platform: type
    flow: str
    capacity: Capacity
    busy_led: tuple[str, int]
    digit_leds: tuple[tuple[str, int], ...]
    extra_resources: str = ""
    extra_high: tuple[tuple[str, int], ...] = field(default=())

    @property
    def part(self) -> str:
        p = self.platform
        return f"{p.device}-{p.package}" + (f"-{p.speed}" if getattr(p, "speed", None) else "")

    @property
    def clock_hz(self) -> float:
        return float(self.make_platform().default_clk_frequency)

    def make_platform(self):
        """A fresh platform instance with the board's extra resources added."""
        plat = self.platform()
        if self.extra_resources:
            plat.add_resources(getattr(plat, self.extra_resources))
        return plat


_XC7A35T = Capacity(luts=20800, ffs=41600, bram_blocks=50, bram_bits=50 * 36864, dsps=90)
_XC7A100T = Capacity(luts=63400, ffs=126800, bram_blocks=135, bram_bits=135 * 36864, dsps=240)
_UP5K = Capacity(luts=5280, ffs=5280, bram_blocks=30, bram_bits=30 * 4096, dsps=8,
                 spram_bits=4 * 262144)
_LFE5U85 = Capacity(luts=83640, ffs=83640, bram_blocks=208, bram_bits=208 * 18432, dsps=156)

_ARTY_LEDS = (("led", 0), ("led", 1), ("led", 2), ("led", 3))

#: Every board ``fpgac build --board`` accepts.
BOARDS: dict[str, Board] = {
    "arty": Board("arty", ArtyA7_35Platform, "vivado", _XC7A35T,
                  busy_led=("rgb_led", 0), digit_leds=_ARTY_LEDS),
    "arty-100t": Board("arty-100t", ArtyA7_100Platform, "vivado", _XC7A100T,
                       busy_led=("rgb_led", 0), digit_leds=_ARTY_LEDS),
    # LEDs 2..6 sit on the break-off PMOD that ships attached to the iCEBreaker.
    "icebreaker": Board("icebreaker", ICEBreakerPlatform, "ice40", _UP5K,
                        busy_led=("led", 0),
                        digit_leds=(("led", 2), ("led", 3), ("led", 4), ("led", 5)),
                        extra_resources="break_off_pmod"),
    "ulx3s": Board("ulx3s", ULX3S_85F_Platform, "ecp5", _LFE5U85,
                   busy_led=("led", 7),
                   digit_leds=(("led", 0), ("led", 1), ("led", 2), ("led", 3))),
}


def get_board(name: str) -> Board:
    """The :class:`Board` called ``name``; :class:`FpgacError` naming the choices otherwise."""
    try:
        return BOARDS[name]
    except KeyError:
        raise FpgacError(
            f"--board: expected one of {', '.join(BOARDS)}, found {name!r}") from None
