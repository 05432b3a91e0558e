"""The readings of the LeNet-style family (``compiler/frontend/topology.py``) on the shapes of
the variants users write (legacy-format.md, "What the files do NOT say: the topology")."""

from __future__ import annotations

import pytest

from fpgac.compiler.frontend.topology import (Reading, convert_flags, describe_reading,
                                              enumerate_readings)

SEED = [(6, 1, 5, 5), (16, 6, 5, 5), (120, 16, 5, 5), (84, 120), (10, 84)]
NOPAD = [(6, 1, 5, 5), (16, 6, 5, 5), (120, 16, 4, 4), (84, 120), (10, 84)]
TUTORIAL = [(6, 1, 3, 3), (16, 6, 3, 3), (120, 400), (84, 120), (10, 84)]
NAMES = ["conv1", "conv2", "conv3"]


def chaining(weights, **stated):
    return [o for o in enumerate_readings(weights, **stated) if o.chains]


def test_seed_lenet5_has_one_reading():
    (only,) = chaining(SEED)
    assert only.reading == Reading((2, 0, 0), (True, True, False))
    assert only.shapes[2] == (120, 1, 1) and only.flat == 120


def test_tutorial_lenet_has_one_reading():
    (only,) = chaining(TUTORIAL)
    assert only.reading == Reading((0, 0), (True, True)) and only.flat == 400


def test_1998_lenet5_has_two_readings_and_both_are_listed():
    got = chaining(NOPAD)
    assert [o.reading for o in got] == [Reading((0, 0, 0), (True, True, False)),
                                        Reading((2, 0, 0), (True, True, True))]
    assert describe_reading(got[0].reading, NAMES) == "conv1 + pool, conv2 + pool, conv3"
    assert describe_reading(got[1].reading, NAMES) == \
        "conv1 pad 2 + pool, conv2 + pool, conv3 + pool"
    assert convert_flags(got[1].reading, NAMES) == "--padding 2,0,0 --pool conv1,conv2,conv3"
    # stating either part of the topology leaves one
    assert len(chaining(NOPAD, padding=[0, 0, 0])) == 1
    assert len(chaining(NOPAD, pool=[True, True, False])) == 1


def test_family_rules():
    readings = [o.reading for o in enumerate_readings(SEED)]
    # first conv: 0 or (k-1)/2; later convs: 0; no pool after a 1x1 output
    assert {r.padding for r in readings} == {(0, 0, 0), (2, 0, 0)}
    # with conv1 pad 2, conv3's output is 1x1: no reading pools after it
    assert Reading((2, 0, 0), (True, True, True)) not in readings
    assert Reading((2, 0, 0), (True, True, False)) in readings
    assert len(readings) == len(set(readings))
    # an even first kernel has only padding 0; a 1x1 kernel only one padding value
    even = [(2, 1, 4, 4), (10, 2 * 13 * 13)]
    assert {o.reading.padding for o in enumerate_readings(even)} == {(0,)}
    one = [(2, 1, 1, 1), (10, 2 * 14 * 14)]
    assert {o.reading.padding for o in enumerate_readings(one)} == {(0,)}
    assert [o.reading for o in chaining(one)] == [Reading((0,), (True,))]


def test_linear_only_file_has_one_trivial_reading():
    (only,) = chaining([(10, 784)])
    assert only.reading == Reading((), ()) and only.flat == 784


def test_stated_arguments_are_checked():
    with pytest.raises(ValueError, match="padding: expected 3 entries"):
        enumerate_readings(SEED, padding=[2])
    # a stated pool after a 1x1 output is a mismatch, not silently dropped
    (out,) = enumerate_readings(SEED, padding=[2, 0, 0], pool=[True, True, True])
    assert not out.chains and out.mismatch.key == "pool" and out.mismatch.found == "1x1"
