"""``fpgac convert`` and the legacy additions of ``fpgac eval``, end to end through the CLI.

Legacy files come from ``tests/fixtures/legacy/variants.py`` (the variants users export).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from fpgac.cli import main
from fpgac.compiler.frontend import load_model
from fpgac.sim import golden
from fpgac.sim.mnist import load_mnist
from fpgac.sim.toolmode import tool_predict

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "legacy"
sys.path.insert(0, str(FIXTURES))
import reference  # noqa: E402
import variants  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("convert")
    return {(v, n): variants.legacy_file(v, n, directory)
            for v, n in [("nopad", 7), ("seed", 4), ("tutorial", 5)]}


def test_ambiguous_file_points_to_convert(files, capsys):
    path = files[("nopad", 7)]
    assert main(["eval", str(path), "--limit", "10"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"fpgac eval: error: {path}: topology: ")
    assert "found 2 that chain" in err and f"'fpgac convert {path} -o" in err
    assert "on the first 1000 MNIST test images" in err


def test_convert_stated_topology_equals_the_independent_evaluation(files, tmp_path, capsys):
    path = files[("nopad", 7)]
    out = tmp_path / "nopad7.fpgac.yml"
    assert main(["convert", str(path), "-o", str(out), "--padding", "0,0,0",
                 "--pool", "conv1,conv2"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{path}: conv1 + pool, conv2 + pool, conv3 (rounding floor) -> {out}")
    model = load_model(out)
    assert model.source_format == "fpgac" and model.rounding == "floor"
    assert not model.input.clamp
    pixels, _ = load_mnist("test")
    pixels = pixels[:100]
    np.testing.assert_array_equal(golden.predict(model, pixels)[0],
                                  reference.logits(path, pixels, [0, 0, 0], [True, True, False]))
    # the explicit file reads back unambiguously: eval works on it
    assert main(["eval", str(out), "--limit", "20"]) == 0


def test_convert_padding_alone_resolves_the_pools(files, tmp_path, capsys):
    out = tmp_path / "p2.fpgac.yml"
    assert main(["convert", str(files[("nopad", 7)]), "-o", str(out), "--padding",
                 "2,0,0"]) == 0
    assert "conv1 pad 2 + pool, conv2 + pool, conv3 + pool" in capsys.readouterr().out


def test_convert_rounding_and_clamp_are_explicit(files, tmp_path):
    out = tmp_path / "t.fpgac.yml"
    assert main(["convert", str(files[("tutorial", 5)]), "-o", str(out), "--rounding",
                 "half_up", "--input-clamp"]) == 0
    text = out.read_text()
    assert "rounding: half_up" in text and "clamp: true" in text
    model = load_model(out)
    assert model.rounding == "half_up" and model.input.clamp


@pytest.mark.parametrize("args,message", [
    (["--padding", "0,0"], "padding (argument): expected 3 entries (one per conv), found 2"),
    (["--pool", "conv9"], "pool (argument): expected names of convs of this file (conv1, "
                          "conv2, conv3), found 'conv9'"),
    (["--padding", "0,0,0", "--pool", "none"], "topology: expected a reading within the stated "
                                               "topology whose shapes chain, found none:"),
])
def test_convert_refusals_are_one_line(files, tmp_path, capsys, args, message):
    path = files[("nopad", 7)]
    assert main(["convert", str(path), "-o", str(tmp_path / "x.yml"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: {message}" in err


def test_eval_low_bit_legacy_prints_both_figures_and_advice(files, capsys):
    path = files[("seed", 4)]
    assert main(["eval", str(path), "--limit", "1000"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    model = load_model(path)
    pixels, labels = load_mnist("test")
    pixels, labels = pixels[:1000], labels[:1000]
    integer = float((golden.predict(model, pixels)[1] == labels).mean())
    tool = float((tool_predict(model, pixels) == labels).mean())
    assert "legacy file, topology: conv1 pad 2 + pool, conv2 + pool, conv3" in text
    assert f"accuracy {integer:.2%}" in text
    assert (f"exporting tool's quantized mode: {tool:.2%} (float64 reference of its "
            "floating-point division, not the hardware arithmetic") in text
    gap = 100 * (tool - integer)
    assert gap > 0.5, "the 4-bit fixture should show the floor's cost"
    import dataclasses
    half = float((golden.predict(dataclasses.replace(model, rounding="half_up"), pixels)[1]
                  == labels).mean())
    assert f"the gap of {gap:.2f} points is the rounding" in text
    assert f"this file scores {half:.2%} on the same images" in text
    assert "--rounding half_up" in text and "fpgac compress" in text
