"""Gate-level netlists of the core (:mod:`fpgac.sim.netlist`), simulated against the golden model.

The core an iCEBreaker build makes (``plan_for_board``), synthesized by that board's Yosys
script (``synth_ice40 -dsp -spram`` after the build's ``script_after_read``), runs on Icarus
with Yosys's cell models: every logit and class bit-exact, every image's compute cycles equal
to ``predict``. This is what the RTL tests cannot see: technology mapping (abc9 and its names,
block RAM, carry chains, DSP multipliers).
"""

from __future__ import annotations

import re

import pytest

from fpgac.boards.platforms import get_board
from fpgac.compiler.analysis.resources import plan_for_board
from fpgac.errors import FpgacError
from fpgac.sim import rtl
from fpgac.sim.compare import compare
from fpgac.sim.netlist import cell_models
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model


@pytest.mark.slow
@pytest.mark.parametrize("seed,pes", [(5, 4), (11, 3)])
def test_icebreaker_netlist_bit_exact_and_cycle_exact(seed, pes, build_dir, special_images):
    model = random_model(seed, size=(8, 10), max_convs=2, max_conv_channels=4, max_features=8,
                         n_bits=(8, 8))
    plan = plan_for_board(model, pes, get_board("icebreaker"), pixel_table(model))
    images = special_images(plan.input_shape, n_random=2, seed=seed)
    res = rtl.simulate(plan, images, simulator="icarus", build_dir=build_dir, netlist="ice40")
    # the netlist maps block RAM, DSP multipliers and carry chains (not LUTs only)
    for cell in ("SB_RAM40_4K", "SB_MAC16", "SB_CARRY", "SB_LUT4"):
        assert res.netlist["cells"].get(cell, 0) > 0, (cell, res.netlist["cells"])
    verdict = compare(model, plan, images, res)
    assert verdict.exact, verdict.message


def test_cell_models_are_whole_and_the_flows_without_models_are_refused():
    text = cell_models("ice40")
    names = re.findall(r"^module\s+\\?(\S+?)\s*\(", text, re.M)
    assert len(names) == len(set(names))
    assert {"SB_LUT4", "SB_CARRY", "SB_RAM40_4K", "SB_MAC16", "SB_SPRAM256KA"} <= set(names)
    assert "`include" not in text
    with pytest.raises(FpgacError, match="found 'ecp5' .Yosys 0.70 ships DP16KD"):
        cell_models("ecp5")
    with pytest.raises(FpgacError, match="expected a flow of ice40, found 'vivado'$"):
        cell_models("vivado")
