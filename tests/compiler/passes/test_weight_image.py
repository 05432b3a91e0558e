"""The weight image of the loaded store: the ROM words, little endian, banks in order; CRC."""

import binascii

import pytest

from fpgac.compiler.passes.weight_image import image_crc, weight_image
from fpgac.compiler.plan import plan_hardware
from fpgac.errors import FpgacError
from fpgac.hw.emit import rom_images
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model


@pytest.mark.parametrize("seed, pes, n_bits", [(29, 3, (4, 8)), (4, 2, (4, 12)), (7, 1, (2, 4))])
def test_image_holds_the_rom_words(seed, pes, n_bits):
    model = random_model(seed, channels=(1, 3), max_convs=2, max_linears=2, strides=False,
                         square=True, size=(8, 8), n_bits=n_bits)
    rom = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
    plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model), weight_store="loaded")
    assert plan.banks == rom.banks and plan.program == rom.program
    nb = plan.weight_entry_bytes
    assert nb == -(-(plan.wraw_bits + plan.gap_bits + 1) // 8)
    image = weight_image(plan)
    assert len(image) == plan.weight_image_bytes == nb * sum(len(b) for b in plan.banks)
    words = [int.from_bytes(image[i:i + nb], "little") for i in range(0, len(image), nb)]
    want = [w for img in rom_images(rom) if img.name.startswith("bank") for w in img.words]
    assert words == want                      # exactly the words the ROMs hold
    assert image_crc(image) == binascii.crc_hqx(image, 0xFFFF)
    assert not any(img.name.startswith("bank") for img in rom_images(plan))


def test_refusals():
    model = random_model(29, channels=(1, 1), max_convs=1, max_linears=1, strides=False,
                         square=True, size=(6, 6), n_bits=(4, 8))
    rom = plan_hardware(model, pes=1, pixel_lut=pixel_table(model))
    with pytest.raises(FpgacError, match="expected a plan with weight_store 'loaded', found "
                                         "'rom'"):
        weight_image(rom)
    with pytest.raises(FpgacError, match="weight_store: expected one of rom, loaded, found "
                                         "'spram'"):
        plan_hardware(model, pes=1, pixel_lut=pixel_table(model), weight_store="spram")
    with pytest.raises(FpgacError, match="expected 'rom' with bank_ports 2"):
        plan_hardware(model, pes=2, pixel_lut=pixel_table(model), weight_store="loaded",
                      bank_ports=2)
