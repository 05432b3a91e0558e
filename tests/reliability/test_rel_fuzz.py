"""Hostile model files: mutated legacy and own-format YAML must load or fail with a clear message.

CI runs :data:`CI_MUTANTS` mutants (seeded); ``bench/reliability_bench.py`` runs >= 10,000.
Each mutant is loaded in a worker process under a time and address-space limit
(:mod:`fpgac.sim.fuzzing`).
"""

from __future__ import annotations

import numpy as np
import pytest

from fpgac.sim import fuzzing

CI_MUTANTS = 400
#: Per-mutant wall-clock limit: a hang guard (a mutant that makes the loader loop or blow up),
#: not a speed figure, so it is far above a normal load (well under a second) and survives a
#: loaded machine; the loader's speed is measured in bench/reliability_bench.py.
HANG_S = 30.0


@pytest.mark.slow
def test_fuzzed_model_files_fail_cleanly(tmp_path):
    res = fuzzing.fuzz_loader(20261123, CI_MUTANTS, limit_s=HANG_S, mem_mb=3072,
                              workdir=tmp_path)
    outcomes = dict(res["outcomes"])
    assert sum(outcomes.values()) == CI_MUTANTS
    assert set(outcomes) <= {"rejected", "loaded"}, (outcomes, res["failures"][:5])
    assert outcomes.get("rejected", 0) > CI_MUTANTS // 2
    # every mutation kind was exercised
    assert set(res["by_kind"]) == set(fuzzing.MUTATIONS)
    assert res["max_t"] < HANG_S and res["rss_mb"] < 3072
    assert res["messages"] > 50                 # messages name the place: not one generic text


def test_mutants_are_reproducible():
    text = (fuzzing.Path(__file__).parents[1] / "fixtures" / "replay" / "rand18.yml").read_text()
    for kind in fuzzing.MUTATIONS:
        a = fuzzing.make_mutant(text, kind, np.random.default_rng([7, 1]))
        b = fuzzing.make_mutant(text, kind, np.random.default_rng([7, 1]))
        assert a == b, kind


@pytest.mark.parametrize("kind", ["python_tag", "alias_bomb", "dup_key", "truncate",
                                  "deep_nesting", "huge_size", "nan_inf", "long_literal"])
def test_hostile_kinds_are_rejected_with_one_line(tmp_path, kind):
    text = (fuzzing.Path(__file__).parents[1] / "fixtures" / "replay" / "rand18.yml").read_text()
    for i in range(5):
        data = fuzzing.make_mutant(text, kind, np.random.default_rng([3, i]))
        outcome, msg = fuzzing._classify(data, tmp_path / "m.yml")
        assert outcome in ("rejected", "loaded"), (kind, i, msg)
        if kind in ("python_tag", "alias_bomb", "dup_key", "long_literal"):
            assert outcome == "rejected" and "expected" in msg, (kind, i, msg)


def test_classifier_detects_a_crashing_loader(monkeypatch, tmp_path):
    """Mutation check: a loader raising a non-FpgacError is reported as a crash."""
    from fpgac.compiler import frontend

    def broken(path, **kwargs):
        raise ValueError("boom")
    monkeypatch.setattr(frontend, "load_model", broken)
    outcome, msg = fuzzing._classify(b"head: int_values\n", tmp_path / "m.yml")
    assert outcome == "crash" and "ValueError" in msg
