"""fuse_activations: the fused model executes identically (golden) and has the documented form."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from fpgac.compiler import ir
from fpgac.compiler.passes.fuse_activations import fuse_activations
from fpgac.sim import golden
from fpgac.sim.randmodel import random_model


def _inputs(model, n=12, seed=0):
    c, h, w = model.input.shape
    top = 2 ** int(model.input.n_bits) - 1
    rng = np.random.default_rng(seed)
    q = rng.integers(0, top + 1, (n, c, h, w), dtype=np.int64)
    q[0] = 0
    q[1] = top
    return q


def _relu_flags(model):
    """Per weighted op: does a ReLU (flag, or op before the next weighted op) follow it?"""
    flags = []
    for op in model.ops:
        if isinstance(op, (ir.Conv2d, ir.Linear)):
            flags.append(bool(op.relu))
        elif isinstance(op, ir.ReLU) and flags:
            flags[-1] = True
    return flags


def _explicit_relus(model, where):
    """Copy of ``model`` whose ReLUs (flags or ops) are standalone ReLU ops placed ``"after"``
    their weighted op or ``"after_pool"`` (behind a following max-pool)."""
    flags = iter(_relu_flags(model))
    out = copy.deepcopy(model)
    ops = []
    pending = False
    for op in [op for op in out.ops if not isinstance(op, ir.ReLU)]:
        if pending and not (where == "after_pool" and isinstance(op, ir.MaxPool2d)):
            ops.append(ir.ReLU())
            pending = False
        ops.append(op)
        if pending and isinstance(op, ir.MaxPool2d):
            ops.append(ir.ReLU())
            pending = False
        if isinstance(op, (ir.Conv2d, ir.Linear)):
            op.relu = False
            pending = next(flags)
    if pending:
        ops.append(ir.ReLU())
    out.ops = ops
    return out


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("where", ["after", "after_pool"])
def test_fused_model_executes_identically(seed, where):
    base = random_model(seed)
    explicit = _explicit_relus(base, where)
    assert not any(getattr(op, "relu", False) for op in explicit.ops)
    fused = fuse_activations(explicit)
    q = _inputs(base, seed=seed)
    want = golden.run(explicit, q)
    got = golden.run(fused, q)
    assert np.array_equal(np.asarray(got), np.asarray(want))
    # the fused form: no standalone ReLU left, the flags are back where they were
    assert not any(isinstance(op, ir.ReLU) for op in fused.ops)
    assert _relu_flags(fused) == _relu_flags(base)
    assert any(isinstance(op, ir.ReLU) for op in explicit.ops) == any(_relu_flags(base))


def test_input_not_modified_and_repeated_relus_collapse():
    base = random_model(3)
    explicit = _explicit_relus(base, "after")
    # a second ReLU behind each one is a no-op and must vanish too
    doubled = copy.deepcopy(explicit)
    ops = []
    for op in doubled.ops:
        ops.append(op)
        if isinstance(op, ir.ReLU):
            ops.append(ir.ReLU())
    doubled.ops = ops
    before = copy.deepcopy(doubled)
    fused = fuse_activations(doubled)
    assert [type(op) for op in doubled.ops] == [type(op) for op in before.ops]
    assert not any(getattr(op, "relu", False) for op in doubled.ops)
    assert _relu_flags(fused) == _relu_flags(base)
    assert not any(isinstance(op, ir.ReLU) for op in fused.ops)
    q = _inputs(base)
    assert np.array_equal(np.asarray(golden.run(fused, q)), np.asarray(golden.run(doubled, q)))


def test_relu_on_the_input_stays_standalone():
    base = random_model(4)
    model = copy.deepcopy(base)
    model.ops = [ir.ReLU()] + model.ops
    fused = fuse_activations(model)
    assert isinstance(fused.ops[0], ir.ReLU)
    from fpgac.compiler.passes.lower_to_plan import lower_to_plan
    from fpgac.sim.preprocess import pixel_table
    from fpgac.errors import UnsupportedError

    with pytest.raises(UnsupportedError, match=r"ops\[0\] \(relu\): a ReLU that does not "
                                               r"follow a weighted layer"):
        lower_to_plan(fused, pes=2, pixel_lut=pixel_table(fused))
