"""The core with the loaded weight store, simulated (cocotb + Verilator / Icarus), against golden.

The weight banks are RAMs written at run time (``plan.weight_store == "loaded"``, the
iCEBreaker's SPRAM). Before the first image the wrapper (``sim/cocotb/tb_top.sv``) pulses
``weights_start``, streams the weight image into the ``weights`` port, computes its CRC-16 as
the board harness does, compares it with the upload's last two bytes, waits for
``weights_done`` and drives ``weights_ok``. Then MNIST and corner images: every logit and the
class bit-exact with :mod:`fpgac.sim.golden`, every image's compute cycles equal to
:func:`fpgac.compiler.analysis.cycles.predict`. The Verilator runs start from random contents
(``x_seed``: the RAMs too), so a bank word the upload missed or misplaced would show. A
corrupted byte (CRC mismatch) or a truncated image (``weights_done`` stays low) must leave
the core taking no pixel at all. The UART side of the upload (command bytes, status frames,
resync) is tested on the harness in the Amaranth simulator: ``tests/boards/test_harness_loaded.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fpgac.compiler.frontend import load_model
from fpgac.compiler.passes.weight_image import image_crc, weight_image
from fpgac.compiler.plan import plan_hardware
from fpgac.errors import FpgacError
from fpgac.sim import golden, rtl
from fpgac.sim.compare import compare
from fpgac.sim.mnist import load_mnist
from fpgac.sim.preprocess import pixel_table

pytestmark = pytest.mark.slow

LENET5 = Path(__file__).resolve().parents[2] / "examples" / "lenet5_g90_8b.yml"


@pytest.fixture(scope="module")
def mnist():
    return load_mnist("test")[0]


def loaded_plan(model, pes):
    plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model), weight_store="loaded")
    assert plan.weight_store == "loaded" and len(plan.banks) == min(pes, len(plan.banks))
    return plan


def test_tiny_loaded_bit_exact_stalls_and_bad_uploads(tiny, mnist, build_dir, special_images):
    """P = 4 (four banks: the loader walks bank after bank), Verilator: MNIST and corner
    images from random initial RAM contents, with and without stalls on every stream; then
    a corrupted and a truncated upload on the same build: no pixel is ever taken."""
    plan = loaded_plan(tiny, 4)
    assert len(plan.banks) == 4
    images = np.concatenate([mnist[:12].reshape(12, 1, 28, 28),
                             special_images((1, 28, 28), n_random=3, seed=1)])
    res = rtl.simulate(plan, images, build_dir=build_dir, x_seed=11)
    verdict = compare(tiny, plan, images, res)
    assert verdict.exact, verdict.message
    stalled = rtl.simulate(plan, images, build_dir=build_dir, stalls=77, x_seed=12)
    assert stalled.cached_build and stalled.weights.ok
    assert (stalled.logits == res.logits).all() and (stalled.klass == res.klass).all()
    assert (stalled.compute_cycles == res.compute_cycles).all()
    assert stalled.total_cycles > res.total_cycles          # the stalls really happened

    image = weight_image(plan)
    upload = rtl.weight_upload(plan)
    assert upload == image + image_crc(image).to_bytes(2, "little")
    corrupt = bytearray(upload)
    corrupt[len(image) // 2] ^= 0x10                        # one bit of one weight entry
    with pytest.raises(FpgacError, match=r"image 0: .*stuck in feed after 0 pixels; "
                                         r"weight upload: done 1, CRC match 0"):
        rtl.simulate(plan, images[:1], build_dir=build_dir, weights=bytes(corrupt),
                     timeout_cycles=5_000)
    short = image[:-plan.weight_entry_bytes]                # the last entry missing
    with pytest.raises(FpgacError, match=r"image 0: .*stuck in feed after 0 pixels; "
                                         r"weight upload: done 0, CRC match 1"):
        rtl.simulate(plan, images[:1], build_dir=build_dir,
                     weights=short + image_crc(short).to_bytes(2, "little"),
                     timeout_cycles=5_000)


def test_tiny_loaded_icarus_one_bank(tiny, mnist, build_dir, special_images):
    """P = 1 (one bank) on the second simulator. Icarus ran about 9,300 cycles/s here and an
    image takes 63,731 compute cycles, so one MNIST and one random image."""
    plan = loaded_plan(tiny, 1)
    images = np.concatenate([mnist[30:31].reshape(1, 1, 28, 28),
                             special_images((1, 28, 28), n_random=1, seed=2)[4:]])
    res = rtl.simulate(plan, images, simulator="icarus", build_dir=build_dir)
    verdict = compare(tiny, plan, images, res)
    assert verdict.exact, verdict.message


def test_lenet5_loaded_p4_mnist_bit_exact(mnist, build_dir, special_images):
    """The shipped LeNet-5 with the loaded store at P = 4, the plan the iCEBreaker build
    picks (``--pes auto``), on Verilator: 40 MNIST test images and corner images."""
    model = load_model(LENET5)
    plan = loaded_plan(model, 4)
    images = np.concatenate([mnist[100:140].reshape(40, 1, 28, 28),
                             special_images((1, 28, 28), n_random=2, seed=3)])
    res = rtl.simulate(plan, images, build_dir=build_dir, x_seed=5)
    verdict = compare(model, plan, images, res)
    assert verdict.exact, verdict.message


def test_upload_given_exactly_for_a_loaded_core(tiny):
    """The wrapper's interface check: the loaded ports are recognised (all or none), and
    ``weights`` is required for a loaded core and refused for a ROM core (no build runs)."""
    from fpgac.hw.emit import to_verilog

    images = np.zeros((1, 1, 28, 28), np.uint8)
    loaded = to_verilog(loaded_plan(tiny, 2))
    rom = to_verilog(plan_hardware(tiny, pes=2, pixel_lut=pixel_table(tiny)))
    assert rtl.core_interface(loaded, "fpgac_core").loaded
    assert not rtl.core_interface(rom, "fpgac_core").loaded
    with pytest.raises(FpgacError, match=r"weights: expected the upload bytes .* \(loaded "
                                         r"weight store\), found None"):
        rtl.simulate_verilog(loaded, "fpgac_core", images)
    with pytest.raises(FpgacError, match=r"weights: expected None .* \(ROM weight store\), "
                                         r"found 3 bytes"):
        rtl.simulate_verilog(rom, "fpgac_core", images, weights=b"abc")
    with pytest.raises(FpgacError, match=r"weights: expected the image and its 2 CRC bytes"):
        rtl.simulate_verilog(loaded, "fpgac_core", images, weights=b"a")
    broken = loaded.replace("output weights_done;", "output [1:0] weights_done;", 1)
    assert broken != loaded
    with pytest.raises(FpgacError, match=r"loaded-store port weights_done: expected output "
                                         r"\[1\], found \('output', 2\)"):
        rtl.core_interface(broken, "fpgac_core")


def test_lenet5_loaded_harness_uart_session_on_verilator(mnist, build_dir):
    """The whole iCEBreaker harness (UART, command parser, CRC, receive queue, core) of
    LeNet-5 P = 4 with the loaded store on Verilator, a host on its pins (4 clocks per bit):
    ``'?'`` (no weights), a corrupted upload (CRC mismatch), an image (dropped: no weights),
    the good upload, ``'?'`` (loaded, its CRC), three MNIST images back to back (result
    frames bit-exact with golden). (A ``'?'`` sent behind queued images is answered at once,
    before their result frames: the parser runs ahead of the core.)"""
    from amaranth.back import verilog

    from fpgac.boards.harness import (STATUS_BAD_CRC, STATUS_LOADED, STATUS_NONE,
                                      STATUS_LENGTH, Harness)
    from fpgac.boards.host import Protocol, Result

    model = load_model(LENET5)
    plan = loaded_plan(model, 4)
    text = verilog.convert(Harness(plan, divisor=4), name="top", emit_src=False)
    proto = Protocol.for_plan(plan)
    image = weight_image(plan)
    bad = bytearray(image)
    bad[100] ^= 0x01
    images = mnist[200:203].reshape(3, 1, 28, 28)
    send = (b"?" + proto.encode_upload(image)[:1] + bytes(bad)
            + image_crc(image).to_bytes(2, "little") + proto.encode_image(images[0])
            + proto.encode_upload(image) + b"?"
            + b"".join(proto.encode_image(i) for i in images))

    def status(code, crc):
        body = bytes([code, crc & 0xFF, crc >> 8])
        return bytes([0x5A, *body, body[0] ^ body[1] ^ body[2]])

    logits, klass = golden.predict(model, images)
    want = (status(STATUS_NONE, 0) + status(STATUS_BAD_CRC, image_crc(bytes(bad)))
            + status(STATUS_NONE, 0) + status(STATUS_LOADED, image_crc(image))
            + status(STATUS_LOADED, image_crc(image))
            + b"".join(proto.encode_result(Result(int(k), tuple(int(v) for v in lg)))
                       for lg, k in zip(logits, klass)))
    assert len(status(0, 0)) == STATUS_LENGTH
    got = rtl.simulate_uart(text, "top", send, len(want), divisor=4, build_dir=build_dir)
    assert got == want, (got.hex(), want.hex())
