"""``fpgac compress`` end to end with a cut-down budget (few images, one epoch)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fpgac.cli import main
from fpgac.compiler.frontend import load_model
from fpgac.sim import golden
from fpgac.sim.mnist import load_mnist
from fpgac.sim.preprocess import quantize_images

FAST = ["--epochs", "1", "--finetune-epochs", "1", "--limit-train", "400", "--limit-test",
        "300", "--calib", "64", "--no-progress"]


@pytest.mark.slow
def test_flags_run_the_whole_chain(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["compress", *FAST, "--name", "flags", "--amount", "0.8", "--iterations", "2",
               "--bits", "6", "--method", "l1", "--layout", "csr", "--out-dir", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    for row in ("dense float", "pruned float", "pruned int6 (golden)", "non-zero MACs",
                "integer mode vs golden: 0 mismatching images of 300"):
        assert row in text
    record = json.loads((out / "flags.run.json").read_text())
    assert record["config"]["prune"] == {**record["config"]["prune"], "method": "l1",
                                         "amount": 0.8, "iterations": 2}
    assert record["golden_mismatches"] == 0
    assert set(record["roundtrip_mismatches"].values()) == {0}
    assert record["test_images"] == 300
    layers = {r["name"]: r for r in record["sparsity"]["layers"]}
    for name, r in layers.items():            # l1: every layer pruned by 80% (+ rounding)
        assert abs(r["sparsity"] - 0.8) < 0.01, name
        assert r["nonzero_macs"] < r["macs"]
    assert record["quant"][0]["n_bits"] == 6
    own = load_model(out / "flags.fpgac.yml")
    assert (out / "flags_int.yml").exists() and (out / "flags_float_coo.yml").exists()
    assert "indptr" in (out / "flags.fpgac.yml").read_text()           # the CSR layout
    images, labels = load_mnist("test")
    logits = golden.run(own, quantize_images(images[:300], own))
    acc = float((logits.argmax(1) == labels[:300]).mean())
    assert acc == record["accuracy"]["golden"]


@pytest.mark.slow
def test_yaml_config_with_flag_override(tmp_path, capsys):
    cfg = tmp_path / "run.yml"
    cfg.write_text(f"""
name: cfgrun
train: {{epochs: 3, seed: 4}}
data: {{train_limit: 300, test_limit: 200}}
prune: {{method: ln-structured, amount: 0.5, iterations: 1, dim: 0}}
finetune: {{epochs: 1}}
quant: {{bits: 8, calib: 32, percentile: 99.9}}
export: {{out_dir: {str(tmp_path / 'o')!r}, legacy: true, legacy_dense: false,
         legacy_float: false, legacy_int_name: "{{name}}.yml", own_layouts: [dense]}}
""")
    assert main(["compress", "--config", str(cfg), "--epochs", "1", "--no-progress"]) == 0
    record = json.loads((tmp_path / "o" / "cfgrun.run.json").read_text())
    assert record["config"]["train"]["epochs"] == 1           # the flag wins
    assert record["config"]["train"]["seed"] == 4             # the file wins over the default
    assert sorted(Path(p).name for k, p in record["files"].items() if k != "run_record") == [
        "cfgrun.dense.fpgac.yml", "cfgrun.fpgac.yml", "cfgrun.yml"]
    conv2 = load_model(tmp_path / "o" / "cfgrun.yml").weighted[1]
    dead = (np.asarray(conv2.weight) == conv2.w_zero_point).reshape(16, -1).all(1)
    assert int(dead.sum()) == 8                                # half the filters removed
    assert "pruned int8 (golden)" in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [
    ("prune: {amount: lots}", "run.yml: prune.amount: expected a number, found 'lots'"),
    ("quant: {bitz: 8}", "run.yml: quant.bitz: expected one of bits, calib, percentile, "
                         "rounding, found key 'bitz'"),
    ("model: [{type: conv2d, kernel: 5}]", "run.yml: model.spec[0]: expected key "
                                           "'out_channels', found no such key"),
    ("- 1\n- 2", "run.yml: (top level): expected a mapping, found 'list'"),
])
def test_bad_config_is_one_line_exit_2(tmp_path, content, message):
    cfg = tmp_path / "run.yml"
    cfg.write_text(content + "\n")
    proc = subprocess.run([sys.executable, "-m", "fpgac", "compress", "--config", str(cfg),
                           "--no-progress"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("fpgac compress: error: ")
    assert message in lines[0], lines[0]


def test_bad_flag_values_are_errors(tmp_path, capsys):
    assert main(["compress", "--bits", "20", *FAST, "--out-dir", str(tmp_path)]) == 2
    assert "quant.bits: expected an integer in [2, 16], found 20" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())                       # failed before any work
