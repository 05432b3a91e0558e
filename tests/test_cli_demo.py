"""``fpgac demo``: the README's main job (eval + RTL verify + Arty build), end to end."""

from __future__ import annotations

import json

import pytest

from fpgac.cli import main
from fpgac.flows.demo import default_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_yaml(tmp_path_factory):
    from fpgac.compiler.frontend import save_model
    from fpgac.compress.tiny import tiny_model

    path = tmp_path_factory.mktemp("demo") / "tiny.yml"
    save_model(tiny_model(2, train_images=300, epochs=1, sparsity=0.7), path)
    return path


def test_demo_runs_every_step(tiny_yaml, tmp_path, capsys):
    out = tmp_path / "build"
    code = main(["demo", str(tiny_yaml), "--images", "12", "--limit", "300", "--pes", "3",
                 "-o", str(out), "--build-dir", str(tmp_path / "rtl")])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "on 300 MNIST test images" in text
    assert "0 mismatches of 12 images vs golden (0 LSB), 0 cycle-model mismatches" in text
    assert text.rstrip().splitlines()[-1].startswith("PASS")
    report = json.loads((out / "report.json").read_text())
    assert report["board"] == "arty" and report["pes"] == 3
    # the verified core is the one the build made (plan_for_board), with the build's cycles
    assert "P = 3, the arty build's core: 0 mismatches" in text
    assert f"{report['compute_cycles']} cycles/inference" in text
    assert (out / "top.v").exists() or any(out.glob("*.v"))


def test_default_model_is_shipped():
    from fpgac.compiler.frontend import load_model

    path = default_model()
    assert path.is_file(), f"{path}: the README's default model must ship in the package"
    model = load_model(path)
    assert model.input.shape == (1, 28, 28)


def test_demo_bad_model_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("just: [a, list\n")
    code = main(["demo", str(bad), "--images", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("fpgac demo: error:")
