"""Shared set-ups of the board tests."""

import numpy as np
import pytest

from fpgac.boards.host import Result
from fpgac.compiler.plan import plan_hardware
from fpgac.sim import golden
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model


@pytest.fixture(scope="session")
def loaded_case():
    """``make(seed, size=, pes=, n_bits=, image_seed=, images=2)`` -> ``(plan, images, want)``:
    a small random model (one input channel, square, no strides) planned with the loaded weight
    store, ``images`` random inputs and golden's :class:`~fpgac.boards.host.Result` for each."""

    def make(seed, *, size, pes, n_bits, image_seed, images=2):
        model = random_model(seed, channels=(1, 1), max_convs=2, max_linears=2, strides=False,
                             square=True, size=size, n_bits=n_bits)
        plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model),
                             weight_store="loaded")
        imgs = np.random.default_rng(image_seed).integers(
            0, 256, (images,) + tuple(model.input.shape), dtype=np.uint8)
        logits, klass = golden.predict(model, imgs)
        want = [Result(int(k), tuple(int(v) for v in lg)) for lg, k in zip(logits, klass)]
        return plan, imgs, want

    return make
