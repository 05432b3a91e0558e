import copy
import json
from pathlib import Path

import pytest
from rich.console import Console

from fpgac.compiler.frontend import load_model, load_yaml
from fpgac.compiler.plan import plan_hardware
from fpgac.compress.config import validate
from fpgac.compress.runner import run_config, run_config_file
from fpgac.compress.tiny import TINY_SPEC
from fpgac.errors import FpgacError, ModelError
from fpgac.sim.preprocess import pixel_table

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "strategies").glob("*.yml"))


def _cfg(name, stages):
    return {"name": name, "model": copy.deepcopy(TINY_SPEC), "seed": 0, "stages": stages}


@pytest.mark.slow
def test_prune_then_qat_runs_in_order_with_a_table_after_each_stage(tmp_path):
    cfg = _cfg("tiny_mac_qat", [
        {"train": {"epochs": 1, "lr": 0.005}},
        {"prune_macs": {"reduction": 3.0, "alpha": 0.5, "steps": 2, "finetune_epochs": 1}},
        {"qat": {"bits": 6, "epochs": 1, "calib": 100}},
        {"export": {"legacy": True}},
    ])
    console = Console(record=True, width=200)
    rec = run_config(cfg, out_dir=tmp_path, limit=300, console=console)
    assert [r.stage for r in rec.rows] == ["train", "prune_macs", "qat", "export"]
    text = console.export_text()
    assert text.count("tiny_mac_qat: after each stage (300 test images)") == 4
    train_row, prune_row, qat_row, export_row = rec.rows
    assert train_row.int_acc is None and train_row.macs_x == pytest.approx(1.0)
    assert prune_row.macs_x >= 3.0 and prune_row.info["after_prune"]["nonzero_macs"] > 0
    assert qat_row.int_acc is not None and qat_row.macs_x >= 3.0     # QAT kept the zeros
    assert export_row.info["roundtrip_mismatches"] == {"legacy_int_coo": 0, "fpgac_coo": 0}
    assert export_row.int_acc == export_row.info["golden_acc"]
    saved = json.loads(Path(rec.files["run_record"]).read_text())
    assert [r["stage"] for r in saved["rows"]] == ["train", "prune_macs", "qat", "export"]
    assert saved["config"]["stages"][1]["prune_macs"]["reduction"] == 3.0
    assert saved["train_images"] == 300 and saved["test_images"] == 300
    for key in ("legacy_int_coo", "legacy_float_coo", "fpgac_coo"):
        model = load_model(rec.files[key]) if "float" not in key else None
        if model is not None:
            assert model.input.n_bits == 6
            plan_hardware(model, pes=4, pixel_lut=pixel_table(model))


@pytest.mark.slow
def test_distill_filters_sensitivity_lowrank_quantize_export(tmp_path):
    cfg = _cfg("tiny_combo", [
        {"distill": {"teacher": copy.deepcopy(TINY_SPEC), "teacher_epochs": 1, "epochs": 1,
                     "features": [["conv2", "conv2"]], "feature_weight": 0.1}},
        {"prune_filters": {"ratio": 0.25, "finetune_epochs": 1}},
        {"sensitivity": {"macs_x": 1.5, "ratios": [0.0, 0.5, 0.8], "eval": 100,
                         "finetune_epochs": 1}},
        {"lowrank": {"layer": "fc1", "rank": 2, "finetune_epochs": 1}},
        {"quantize": {"bits": 8, "calib": 100}},
        {"export": {"legacy": True}},
    ])
    rec = run_config(cfg, out_dir=tmp_path, limit=300)
    rows = {r.stage: r for r in rec.rows}
    assert "teacher_acc" in rows["distill"].info
    assert rows["prune_filters"].info["spec"][0]["out_channels"] == 3
    assert rows["prune_filters"].params < rows["distill"].params
    assert rows["sensitivity"].macs_x >= 1.5
    assert rows["lowrank"].info["lowrank"]["rank"] == 2
    assert rows["lowrank"].macs_x >= 1.5           # zeros of the other layers held
    assert "legacy_skipped" in rows["export"].info  # no ReLU between fc1_a and fc1_b
    assert rows["export"].info["roundtrip_mismatches"] == {"fpgac_coo": 0}
    for key in ("sensitivity_csv", "sensitivity_json", "sensitivity_png", "fpgac_coo"):
        assert Path(rec.files[key]).is_file()
    model = load_model(rec.files["fpgac_coo"])
    assert [op.name for op in model.weighted] == ["conv1", "conv2", "fc1_a", "fc1_b"]
    plan_hardware(model, pes=4, pixel_lut=pixel_table(model))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_shipped_configs_validate(path):
    cfg = validate(load_yaml(path), str(path))
    assert cfg["stages"][-1] == {"export": cfg["stages"][-1]["export"]}


@pytest.mark.parametrize("stages,message", [
    ([{"quantize": {"bits": 17}}], "stages[0].quantize.bits: expected an integer in [2, 16], "
                                   "found 17"),
    ([{"quantise": {}}], "stages[0]: expected a stage kind among train, finetune, distill, "),
    ([{"train": {"epoch": 3}}], "stages[0].train.epoch: expected one of epochs, lr, "),
    ([{"qat": {"bits": 8}}, {"finetune": {}}, {"export": {}}],
     "stages[2]: expected export after a quantize or qat stage (with no stage changing the "
     "float network in between), found 'export'"),
    ([{"sensitivity": {}}], "stages[0].sensitivity.macs_x: expected exactly one of params_x, "
                            "macs_x, found None"),
    ([{"prune_macs": {"reduction": "5x"}}], "stages[0].prune_macs.reduction: expected a number, "
                                            "found '5x'"),
])
def test_config_errors_name_the_key_path(stages, message):
    with pytest.raises(ModelError) as exc:
        validate({"name": "x", "stages": stages}, "cfg.yml")
    assert str(exc.value).startswith("cfg.yml: " + message)


def test_cli_hook_ignores_plain_configs(tmp_path):
    plain = tmp_path / "plain.yml"
    plain.write_text("name: x\nprune: {amount: 0.5}\n")
    assert run_config_file(plain, out_dir=tmp_path) is None
    bad = tmp_path / "bad.yml"
    bad.write_text("stages: []\n")
    with pytest.raises(FpgacError, match=r"bad.yml: stages: expected a non-empty list"):
        run_config_file(bad, out_dir=tmp_path)
