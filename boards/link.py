"""The host link: each board's USB-UART bridge, its default baud rate and the link throughput.

Bridges (datasheet facts this module relies on)
-----------------------------------------------
* **FTDI FT2232H** (Arty A7, iCEBreaker; FTDI DS_FT2232H v2.6): USB 2.0 Hi-Speed; its UART
  (channel B on both boards) runs up to **12 Mbaud**; the baud generator divides a
  **12 MHz** reference (120 MHz / 10) by ``n + k/8`` (``n`` >= 1; ``n = 1`` gives 12 Mbaud).
* **FTDI FT231X** (ULX3S; FTDI DS_FT231X v1.x): USB 2.0 Full-Speed; UART up to **3 Mbaud**
  from a **3 MHz** reference divided by ``n + k/8``.

Both show the sub-integer divisors' error (``k/8``) as a fraction of a bit; fpgac only uses
the bridge rates with an integer divisor, ``reference / n``, which the bridge makes exactly.

Choosing the rate (:func:`link_baud`)
-------------------------------------
The FPGA's receiver and transmitter divide the design clock by ``clk / baud`` clocks per bit,
rounded to ``2**-8`` of a clock (:func:`fpgac.boards.uart.uart_divisor`; a fractional divisor
makes each bit ``floor`` or ``ceil`` of it, within one clock of the exact edges over a
frame). The default is the fastest exact bridge rate for which that divisor is at least
:data:`MIN_LINK_DIVISOR` clocks per bit (the receiver samples mid-bit after a 2-flip-flop
synchronizer: 8 clocks keep the sampling point within 2/8 of a bit of the centre, one more
clock of a fractional divisor's phase within 3/8) and the FPGA-side rate is within
:data:`MAX_LINK_ERROR` of the bridge's (well inside the ~4 % total an 8N1 frame tolerates;
the rounding to ``2**-8`` keeps it under 0.01 %). The clock is the real design clock (the PLL
output when ``--clock-mhz`` is used), so the divisor follows it.

Throughput (:func:`link_figures`)
---------------------------------
8N1 sends 10 bits per byte. A batched request streams ``N`` images back to back while results
stream back (full duplex); the harness queues the bytes that arrive while the core is busy
(:func:`fpgac.boards.harness.rx_fifo_depth`). Sustained images/s over the link is
``baud / 10 / max(input_pixels, frame_length)``, capped by the core's own rate.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from fractions import Fraction

from fpgac.errors import FpgacError

__all__ = ["Bridge", "BRIDGES", "BOARD_BRIDGE", "MIN_LINK_DIVISOR", "MAX_LINK_ERROR",
           "bridge_rates", "link_baud", "link_figures"]


@dataclass(frozen=True)
class Bridge:
    """A USB-UART bridge: its baud reference and its fastest rate (datasheet)."""

    name: str
    reference_hz: int
    max_baud: int
    usb: str


BRIDGES = {
    "FT2232H": Bridge("FT2232H", 12_000_000, 12_000_000, "USB 2.0 Hi-Speed"),
    "FT231X": Bridge("FT231X", 3_000_000, 3_000_000, "USB 2.0 Full-Speed"),
}

#: The bridge on each board's USB port (Digilent Arty A7 and 1BitSquared iCEBreaker: FT2232H;
#: Radiona ULX3S: FT231X).
BOARD_BRIDGE = {"arty": "FT2232H", "arty-100t": "FT2232H", "icebreaker": "FT2232H",
                "ulx3s": "FT231X"}

#: Fewest FPGA clocks per bit the default rate may use.
MIN_LINK_DIVISOR = 8
#: Largest relative difference between the FPGA's rate and the bridge's for the default.
MAX_LINK_ERROR = 0.01


def bridge_rates(bridge: Bridge, minimum: int = 9600) -> list[int]:
    """The bridge's exact rates ``reference / n`` (integer ``n``), fastest first."""
    rates = []
    n = max(1, -(-bridge.reference_hz // bridge.max_baud))
    while bridge.reference_hz // n >= minimum:
        if bridge.reference_hz % n == 0:
            rates.append(bridge.reference_hz // n)
        n += 1
    return rates


def link_baud(board_name: str, clk_hz: float) -> int:
    """The default baud rate of ``board_name``'s link at design clock ``clk_hz`` (module doc)."""
    try:
        bridge = BRIDGES[BOARD_BRIDGE[board_name]]
    except KeyError:
        raise FpgacError(f"--board: expected one of {', '.join(BOARD_BRIDGE)}, "
                         f"found {board_name!r}") from None
    if not clk_hz > 0:
        raise FpgacError(f"clock: expected a frequency > 0 Hz, found {clk_hz!r}")
    from fpgac.boards.uart import FRAC_BITS

    for rate in bridge_rates(bridge):
        divisor = Fraction(round(Fraction(clk_hz) * 2**FRAC_BITS / rate), 2**FRAC_BITS)
        if divisor >= MIN_LINK_DIVISOR and abs(clk_hz / divisor - rate) <= MAX_LINK_ERROR * rate:
            return rate
    raise FpgacError(f"{board_name}: expected a {bridge.name} rate within "
                     f"{MAX_LINK_ERROR:.0%} at {clk_hz / 1e6:g} MHz, found none")


def link_figures(board_name: str, baud: int, clk_hz: float, input_pixels: int,
                 frame_length: int, cycles_per_image: int) -> dict:
    """Link facts and throughput for report.json (``link`` block)."""
    from fpgac.boards.uart import uart_divisor

    baud = operator.index(baud)
    bridge = BRIDGES[BOARD_BRIDGE[board_name]]
    divisor = uart_divisor(clk_hz, baud)
    bytes_per_s = baud / 10
    link = bytes_per_s / max(int(input_pixels), int(frame_length))
    core = clk_hz / int(cycles_per_image)
    return {
        "bridge": bridge.name, "usb": bridge.usb, "bridge_max_baud": bridge.max_baud,
        "baud": baud, "divisor": float(divisor), "fpga_baud": float(clk_hz / divisor),
        "baud_error": float(abs(clk_hz / divisor - baud) / baud),
        "bytes_per_image_in": int(input_pixels), "bytes_per_image_out": int(frame_length),
        "images_per_s_link": link, "images_per_s_core": core,
        "images_per_s": min(link, core),
        "single_request_images_per_s": bytes_per_s / (int(input_pixels) + int(frame_length)),
    }
