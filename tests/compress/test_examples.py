"""The shipped example models: loadable, accurate, legacy and own-format twins identical."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import fpgac.examples
from fpgac.compiler.frontend import load_model
from fpgac.compress.config import load_config
from fpgac.sim import golden
from fpgac.sim.mnist import load_mnist
from fpgac.sim.preprocess import quantize_images

EXAMPLES = Path(fpgac.examples.__file__).parent

#: example -> (accuracy floor on the first 500 test images, n_bits, minimal weight sparsity)
FLOORS = {
    "lenet5_g90_8b": (0.96, 8, 0.89),
    "lenet5_dense_8b": (0.97, 8, 0.0),
    "lenet5_g90_4b": (0.95, 4, 0.89),
}

#: configs whose model has not been produced yet; shipping the model means moving it to FLOORS
PENDING: set[str] = set()

#: examples written in the own format only (half_up rounding has no legacy encoding)
OWN_ONLY = {"lenet5_g90_4b"}


def _shipped() -> list[str]:
    return sorted(p.name[:-len(".config.yml")] for p in EXAMPLES.glob("*.config.yml"))


def test_every_config_has_its_model_and_a_floor():
    names = _shipped()
    assert "lenet5_g90_8b" in names
    assert set(names) == set(FLOORS) | PENDING
    for name in PENDING:
        assert not (EXAMPLES / f"{name}.yml").exists(), f"{name}: shipped, give it a floor"
    for name in names:
        cfg = load_config(EXAMPLES / f"{name}.config.yml")
        assert cfg["name"] == name
        assert cfg["export"]["out_dir"] == "examples"
        assert cfg["export"]["legacy_int_name"] == "{name}.yml"
        assert cfg["export"]["legacy"] == (name not in OWN_ONLY)
        if name not in PENDING:
            assert (EXAMPLES / f"{name}.yml").is_file() == (name not in OWN_ONLY), name
            assert (EXAMPLES / f"{name}.fpgac.yml").is_file(), name


@pytest.fixture(scope="module")
def images():
    img, lab = load_mnist("test")
    return img[:500], lab[:500]


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_example_accuracy_and_twins(name, images):
    floor, n_bits, sparsity = FLOORS[name]
    img, lab = images
    own = load_model(EXAMPLES / f"{name}.fpgac.yml")
    logits = golden.run(own, quantize_images(img, own))
    if name in OWN_ONLY:
        legacy = own
        assert own.rounding == "half_up"
    else:
        legacy = load_model(EXAMPLES / f"{name}.yml")
        assert legacy.source_format == "legacy" and own.source_format != "legacy"
        assert np.array_equal(golden.run(legacy, quantize_images(img, legacy)), logits)
    acc = float((logits.argmax(1) == lab).mean())
    assert acc >= floor, f"{name}: golden accuracy {acc:.3f} on 500 images < {floor}"
    ops = legacy.weighted
    assert all(op.n_bits == n_bits for op in ops)
    nz = sum(int((np.asarray(op.weight) != op.w_zero_point).sum()) for op in ops)
    total = sum(np.asarray(op.weight).size for op in ops)
    assert 1 - nz / total >= sparsity
    assert [op.name for op in ops] == ["conv1", "conv2", "conv3", "fc1", "fc2"]
