"""cocotb test of the Wishbone B4 accelerator IP (``fpgac ip --bus wishbone``), bit-exact.

Written into the IP directory as ``test_fpgac_wishbone.py`` by ``fpgac ip``; run it with
``python run_test.py [verilator|icarus]`` there. Needs cocotb 2 only: the bus model is a
Wishbone B4 classic master (:class:`ClassicMaster`: CYC/STB held until ACK, random idle
cycles between bus cycles). Environment: ``FPGAC_IP_VECTORS``, ``FPGAC_IP_SEED``.

The test reads ID and INFO, then per image: polls STATUS until ready, writes the image through
the IMAGE window (4 pixels per word, in order), polls STATUS until a result is valid (irq must
be high), reads RESULT and every LOGITS word, compares them with golden, pops the result.
An out-of-order window write must set STATUS.order_error; CONTROL.reset clears it.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge

ID, INFO, STATUS, CONTROL, RESULT = 0x000, 0x001, 0x002, 0x003, 0x004
LOGITS, IMAGE = 0x100, 0x800


class ClassicMaster:
    """Wishbone B4 classic single read / write cycles on ``wb_*`` ports, with random gaps."""

    def __init__(self, dut, rng, *, max_gap=3, timeout=100_000):
        self.dut, self.rng, self.max_gap, self.timeout = dut, rng, max_gap, timeout
        for name in ("wb_cyc_i", "wb_stb_i", "wb_we_i", "wb_adr_i", "wb_dat_i"):
            getattr(dut, name).value = 0
        dut.wb_sel_i.value = 0xF

    async def _cycle(self, adr, dat=None):
        dut = self.dut
        gap = self.rng.randint(0, self.max_gap)
        if gap:
            await ClockCycles(dut.wb_clk_i, gap)
        dut.wb_adr_i.value = adr
        dut.wb_we_i.value = int(dat is not None)
        dut.wb_dat_i.value = 0 if dat is None else dat
        dut.wb_cyc_i.value = 1
        dut.wb_stb_i.value = 1
        for _ in range(self.timeout):
            await RisingEdge(dut.wb_clk_i)
            await ReadOnly()
            if int(dut.wb_ack_o.value):
                value = int(dut.wb_dat_o.value)
                await FallingEdge(dut.wb_clk_i)   # end the cycle before the next edge
                dut.wb_cyc_i.value = 0
                dut.wb_stb_i.value = 0
                dut.wb_we_i.value = 0
                return value
        raise AssertionError(f"no ACK for address 0x{adr:03x} in {self.timeout} cycles")

    async def read(self, adr):
        return await self._cycle(adr)

    async def write(self, adr, dat):
        await self._cycle(adr, dat)


def _vectors():
    with open(os.environ.get("FPGAC_IP_VECTORS", "vectors.json")) as fh:
        return json.load(fh)


async def _until(bus, bit, limit=1_000_000):
    for _ in range(limit):
        status = await bus.read(STATUS)
        if status >> bit & 1:
            return status
    raise AssertionError(f"STATUS bit {bit} never set")


@cocotb.test()
async def images_through_the_register_map(dut):
    vec = _vectors()
    rng = random.Random(int(os.environ.get("FPGAC_IP_SEED", "1")))
    bus = ClassicMaster(dut, rng)          # inputs and reset defined before the first edge
    dut.wb_rst_i.value = 1
    cocotb.start_soon(Clock(dut.wb_clk_i, 10, unit="ns").start())
    await ClockCycles(dut.wb_clk_i, 4)
    dut.wb_rst_i.value = 0
    assert await bus.read(ID) == 0x46504743
    info = await bus.read(INFO)
    assert (info & 0xFFFF, info >> 16 & 0xFF, info >> 24 & 0x1F) == (
        vec["pixels"], vec["classes"], vec["out_bits"])

    # an out-of-order image word is refused and flagged; CONTROL.reset clears the flag
    await bus.write(IMAGE + 1, 0x01020304)
    assert (await bus.read(STATUS)) >> 3 & 1 == 1
    await bus.write(CONTROL, 1)
    assert (await bus.read(STATUS)) >> 3 & 1 == 0

    for index, img in enumerate(vec["images"]):
        await _until(bus, 0)
        for k in range(0, len(img), 4):
            chunk = img[k:k + 4]
            await bus.write(IMAGE + k // 4, sum(p << (8 * j) for j, p in enumerate(chunk)))
        status = await _until(bus, 2)
        assert status >> 16 == 0 and int(dut.irq.value) == 1
        klass = await bus.read(RESULT)
        logits = [await bus.read(LOGITS + i) for i in range(vec["classes"])]
        assert logits == vec["logits"][index], (index, logits, vec["logits"][index])
        assert klass == vec["klass"][index], (index, klass, vec["klass"][index])
        await bus.write(CONTROL, 2)                       # pop: the core takes the next image
        assert (await bus.read(STATUS)) >> 2 & 1 == 0
    assert (await bus.read(STATUS)) >> 3 & 1 == 0
