"""Random models through the RTL: two simulators, randomised initial state, random stalls.

Every check compares against the big-int reference (:mod:`fpgac.sim.bigint`) and the golden
model, 0 LSB. The same three random models are used throughout so the Verilator builds are
shared (the build cache keys on the Verilog): three Verilator builds in all.
The long version (hundreds of models) is ``fpgac selftest --long`` /
``bench/reliability_bench.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from fpgac.compiler.plan import plan_hardware
from fpgac.sim import golden, rtl
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.preprocess import quantize_images
from fpgac.sim.randmodel import random_model
from fpgac.sim.selftest import check_random_models, model_images

#: random models run on both simulators (spatial and channel-parallel layers, pools, 2..16 bits)
RTL_SEEDS = (1, 2, 3)
PES = 2

pytestmark = pytest.mark.slow


def _golden(model, images):
    return np.asarray(golden.run(model, quantize_images(images, model)), dtype=np.int64)


def test_random_models_verilator_and_icarus_agree_with_references(tmp_path):
    res = check_random_models(RTL_SEEDS, images=3, rtl=("verilator", "icarus"),
                              replay_dir=tmp_path, rtl_options={"pes": PES})
    assert res.cases == len(RTL_SEEDS)
    assert res.failures == 0, res.line()
    assert not list(tmp_path.iterdir())


def test_randomised_initial_state_does_not_change_results():
    """``--x-initial unique`` with several seeds: no output depends on power-up values."""
    model = random_model(RTL_SEEDS[0])
    images = model_images(model, 11, 3)
    want = _golden(model, images)
    plan = plan_hardware(model, pes=PES, pixel_lut=pixel_table(model))
    cycles = None
    for x_seed in (1, 2, 3, 12345):
        out = rtl.simulate(plan, images, simulator="verilator", x_seed=x_seed)
        assert np.array_equal(out.logits, want), f"x_seed {x_seed}"
        cycles = out.compute_cycles if cycles is None else cycles
        assert np.array_equal(out.compute_cycles, cycles), f"x_seed {x_seed}"


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_random_stalls_do_not_change_results(simulator):
    """Random valid/ready stalls on the pixel and result streams: same logits, none lost."""
    model = random_model(RTL_SEEDS[1])
    images = model_images(model, 12, 4)
    want = _golden(model, images)
    plan = plan_hardware(model, pes=PES, pixel_lut=pixel_table(model))
    free = rtl.simulate(plan, images, simulator=simulator)
    assert np.array_equal(free.logits, want)
    for seed in (5, 6):
        out = rtl.simulate(plan, images, simulator=simulator, stalls=seed)
        assert np.array_equal(out.logits, want), f"stall seed {seed}"
        assert np.array_equal(out.klass, free.klass)
        # the stalls really happened: the run took longer than the stall-free one
        assert out.total_cycles > free.total_cycles
