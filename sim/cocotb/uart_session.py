"""cocotb test module: a host on the UART pins of a board harness (``rx``, ``tx``).

The job (a JSON file named by ``FPGAC_UART_JOB``, written by
:func:`fpgac.sim.rtl.simulate_uart`) gives the bytes to send, the number of bytes to wait for,
the clocks per bit and a cycle limit. The clock is cocotb's (10 ns); every wait is a
``Timer`` (no Python per clock cycle). The host sends 8N1 frames back to back while a
background receiver samples the middle of each bit of ``tx``; the received bytes (hex) and,
after a timeout, the word ``timeout`` go to the job's ``out`` file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, Timer

PERIOD_NS = 10


@cocotb.test()
async def uart_session(dut) -> None:
    job = json.loads(Path(os.environ["FPGAC_UART_JOB"]).read_text())
    div, n_reply = int(job["divisor"]), int(job["reply"])
    bit_ns = div * PERIOD_NS
    Clock(dut.clk, PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    dut.rx.value = 1
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 4)
    got = bytearray()
    errors = []

    async def receive():
        while True:
            await FallingEdge(dut.tx)
            await Timer(bit_ns // 2 + 2, unit="ns")          # mid start bit, off the edges
            if int(dut.tx.value):
                errors.append(f"start bit too short after {len(got)} bytes")
                continue
            value = 0
            for i in range(8):
                await Timer(bit_ns, unit="ns")
                value |= int(dut.tx.value) << i
            await Timer(bit_ns, unit="ns")
            if not int(dut.tx.value):
                errors.append(f"stop bit low after {len(got)} bytes")
            got.append(value)

    cocotb.start_soon(receive())
    for byte in bytes.fromhex(job["send"]):
        for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
            dut.rx.value = bit
            await Timer(bit_ns, unit="ns")
    waited = 0
    while len(got) < n_reply and waited < int(job["timeout"]):
        await Timer(1000 * PERIOD_NS, unit="ns")
        waited += 1000
    await Timer(12 * bit_ns, unit="ns")                      # a byte more would show
    lines = [got.hex()] + [f"error {e}" for e in errors]
    if len(got) < n_reply:
        lines.append("timeout")
    Path(job["out"]).write_text("\n".join(lines) + "\n")
