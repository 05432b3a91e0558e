"""``bench/banked_activations.py``: the banked-activation design's layout checker, step counts
and the LeNet-5 figures docs/architecture.md quotes ("Next: banked activations")."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = str(ROOT / "examples" / "lenet5_g90_8b.yml")
sys.path.insert(0, str(ROOT / "bench"))

import banked_activations as ba  # noqa: E402  (bench/ is a folder of scripts)


def conv(hq=6, k=3, stride=1, pool=2, c_in=2, nnz=None):
    hp = (hq * pool - 1) * stride + k
    return ba.Geometry("c", np.ones((4, c_in * k * k), bool) if nnz is None else nnz, c_in,
                       hp, hp, k, stride, pool, hq, hq)


@pytest.mark.parametrize("stride,pool,k,br,bc", [(1, 2, 3, 2, 3), (2, 1, 5, 3, 3),
                                                  (1, 1, 5, 4, 4), (2, 2, 3, 5, 2)])
def test_window_layout_is_injective_and_conflict_free(stride, pool, k, br, bc):
    g = conv(hq=5, k=k, stride=stride, pool=pool)
    cells = -(-g.hp // g.r)                          # cells per column / row
    want = g.c_in * -(-cells // br) * -(-cells // bc) * g.r ** 2
    assert ba.check_window_layout(g, br, bc) == want


def test_the_checker_catches_a_conflict_and_a_shared_word():
    g = conv()
    bank, word, depth = ba.window_layout(g, 2, 3)
    # a bank chosen by the column alone: the two rows of a group read the same banks (the
    # words stay distinct: the row part moves into the word)
    by_column = (bank % 3, word * 2 + (bank // 3), 2 * depth)
    with pytest.raises(AssertionError, match="conflicts"):
        ba.check_window_layout(g, 2, 3, by_column)
    with pytest.raises(AssertionError, match="share a word"):
        ba.check_window_layout(g, 2, 3, (bank, word // 2, depth))


def test_sliced_steps_take_the_longest_slice_of_each_round():
    nnz = np.zeros((3, 8), bool)
    nnz[0, [0, 1, 2, 5]] = True                     # slices of 4: 3 and 1
    nnz[1, [4, 5, 6, 7]] = True                     # 0 and 4
    nnz[2, [3]] = True                              # 1 and 0
    g = ba.Geometry("fc", nnz, 8, 1, 1, 1, 1, 1, 1, 1)
    assert ba.sliced_steps(g, a=2, s=2) == 4 + 1    # rounds {0, 1} and {2}
    assert ba.sliced_steps(g, a=3, s=1) == 4
    assert ba.sliced_steps(g, a=1, s=2) == 3 + 4 + 1


def test_lenet5_banked_depth_and_steps():
    rows = ba.rows(MODEL, [16, 54], 8)
    by = {(r["pes"], r["layer"]): r for r in rows}
    assert [r["layer"] for r in rows[:5]] == ["conv1", "conv2", "conv3", "fc1", "fc2"]
    for r in rows:
        assert r["lanes"] <= r["pes"] and r["lane_depth"] < r["today_depth"] == 2200
    assert by[(54, "conv1")]["mapping"] == "1 x 7x7" and by[(54, "conv1")]["bank_words"] == 36
    assert by[(54, "conv2")]["mapping"] == "2 x 5x5"
    assert by[(54, "conv1")]["lane_depth"] == 320 and by[(16, "conv1")]["lane_depth"] == 244
    total = sum(r["steps"] for r in rows if r["pes"] == 16)
    today = sum(r["steps_today"] for r in rows if r["pes"] == 16)
    assert total <= today
