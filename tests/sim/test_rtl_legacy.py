"""The RTL on the legacy variants: bit-exact with golden, including the input integer 2**n.

One small build per variant (few images each, to keep CI short): the seed LeNet-5 at 5 bits
and the tutorial LeNet at 7 bits, where the exporter's calibration maps a white pixel to 2**n
(the pixel LUT and activation memory carry one more bit), and the no-padding LeNet-5 at 8 bits
converted with its stated topology (``--padding 0,0,0 --pool conv1,conv2``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from fpgac.compiler.frontend import load_model
from fpgac.compiler.plan import plan_hardware
from fpgac.sim import golden, rtl
from fpgac.sim.mnist import load_mnist
from fpgac.sim.preprocess import pixel_table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
sys.path.insert(0, str(FIXTURES))
import variants  # noqa: E402

pytestmark = pytest.mark.slow

CASES = [("seed", 5, None), ("tutorial", 7, None),
         ("nopad", 8, dict(padding=[0, 0, 0], pool=["conv1", "conv2"]))]


@pytest.mark.parametrize("variant,n,stated", CASES, ids=[f"{v}{n}" for v, n, _ in CASES])
def test_rtl_matches_golden_on_a_legacy_variant(variant, n, stated, tmp_path):
    path = variants.legacy_file(variant, n, tmp_path)
    model = load_model(path, **(stated or {}))
    pixels, _ = load_mnist("test")
    white = np.full((1, 28, 28), 255, np.uint8)
    images = np.concatenate([pixels[:3], white, np.zeros_like(white)]).reshape(5, 1, 28, 28)
    plan = plan_hardware(model, pes=8, pixel_lut=pixel_table(model))
    top = int(pixel_table(model.input).max())
    if n in (5, 7):
        assert top == 2**n and plan.act_bits == n + 1      # the one extra input bit
    res = rtl.simulate(plan, images, build_dir=tmp_path / "build")
    want, klass = golden.predict(model, images)
    np.testing.assert_array_equal(res.logits, want)
    np.testing.assert_array_equal(res.klass, klass)
