"""The stage registry: every kind complete and documented, parameters checked by shared rules."""

from __future__ import annotations

import pytest

import fpgac.compress.stages  # noqa: F401  (registers the kinds)
from fpgac.compress.registry import RULES, STAGES, stage, type_ok
from fpgac.errors import ModelError


def test_every_kind_is_registered_once_with_a_description_and_types():
    assert list(STAGES) == ["train", "finetune", "distill", "prune", "prune_macs",
                            "prune_filters", "sensitivity", "lowrank", "quantize", "qat",
                            "check", "export"]
    for kind, sk in STAGES.items():
        assert sk.kind == kind and sk.doc, kind
        for key, value in sk.defaults.items():      # a None default must name its type
            assert value is not None or key in sk.types, (kind, key)
            assert value is None or type_ok(value, sk.type_of(key)), (kind, key)
            if key in RULES and value is not None:
                assert RULES[key][0](value), (kind, key)
    assert {k for k, sk in STAGES.items() if sk.needs_int} == {"check", "export"}
    assert {k for k, sk in STAGES.items() if sk.makes_int} == {"quantize", "qat"}
    with pytest.raises(ValueError, match="registered twice"):
        stage("train", {})(lambda run, p, seed: {})


def test_one_rule_per_parameter_name_in_every_kind():
    where = "stages[0].{}.bits".format
    for kind in ("quantize", "qat"):
        with pytest.raises(ModelError) as exc:
            STAGES[kind].params({"bits": 1}, lambda k, kind=kind: f"stages[0].{kind}.{k}",
                                "c.yml", (1, 28, 28))
        assert str(exc.value) == f"c.yml: {where(kind)}: expected an integer in [2, 16], found 1"
    with pytest.raises(ModelError, match=r"x.percentile: expected a number in \(50, 100\], "
                                         r"found 20"):
        STAGES["qat"].params({"percentile": 20}, "x.{}".format, None, (1, 28, 28))
    full = STAGES["prune"].params({"method": "custom", "threshold": 0.1}, "p.{}".format, None,
                                  (1, 28, 28))
    assert full["amount"] == 0.9 and full["finetune_epochs"] == 2 and full["seed"] is None
