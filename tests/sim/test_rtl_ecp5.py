"""The core elaborated for the ECP5 (the activation copies in ``DP16KD`` block RAMs with their
output registers, the lane multipliers in ``MULT18X18D`` with their registers), simulated with
the primitives' models (``boards/lint/primitives.v``) against the golden model: every logit
bit-exact and every image's cycles == :func:`fpgac.compiler.analysis.cycles.predict`. The
``DP16KD`` model gives X for a read of a word in the cycle it is written, so a schedule that
relied on the ports' collision would fail here (Icarus keeps X)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from fpgac.compiler.analysis import cycles
from fpgac.compiler.frontend import load_model
from fpgac.compiler.plan import plan_hardware
from fpgac.errors import FpgacError
from fpgac.hw.bram import RegisteredReadMemory
from fpgac.sim import rtl
from fpgac.sim.compare import compare
from fpgac.sim.mnist import load_mnist
from fpgac.sim.preprocess import pixel_table

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ECP5 = rtl.PRIMITIVE_FAMILIES["ecp5"]


def test_tiny_split_copies_icarus(tiny, build_dir, special_images):
    """The tiny model at P = 8 with split copies (a 1,024-word body in one DP16KD, a 660-word
    LUT-RAM tail) and paired weight banks, Icarus (X from a collision would show)."""
    images = np.concatenate([load_mnist("test")[0][:4].reshape(4, 1, 28, 28),
                             special_images((1, 28, 28), n_random=1)])
    plan = plan_hardware(tiny, pes=8, bank_ports=2, pixel_lut=pixel_table(tiny))
    plan = dataclasses.replace(plan, act_body=1 << (plan.addr_bits - 1))
    assert RegisteredReadMemory(width=plan.act_bits, depth=plan.act_body).blocks(ECP5) == 1
    res = rtl.simulate(plan, images, simulator="icarus", build_dir=build_dir,
                       primitives="ecp5")
    verdict = compare(tiny, plan, images, res)
    assert verdict.exact, verdict.message
    assert (res.compute_cycles == cycles.predict(plan).compute_cycles).all()


def test_lenet5_ulx3s_default_core_back_to_back(build_dir):
    """The core of the ULX3S default build (``fpgac build examples/lenet5_g90_8b.yml --board
    ulx3s``: ``--pes auto`` with the overlapped load, the build's own plan): LeNet-5's whole
    copies of 2,600 words (two x4 DP16KD side by side each, no read select), Verilator,
    MNIST images back to back: bit-exact, every compute cycle count and interval predicted."""
    from fpgac.boards.platforms import get_board
    from fpgac.flows.build import board_plan

    model = load_model(ROOT / "examples" / "lenet5_g90_8b.yml")
    plan, _ = board_plan(model, get_board("ulx3s"), "auto")
    assert plan.overlap and plan.pes >= 64
    assert (plan.act_body, plan.mem_depth) == (0, 2600)
    copy = RegisteredReadMemory(width=plan.act_bits, depth=plan.mem_depth)
    assert copy.blocks(ECP5) == 2 and copy.slices(ECP5) == 2
    images = load_mnist("test")[0][:4].reshape(4, 1, 28, 28)
    res = rtl.simulate(plan, images, build_dir=build_dir, primitives="ecp5")
    verdict = compare(model, plan, images, res)
    assert verdict.exact, verdict.message
    pred = cycles.predict(plan)
    assert (res.compute_cycles == pred.compute_cycles).all()
    assert (res.interval_cycles == pred.interval_cycles).all() and len(res.interval_cycles) == 3


def test_primitives_refuses_an_unknown_family_and_a_dump(tiny):
    plan = plan_hardware(tiny, pes=2, pixel_lut=pixel_table(tiny))
    image = np.zeros((1, 1, 28, 28), np.uint8)
    with pytest.raises(FpgacError, match=r"primitives: expected one of \['ecp5'\].*'ice40'"):
        rtl.simulate(plan, image, primitives="ice40")
    with pytest.raises(FpgacError, match="found 'ecp5' with dump_layers"):
        rtl.simulate(plan, image, primitives="ecp5", dump_layers=True)
