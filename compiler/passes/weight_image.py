"""Pass: emit the weight image of a plan with the loaded weight store, and its checksum.

Contract
--------
:func:`weight_image` is the byte string the board harness writes into the weight banks
(``HardwarePlan.weight_store == "loaded"``, ``docs/boards.md``, "Weight upload"): the entries
of bank 0, then bank 1, ..., each entry the word its ROM would hold (``w`` in the LSBs, then
``gap``, then ``last`` where ``bank_last[k]``, else 0) as ``weight_entry_bytes`` bytes, little
endian. :func:`image_crc` is its CRC-16/CCITT (polynomial ``0x1021``, initial value
``0xFFFF``, no reflection, no final XOR: :func:`binascii.crc_hqx` with ``0xFFFF``), the value
the harness computes over the received bytes and the host checks against ``report.json``.
"""

from __future__ import annotations

import binascii

from fpgac.errors import FpgacError

__all__ = ["weight_image", "image_crc", "CRC_INIT", "CRC_POLY"]

#: CRC-16/CCITT initial value and polynomial (``docs/boards.md``).
CRC_INIT = 0xFFFF
CRC_POLY = 0x1021


def entry_word(entry, wraw_bits: int, gap_bits: int, has_last: bool) -> int:
    """The bank word of one entry ``(w, gap, last)`` (range-checked)."""
    w, gap, last = (int(v) for v in entry)
    if not 0 <= w < 1 << wraw_bits or not 0 <= gap < 1 << gap_bits or last not in (0, 1):
        raise FpgacError(f"weight entry: expected w < 2**{wraw_bits}, gap < 2**{gap_bits}, "
                         f"last in (0, 1), found {(w, gap, last)}")
    return w | gap << wraw_bits | (last if has_last else 0) << (wraw_bits + gap_bits)


def weight_image(plan) -> bytes:
    """The weight image of ``plan`` (module docstring); :class:`FpgacError` for a ROM plan."""
    if plan.weight_store != "loaded":
        raise FpgacError(f"weight image: expected a plan with weight_store 'loaded', found "
                         f"{plan.weight_store!r}")
    nbytes = int(plan.weight_entry_bytes)
    wr, gb = int(plan.wraw_bits), int(plan.gap_bits)
    if (wr + gb + 1) > 8 * nbytes:
        raise FpgacError(f"weight_entry_bytes: expected at least {-(-(wr + gb + 1) // 8)}, "
                         f"found {nbytes}")
    out = bytearray()
    for k, bank in enumerate(plan.banks):
        for entry in bank:
            out += entry_word(entry, wr, gb, bool(plan.bank_last[k])).to_bytes(nbytes, "little")
    return bytes(out)


def image_crc(data: bytes) -> int:
    """CRC-16/CCITT of ``data`` (module docstring)."""
    return binascii.crc_hqx(bytes(data), CRC_INIT)
