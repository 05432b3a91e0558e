"""Legacy files of the LeNet variants users really export, at every bit width 2..16.

The files are written the way the exporting tool lays them out (``tests/fixtures/legacy/
variants.py``: briefly trained, 90 % pruned float weights, quantized with the tool's
conventions, weighted layers only). Checked here:

* the seed LeNet-5 and the tutorial LeNet have one reading and load with it; the no-padding
  LeNet-5 (1998 layout) has two and is refused with both candidates, their accuracy hints and
  the ``fpgac convert`` options of each -- never loaded with a guessed topology;
* golden == PyTorch integer mode == an independent evaluation written from legacy-format.md
  (``tests/fixtures/legacy/reference.py``), including the input integer 2**n of a white pixel;
* the stated topology of ``fpgac convert`` (through ``load_model(padding=, pool=)``) gives the
  same logits as the independent evaluation.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from fpgac.compiler.frontend import load_model
from fpgac.compiler.frontend.legacy import TopologyError
from fpgac.compress.integer import integer_forward
from fpgac.sim import golden
from fpgac.sim.mnist import candidate_accuracy, load_mnist

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "legacy"
sys.path.insert(0, str(FIXTURES))
import reference  # noqa: E402
import variants  # noqa: E402

BITS = list(range(2, 17))

#: The topology each variant was trained with: per-conv padding and pools.
TRUE = {"seed": ([2, 0, 0], [True, True, False]),
        "nopad": ([0, 0, 0], [True, True, False]),
        "tutorial": ([0, 0], [True, True])}
TEXT = {"seed": "conv1 pad 2 + pool, conv2 + pool, conv3",
        "nopad": "conv1 + pool, conv2 + pool, conv3",
        "tutorial": "conv1 + pool, conv2 + pool"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """``(variant, n) -> legacy file``, written once per module run."""
    directory = tmp_path_factory.mktemp("legacy_variants")
    cache: dict[tuple[str, int], Path] = {}

    def get(variant: str, n: int) -> Path:
        if (variant, n) not in cache:
            cache[(variant, n)] = variants.legacy_file(variant, n, directory)
        return cache[(variant, n)]
    return get


@pytest.fixture(scope="module")
def images():
    pixels, labels = load_mnist("test")
    white = np.full((1, 28, 28), 255, np.uint8)
    return np.concatenate([pixels[:40], white, np.zeros_like(white)]), labels[:40]


def check_paths(model, path, pixels, padding, pool):
    """golden == integer mode == the independent evaluation, every logit."""
    gold, _ = golden.predict(model, pixels)
    integer = integer_forward(model, pixels).numpy()
    ref = reference.logits(path, pixels, padding, pool)
    np.testing.assert_array_equal(gold, integer)
    np.testing.assert_array_equal(gold, ref)


@pytest.mark.parametrize("n", BITS)
@pytest.mark.parametrize("variant", ["seed", "tutorial"])
def test_unique_reading_loads_and_is_exact(variant, n, files, images):
    path = files(variant, n)
    model = load_model(path)
    assert model.topology == TEXT[variant]
    check_paths(model, path, images[0], *TRUE[variant])


@pytest.mark.parametrize("n", BITS)
def test_nopad_lenet5_is_refused_and_converts_exactly(n, files, images):
    path = files("nopad", n)
    with pytest.raises(TopologyError) as info:
        load_model(path, hint=candidate_accuracy if n in (4, 8) else None)
    err = info.value
    message = str(err)
    assert "found 2 that chain: (1) conv1 + pool, conv2 + pool, conv3 [flatten 120" in message
    assert "(2) conv1 pad 2 + pool, conv2 + pool, conv3 + pool [flatten 120" in message
    assert "--padding 0,0,0 --pool conv1,conv2]" in message
    assert "--padding 2,0,0 --pool conv1,conv2,conv3]" in message
    assert f"'fpgac convert {path} -o nopad_{n}b_int.fpgac.yml'" in message
    if n in (4, 8):
        # the hint is each candidate's accuracy on the first 1,000 test images
        assert set(err.accuracy) == {0, 1}
        pixels, labels = load_mnist("test")
        for i, (pad, pools) in enumerate([TRUE["nopad"], ([2, 0, 0], [True] * 3)]):
            ref = reference.logits(path, pixels[:1000], pad, pools)
            acc = float((np.argmax(ref, axis=1) == labels[:1000]).mean())
            assert err.accuracy[i] == acc
            assert f"{acc:.1%} on the first 1000 MNIST test images" in message
        assert err.accuracy[0] > err.accuracy[1]      # the trained topology is the better one
    stated = load_model(path, padding=[0, 0, 0], pool=["conv1", "conv2"])
    assert stated.topology == TEXT["nopad"]
    check_paths(stated, path, images[0], *TRUE["nopad"])


def test_white_pixel_is_carried_as_2_to_the_n(files):
    """At 7 bits the exporter's calibration maps 255 to 128 = 2**7: kept, not clamped."""
    model = load_model(files("seed", 7))
    from fpgac.sim.preprocess import pixel_table
    table = pixel_table(model.input)
    assert table[255] == 128 and table.max() == 128
    white = np.full((1, 28, 28), 255, np.uint8)
    q = reference.input_integers(white[:, None], model.input.quant.scale,
                                 model.input.quant.zero_point)
    assert (q == 128).all()


def test_no_op_is_inserted_for_a_stated_topology(files):
    """The stated reading is loaded as stated: no pool after the 1x1 conv3."""
    model = load_model(files("nopad", 8), padding=[0, 0, 0], pool=[True, True, False])
    kinds = [type(op).__name__ for op in model.ops]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Conv2d",
                     "ReLU", "Flatten", "Linear", "ReLU", "Linear"]
