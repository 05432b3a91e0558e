"""Load overlapped with compute (``plan.overlap``), simulated as RTL (cocotb + Verilator):
images streamed back to back, every image bit-exact vs :mod:`fpgac.sim.golden`, every image's
compute cycles and every start-to-start interval == :func:`fpgac.compiler.analysis.cycles.
predict` (``compute_cycles``, ``interval_cycles``). Plans without overlap keep the
sequential testbench (``tests/sim/test_rtl_core.py``); their start cycles are reported too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fpgac.compiler.analysis import cycles
from fpgac.compiler.plan import plan_hardware
from fpgac.errors import FpgacError
from fpgac.sim import rtl
from fpgac.sim.compare import compare
from fpgac.sim.mnist import load_mnist
from fpgac.sim.preprocess import pixel_table

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _check(model, plan, images, res):
    verdict = compare(model, plan, images, res)
    assert verdict.exact, verdict.message
    assert len(res.start_cycles) == len(images)
    return cycles.predict(plan)


@pytest.mark.parametrize("pes", [3, 16])
def test_tiny_back_to_back_interval_and_bit_exact(tiny, build_dir, pes):
    images = load_mnist("test")[0][:8].reshape(8, 1, 28, 28)
    images = np.concatenate([images, np.zeros((1, 1, 28, 28), np.uint8),
                             np.full((1, 1, 28, 28), 255, np.uint8)])
    plan = plan_hardware(tiny, pes=pes, pixel_lut=pixel_table(tiny), overlap=True)
    assert plan.input_fill == 0 and plan.input_pad        # the ring comes from mem_init
    res = rtl.simulate(plan, images, build_dir=build_dir)
    rep = _check(tiny, plan, images, res)
    assert rep.interval_cycles < rep.load_cycles + rep.compute_cycles
    # without overlap the same images run one after the other: load (ring fill, then the
    # pixels: the testbench offers the next image during the fill) + compute
    plain = plan_hardware(tiny, pes=pes, pixel_lut=pixel_table(tiny))
    assert plain.input_fill > 2
    seq = rtl.simulate(plain, images[:3], build_dir=build_dir)
    _check(tiny, plain, images[:3], seq)
    assert (seq.interval_cycles == cycles.predict(plain).interval_cycles).all()


def test_icarus_back_to_back(tiny, build_dir):
    """The same back-to-back testbench under Icarus: bit-exact, cycles and intervals."""
    images = load_mnist("test")[0][:3].reshape(3, 1, 28, 28)
    plan = plan_hardware(tiny, pes=3, pixel_lut=pixel_table(tiny), overlap=True)
    res = rtl.simulate(plan, images, simulator="icarus", build_dir=build_dir)
    _check(tiny, plan, images, res)


def test_overlap_refuses_a_layer_dump(tiny, build_dir):
    plan = plan_hardware(tiny, pes=3, pixel_lut=pixel_table(tiny), overlap=True)
    with pytest.raises(FpgacError, match="dump_images: expected 0 with overlap"):
        rtl.simulate(plan, load_mnist("test")[0][:1].reshape(1, 1, 28, 28),
                     build_dir=build_dir, dump_layers=True)


def test_lenet5_p16_back_to_back_mnist(build_dir):
    from fpgac.compiler.frontend import load_model

    model = load_model(ROOT / "examples" / "lenet5_g90_8b.yml")
    plan = plan_hardware(model, pes=16, pixel_lut=pixel_table(model), overlap=True)
    images = load_mnist("test")[0][:6].reshape(6, 1, 28, 28)
    res = rtl.simulate(plan, images, build_dir=build_dir)
    rep = _check(model, plan, images, res)
    assert rep.interval_cycles == rep.compute_cycles + 1
