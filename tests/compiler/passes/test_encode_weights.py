"""encode_weights: compact bank entries round-trip exactly, fillers cover any gap, all-zero
filters cost one entry, and every weight width works."""

from __future__ import annotations

import numpy as np
import pytest

from fpgac.compiler.passes.encode_weights import (
    MAX_GAP_BITS, choose_gap_bits, decode_list, encode_list, entries_count)


def _random_list(rng, n_bits, taps, density):
    wz = int(rng.integers(0, 2 ** n_bits))
    chosen = np.flatnonzero(rng.random(taps) < density)
    values = rng.integers(0, 2 ** n_bits - 1, size=len(chosen))     # any value but wz
    values = values + (values >= wz)
    return wz, [(int(v), int(t)) for v, t in zip(values, chosen)]


@pytest.mark.parametrize("n_bits", range(1, 17))
@pytest.mark.parametrize("gap_bits", [1, 2, 5, 8])
def test_round_trip_every_n_bits(n_bits, gap_bits):
    rng = np.random.default_rng(n_bits * 100 + gap_bits)
    for density in (0.02, 0.1, 0.5, 1.0):
        wz, lst = _random_list(rng, n_bits, 700, density)
        entries = encode_list(lst, wz, gap_bits)
        assert decode_list(entries, wz, gap_bits) == lst
        assert len(entries) == entries_count([t for _, t in lst], gap_bits)
        # fields fit their widths; exactly one last, on the final entry
        assert all(0 <= w < 2 ** n_bits and 0 <= g < 2 ** gap_bits for w, g, _ in entries)
        assert [e[2] for e in entries] == [0] * (len(entries) - 1) + [1]
        # weights are entries with w != wz, in order; the rest are fillers
        assert [e[0] for e in entries if e[0] != wz] == [w for w, _ in lst]


@pytest.mark.parametrize("gap_bits", range(1, MAX_GAP_BITS + 1))
def test_worst_case_gaps_use_the_fewest_fillers(gap_bits):
    span = 1 << gap_bits
    wz = 0
    for first in (0, 1, span - 1, span, span + 1, span * span, span * span + 1,
                  span * span * 3 + 7, 5000):
        for second in (1, span, span + 1, span * span + 1, 4321):
            lst = [(1, first), (2, first + second)]
            entries = encode_list(lst, wz, gap_bits)
            assert decode_list(entries, wz, gap_bits) == lst
            fillers = sum(1 for e in entries if e[0] == wz)
            want = 0
            for delta in (first + 1, second):
                q = (delta - 1) >> gap_bits
                want += -(-q // span)          # each filler jumps at most span * span
            assert fillers == want
            # intermediate offsets never pass the next tap (fillers do not overshoot)
            off = -1
            for w, g, _ in entries:
                off += ((g + 1) << gap_bits) if w == wz else g + 1
                assert off <= first + second


def test_all_zero_filter_is_one_filler_and_bad_lists_are_refused():
    for gap_bits in (1, 4, 8):
        assert encode_list([], 7, gap_bits) == [(7, 0, 1)]
        assert decode_list([(7, 0, 1)], 7, gap_bits) == []
        assert entries_count([], gap_bits) == 1
    with pytest.raises(ValueError, match="equals the zero point"):
        encode_list([(3, 0)], 3, 4)
    with pytest.raises(ValueError, match="taps must increase"):
        encode_list([(1, 5), (2, 5)], 0, 4)
    with pytest.raises(ValueError, match="gap_bits"):
        encode_list([(1, 5)], 0, 0)


def test_choose_gap_bits_minimises_the_stored_bits():
    rng = np.random.default_rng(3)
    lists = [sorted(rng.choice(400, size=40, replace=False).tolist()) for _ in range(30)]
    g = choose_gap_bits(lists, 8)
    bits = {h: sum(entries_count(t, h) for t in lists) * (8 + h)
            for h in range(1, MAX_GAP_BITS + 1)}
    entries = {h: sum(entries_count(t, h) for t in lists) for h in bits}
    assert bits[g] <= min(bits.values()) * 1.05            # near the least storage
    assert entries[g] == min(entries[h] for h in bits if bits[h] <= min(bits.values()) * 1.05)
    # dense lists want the smallest gap field, very sparse ones a wider one
    assert choose_gap_bits([list(range(100))], 8) == 1
    assert choose_gap_bits([list(range(0, 10000, 200))], 8) > 4
