"""The one config schema: the preset sections as stage parameters, the deprecated spelling."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from fpgac.cli import main
from fpgac.compress.config import (DEFAULTS, PRESET_PARAMS, load_config, preset_stages,
                                   validate)
from fpgac.compress.registry import STAGES
from fpgac.errors import ModelError


def test_preset_is_a_stage_list_with_the_sections_as_parameters():
    cfg = load_config(None, {"train": {"seed": 5}, "finetune": {"epochs": 4},
                             "quant": {"bits": 6}})
    staged = validate(preset_stages(cfg))           # a valid staged config itself
    kinds = [next(iter(s)) for s in staged["stages"]]
    assert kinds == ["train", "prune", "quantize", "check", "export"]
    train, prune, quant, _, export = (next(iter(s.values())) for s in staged["stages"])
    assert (train["seed"], prune["seed"], quant["seed"]) == (5, 6, 5)
    assert prune["finetune_epochs"] == 4 and prune["iterations"] == 3
    assert quant["bits"] == 6 and export["legacy_fallback"] is False
    assert export["own_layouts"] == DEFAULTS["export"]["own_layouts"]
    dense = preset_stages(load_config(None, {"prune": {"amount": 0.0}}), export=False)
    assert [next(iter(s)) for s in dense["stages"]] == ["train", "quantize", "check"]
    for sec, (kind, keys) in PRESET_PARAMS.items():       # every section key is mapped
        assert set(keys) | {"seed", "out_dir"} >= set(DEFAULTS[sec]), sec
        assert set(keys.values()) <= set(STAGES[kind].defaults), sec


@pytest.mark.parametrize("override, message", [
    ({"finetune": {"lr": 0}}, "finetune.lr: expected a number > 0, found 0"),
    ({"finetune": {"epochs": 1.5}}, "finetune.epochs: expected an integer, found 1.5"),
    ({"prune": {"method": "magic"}}, "prune.method: expected one of global-l1, l1, random, "
                                     "ln-structured, custom, found 'magic'"),
    ({"train": {"seed": "x"}}, "train.seed: expected an integer, found 'x'"),
    ({"data": {"test_limit": 0}}, "data.test_limit: expected null or an integer >= 1, found 0"),
])
def test_preset_errors_name_the_section_key(override, message):
    with pytest.raises(ModelError) as exc:
        load_config(None, override)
    assert str(exc.value) == message


def test_old_spelling_limit_test_is_read_with_a_warning(tmp_path):
    path = tmp_path / "old.yml"
    path.write_text("data: {limit_test: 200}\n")
    with pytest.warns(FutureWarning, match=r"old.yml: data.limit_test is deprecated: write "
                                           r"data.test_limit \(same meaning\)"):
        cfg = load_config(path)
    assert cfg["data"]["test_limit"] == 200 and "limit_test" not in cfg["data"]
    with pytest.warns(FutureWarning):
        staged = validate({"stages": [{"train": {}}], "data": {"limit_test": 7}})
    assert staged["data"]["test_limit"] == 7
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # the canonical name warns nothing
        assert load_config(None, {"data": {"test_limit": 3}})["data"]["test_limit"] == 3
    both = tmp_path / "both.yml"
    both.write_text("data: {limit_test: 200, test_limit: 100}\n")
    with pytest.raises(ModelError, match=r"both.yml: data.limit_test: expected only one of "
                                         r"data.test_limit and its deprecated spelling "
                                         r"data.limit_test, found 'both'"):
        load_config(both)


def test_cli_prints_the_deprecation_as_one_line(tmp_path, capsys):
    path = tmp_path / "old.yml"
    path.write_text("data: {limit_test: 200}\nquant: {bits: 20}\n")
    assert main(["compress", "--config", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == (f"fpgac compress: warning: {path}: data.limit_test is deprecated: write "
                      "data.test_limit (same meaning)")
    assert "quant.bits: expected an integer in [2, 16], found 20" in err[1] and len(err) == 2


def test_bench_scale_model_config_is_valid_and_about_12x_lenet5():
    """``bench/models/lenet5x12_g90_8b.config.yml`` (issue 13's scale model) loads, and its
    dense weights are about 12x LeNet-5's (the 90 % pruning keeps the ratio of non-zeros)."""
    from fpgac.compress.config import spec_of
    from fpgac.compress.models import LENET5_SPEC, build_cnn

    root = Path(__file__).resolve().parents[2]
    cfg = load_config(root / "bench" / "models" / "lenet5x12_g90_8b.config.yml")
    assert cfg["prune"]["amount"] == 0.9 and cfg["quant"]["bits"] == 8

    def weights(spec):
        model = build_cnn(spec, (1, 28, 28))
        return sum(p.numel() for n, p in model.named_parameters() if n.endswith("weight"))

    ratio = weights(spec_of(cfg)) / weights(LENET5_SPEC)
    assert 11 < ratio < 14, ratio
