"""The whole run in-process on a tiny user-defined CNN (config ``model:`` as a spec list)."""

from __future__ import annotations

import copy

import pytest

from fpgac.compress.config import DEFAULTS, load_config
from fpgac.compress.pipeline import run_compress
from fpgac.compress.tiny import TINY_SPEC
from fpgac.errors import ModelError


def _cfg(tmp_path, **prune):
    return load_config(None, {
        "name": "tinyrun", "model": copy.deepcopy(TINY_SPEC),
        "data": {"train_limit": 200, "test_limit": 200},
        "train": {"epochs": 1, "batch_size": 32},
        "prune": {"method": "random", "amount": 0.5, "iterations": 2, **prune},
        "finetune": {"epochs": 1, "batch_size": 32},
        "quant": {"bits": 5, "calib": 16},
        "export": {"out_dir": str(tmp_path), "legacy_dense": False, "legacy_float": False,
                   "own_layouts": ["csc"]},
    })


@pytest.mark.parametrize("prune", [{"method": "random"},
                                   {"method": "custom", "threshold": 0.05, "iterations": 1}])
def test_tiny_run_record(tmp_path, prune):
    rec = run_compress(_cfg(tmp_path, **prune), progress=False, log=lambda *a: None)
    assert rec["golden_mismatches"] == 0
    assert rec["roundtrip_mismatches"] == {"legacy_int_coo": 0, "fpgac_coo": 0, "fpgac_csc": 0}
    assert rec["accuracy"]["pruned_int"] == rec["accuracy"]["golden"]
    layers = rec["sparsity"]["layers"]
    assert [r["name"] for r in layers] == ["conv1", "conv2", "fc1"]
    if prune["method"] == "random":                       # every layer at 50% (+ rounding)
        assert all(abs(r["sparsity"] - 0.5) < 0.02 for r in layers)
    else:            # |w| <= 0.05 pruned (kept weights may shrink below it when fine-tuned)
        assert all(0.05 < r["sparsity"] < 0.95 for r in layers)
        assert len({round(r["sparsity"], 3) for r in layers}) == 3
    assert rec["sparsity"]["total"]["nonzero_macs"] < rec["sparsity"]["dense_macs"]
    assert (tmp_path / "tinyrun.run.json").exists()
    assert all(q["n_bits"] == 5 for q in rec["quant"])


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ModelError, match=r"model.spec\[1\].type: expected one of"):
        load_config(None, {"model": [{"type": "conv2d", "out_channels": 2, "kernel": 3},
                                     {"type": "softmax"}]})
    with pytest.raises(ModelError, match=r"export.own_layouts\[1\]: expected one of dense, coo, "
                                         r"csr, csc, found 'bsr'"):
        load_config(None, {"export": {"own_layouts": ["coo", "bsr"]}})
    with pytest.raises(ModelError, match=r"export.legacy_int_name: expected a file name "
                                         r"containing '\{name\}', found 'x.yml'"):
        load_config(None, {"export": {"legacy_int_name": "x.yml"}})
    assert load_config(None) == DEFAULTS
