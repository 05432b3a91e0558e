"""cocotb test of the AXI4-Stream accelerator IP (``fpgac ip --bus axi-stream``), bit-exact.

Written into the IP directory as ``test_fpgac_axis.py`` by ``fpgac ip``; run it with
``python run_test.py [verilator|icarus]`` there. It needs cocotb 2 and cocotbext-axi only.
Environment: ``FPGAC_IP_VECTORS`` (vectors.json beside it: images, golden logits and classes),
``FPGAC_IP_SEED`` (random backpressure seed, default 1).

Tests: all images back to back through an ``AxiStreamSource`` and ``AxiStreamSink`` with random
pauses on both sides (source valid gaps and sink backpressure), every result beat compared with
the golden logits and class; then a partial image ended by an early ``tlast`` (dropped, sticky
``tlast_error``) followed by a complete image whose result must still be exact.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource


def _vectors():
    with open(os.environ.get("FPGAC_IP_VECTORS", "vectors.json")) as fh:
        return json.load(fh)


def _pauses(rng, share):
    while True:
        yield rng.random() < share


def _decode(word, vec):
    cb, ob = vec["class_bits"], vec["out_bits"]
    klass = word & ((1 << cb) - 1)
    logits = [(word >> (cb + i * ob)) & ((1 << ob) - 1) for i in range(vec["classes"])]
    return klass, logits


async def _setup(dut, seed, *, pause_in=0.3, pause_out=0.5):
    dut.aresetn.value = 0                  # reset defined before the first clock edge
    cocotb.start_soon(Clock(dut.aclk, 10, unit="ns").start())
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.aclk, dut.aresetn,
                             reset_active_level=False)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.aclk, dut.aresetn,
                         reset_active_level=False)
    rng = random.Random(seed)
    source.set_pause_generator(_pauses(rng, pause_in))
    sink.set_pause_generator(_pauses(rng, pause_out))
    dut.aresetn.value = 0
    await ClockCycles(dut.aclk, 4)
    dut.aresetn.value = 1
    await ClockCycles(dut.aclk, 2)
    return source, sink


async def _check(sink, vec, index):
    frame = await sink.recv()
    klass, logits = _decode(int.from_bytes(bytes(frame.tdata), "little"), vec)
    assert logits == vec["logits"][index], (index, logits, vec["logits"][index])
    assert klass == vec["klass"][index], (index, klass, vec["klass"][index])


@cocotb.test()
async def images_back_to_back_under_backpressure(dut):
    vec = _vectors()
    source, sink = await _setup(dut, int(os.environ.get("FPGAC_IP_SEED", "1")))
    for img in vec["images"]:
        await source.send(AxiStreamFrame(bytes(img)))     # tlast on the last pixel
    for i in range(len(vec["images"])):
        await _check(sink, vec, i)
    assert int(dut.tlast_error.value) == 0


@cocotb.test()
async def early_tlast_drops_the_partial_image(dut):
    vec = _vectors()
    source, sink = await _setup(dut, int(os.environ.get("FPGAC_IP_SEED", "1")) + 7)
    partial = bytes(vec["images"][0][: max(1, vec["pixels"] // 2)])
    if len(partial) < vec["pixels"]:
        await source.send(AxiStreamFrame(partial))
    await source.send(AxiStreamFrame(bytes(vec["images"][1 % len(vec["images"])])))
    await _check(sink, vec, 1 % len(vec["images"]))
    assert int(dut.tlast_error.value) == (1 if len(partial) < vec["pixels"] else 0)
    await ClockCycles(dut.aclk, 10)
    assert sink.empty()                                   # the partial image gave no result
