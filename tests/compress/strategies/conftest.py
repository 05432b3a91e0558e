"""Fixtures for the strategy tests: small data, and an export/reload/golden/plan check."""

from __future__ import annotations

import numpy as np
import pytest

from fpgac.compiler import ir
from fpgac.compiler.frontend import load_model, save_legacy, save_model
from fpgac.compiler.plan import plan_hardware
from fpgac.compress.data import Dataset
from fpgac.compress.integer import integer_forward
from fpgac.errors import ModelError
from fpgac.sim import golden
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.preprocess import quantize_images


@pytest.fixture(scope="session")
def eval_small(test_set) -> Dataset:
    """The first 300 test images."""
    return test_set.head(300)


@pytest.fixture
def exported_runs(tmp_path, eval_small):
    """``check(model, legacy=True)``: save the own format (and legacy when asked), reload each
    file, run the golden model on 300 test images and compare with the torch integer mode
    (0 mismatches), plan the hardware (P=4). Returns the reloaded own-format model."""

    def check(model: ir.Model, *, legacy: bool = True) -> ir.Model:
        paths = [tmp_path / f"{model.name}.fpgac.yml"]
        save_model(model, paths[0])
        if legacy:
            paths.append(tmp_path / f"{model.name}_int.yml")
            save_legacy(model, paths[1], coo=True)
        else:
            with pytest.raises(ModelError):
                save_legacy(model, tmp_path / "refused.yml", coo=True)
        want = integer_forward(model, eval_small.pixels).numpy()
        first = None
        for path in paths:
            loaded = load_model(path)
            got = golden.run(loaded, quantize_images(eval_small.pixels.numpy(), loaded))
            np.testing.assert_array_equal(got, want)
            plan = plan_hardware(loaded, pes=4, pixel_lut=pixel_table(loaded))
            assert len(plan.layers) == len(model.weighted)
            first = first or loaded
        return first

    return check


@pytest.fixture(scope="session")
def _tiny_trained():
    from fpgac.compress.tiny import tiny_cnn

    return tiny_cnn(seed=0, train_images=500, epochs=2)


@pytest.fixture
def tiny_trained(_tiny_trained):
    """A fresh copy of the tiny CNN (conv 4, conv 8, fc 288->10) trained 2 epochs on 500
    images (:func:`fpgac.compress.tiny.tiny_cnn`)."""
    import copy

    return copy.deepcopy(_tiny_trained)


@pytest.fixture(scope="session")
def calib_small(train_small) -> Dataset:
    """200 training images for calibration."""
    return train_small.head(200)
