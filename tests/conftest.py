"""Fixtures shared by the whole test tree (pytest loads this file for every test)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    """A simulator build directory shared by the tests of one module (one build per design)."""
    return tmp_path_factory.mktemp("rtl")


@pytest.fixture(scope="module")
def tiny_board_model(tmp_path_factory):
    """``(model, path)``: a small conv + pool + linear random model (8x8 input, 4..8 bits) that
    fits every board, and its YAML file in fpgac's own format."""
    from fpgac.compiler.frontend import save_model
    from fpgac.sim.randmodel import random_model

    model = random_model(29, size=(8, 8), channels=(1, 1), n_bits=(4, 8), max_convs=2,
                         max_linears=2, strides=False, square=True)
    path = tmp_path_factory.mktemp("model") / "tiny.fpgac.yml"
    save_model(model, path)
    return model, path
