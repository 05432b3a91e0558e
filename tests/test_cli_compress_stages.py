"""``fpgac compress --config STAGES.yml``: a staged strategies config runs from the CLI."""

from __future__ import annotations

import pytest
import yaml

from fpgac.cli import main
from fpgac.compress.tiny import TINY_SPEC


def test_staged_config_runs_from_the_cli_and_compiles(tmp_path, capsys):
    from fpgac.compiler.frontend import load_model
    from fpgac.compiler.plan import plan_hardware
    from fpgac.sim.preprocess import pixel_table

    cfg = {"name": "cli_stages", "model": [dict(layer) for layer in TINY_SPEC], "seed": 0,
           "data": {"train_limit": 300, "test_limit": 200},
           "stages": [{"train": {"epochs": 1}},
                      {"prune": {"method": "l1", "amount": 0.5, "finetune_epochs": 1}},
                      {"quantize": {"bits": 8}},
                      {"export": {"legacy": True}}]}
    path = tmp_path / "stages.yml"
    path.write_text(yaml.safe_dump(cfg))
    code = main(["compress", "--config", str(path), "--out-dir", str(tmp_path / "out")])
    text = capsys.readouterr().out
    assert code == 0, text
    models = sorted((tmp_path / "out").glob("*.yml"))
    assert models, "the export stage wrote no model"
    for model_path in models:
        if "float" in model_path.name:       # the float reference twin is not compilable
            continue
        model = load_model(model_path)
        assert plan_hardware(model, pes=2, pixel_lut=pixel_table(model)).nnz_macs > 0


def test_unknown_stage_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.yml"
    path.write_text("name: t\nmodel: lenet5\nstages:\n  - bogus: {}\n")
    code = main(["compress", "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "stages[0]: expected a stage kind among train" in err
