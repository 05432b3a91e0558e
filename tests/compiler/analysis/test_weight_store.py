"""The weight-store choice and its estimate: LeNet-5 on the iCEBreaker takes the loaded store
(SPRAM) where its ROMs do not fit the UP5K's 30 EBR; every other board keeps the ROMs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fpgac.boards.platforms import get_board
from fpgac.compiler.analysis.memory import memories
from fpgac.compiler.analysis.resources import (LOADER_LUTS, PACKED_LUTS_PER_LUT, check_fit,
                                                choose_pes, estimate, memory_report, plan_for_board, spram_blocks,
                                                weight_store_report)
from fpgac.compiler.frontend import load_model
from fpgac.compiler.passes.weight_image import image_crc, weight_image
from fpgac.errors import FpgacError
from fpgac.sim.preprocess import pixel_table

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def lenet():
    return load_model(ROOT / "examples" / "lenet5_g90_8b.yml")


def _plan(model, pes, board, store="auto"):
    return plan_for_board(model, pes, get_board(board), pixel_table(model), store)


def test_lenet_p1_icebreaker_takes_the_loaded_store(lenet):
    ice = get_board("icebreaker")
    rom = _plan(lenet, 1, "icebreaker", "rom")
    with pytest.raises(FpgacError, match="block RAM: expected at most 25 on iCE40UP5K-SG48, "
                                         "found 42 needed for --pes 1"):
        check_fit(rom, ice)
    plan = _plan(lenet, 1, "icebreaker")
    assert plan.weight_store == "loaded" and plan.weight_entry_bytes == 2   # 8 + 5 + 1 bits
    assert dataclasses.replace(plan, weight_store="rom", weight_entry_bytes=0) == rom
    est, est_rom = check_fit(plan, ice), estimate(rom, ice)
    # the banks leave the EBR count (26 of 42) for one SPRAM: 6,411 entries x 13 bits
    assert (est.bram_blocks, est_rom.bram_blocks, est.spram_blocks) == (16, 42, 1)
    assert est.blocks_by_class["weights"] == est.blocks_by_class["indices"] == 0
    # the ROM banks were block RAM: only the loader's logic is added (packed as placed)
    assert abs(est.luts - est_rom.luts - LOADER_LUTS * PACKED_LUTS_PER_LUT["ice40"]) <= 1
    banks = [m for m in memories(plan) if m.name.startswith("bank")]
    assert [(m.loaded, m.rom, m.width, m.depth) for m in banks] == [(True, False, 13, 6411)]
    rep = weight_store_report(plan, est)
    image = weight_image(plan)
    assert rep == {"kind": "loaded", "spram_blocks": 1, "file": "weights.bin",
                   "bytes": 12822, "crc16": image_crc(image), "entry_bytes": 2}
    mem = memory_report(plan, est)
    assert sum(v["blocks"] for v in mem.values()) == est.bram_blocks
    assert mem["weights"]["bits"] + mem["indices"]["bits"] == 13 * 6411


def test_pes_auto_and_spram_limit(lenet):
    ice = get_board("icebreaker")

    def fn(m, p):
        return plan_for_board(m, p, ice, pixel_table(m))

    assert choose_pes(lenet, ice, fn) == 4                     # 4 banks, 4 SPRAM, 25 EBR
    assert spram_blocks(fn(lenet, 4)) == 4
    five = _plan(lenet, 5, "icebreaker", "loaded")
    assert estimate(five, ice).spram_blocks == 5
    roomy = dataclasses.replace(ice, capacity=dataclasses.replace(ice.capacity,
                                                                  bram_blocks=300))
    with pytest.raises(FpgacError, match="SPRAM: expected at most 4 on iCE40UP5K-SG48, found 5"):
        check_fit(five, roomy)
    assert fn(lenet, 5).weight_store == "rom"     # auto: loaded does not fit either


@pytest.mark.parametrize("board", ["ulx3s", "arty", "arty-100t"])
def test_other_boards_keep_the_rom_store(lenet, board):
    for pes in (1, 16, 54):
        assert _plan(lenet, pes, board).weight_store == "rom"
    with pytest.raises(FpgacError, match=f"--weight-store: expected 'rom' or 'auto' on --board "
                                         f"{board} \\(no SPRAM on .*\\), found 'loaded'"):
        _plan(lenet, 1, board, "loaded")


def test_small_model_keeps_rom_unless_forced():
    tiny = load_model(ROOT / "tests" / "fixtures" / "models" / "tiny_int.yml")
    assert _plan(tiny, 1, "icebreaker").weight_store == "rom"
    forced = _plan(tiny, 1, "icebreaker", "loaded")
    assert forced.weight_store == "loaded" and estimate(forced, get_board("icebreaker")
                                                        ).spram_blocks == len(forced.banks)
    with pytest.raises(FpgacError, match="--weight-store: expected one of auto, rom, loaded, "
                                         "found 'flash'"):
        _plan(tiny, 1, "icebreaker", "flash")
