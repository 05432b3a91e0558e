"""Pass: fuse ReLUs into the preceding weighted op and canonicalize ``pool -> relu``.

Contract
--------
``fuse_activations(model) -> model'`` returns a new :class:`~fpgac.compiler.ir.Model` (the input
is not modified) whose golden outputs equal the input's for every image:

* a :class:`~fpgac.compiler.ir.ReLU` is moved backwards over :class:`MaxPool2d` and
  :class:`Flatten` ops (both commute with ``max(q, zero_point)``, ``docs/semantics.md`` §3)
  until it meets a weighted op, whose ``relu`` flag it then sets; repeated ReLUs collapse;
* so ``conv -> pool -> relu`` and ``conv -> relu -> pool`` both become ``conv(relu) -> pool``;
* a ReLU with no weighted op before it (it acts on the network input) is left in place; the
  hardware lowering rejects it.

The fused form is exact because the ReLU after a weighted op uses that op's output zero point,
which is the zero point the standalone ReLU compares against.
"""

from __future__ import annotations

import copy

from fpgac.compiler import ir

__all__ = ["fuse_activations"]


def fuse_activations(model: ir.Model) -> ir.Model:
    """Return a copy of ``model`` with every fusable ReLU folded into its weighted op."""
    ops: list[ir.Op] = []
    for op in model.ops:
        if isinstance(op, ir.ReLU):
            target = None
            for prev in reversed(ops):
                if isinstance(prev, (ir.Conv2d, ir.Linear)):
                    target = prev
                    break
                if not isinstance(prev, (ir.MaxPool2d, ir.Flatten)):
                    break
                # a standalone ReLU between them would have been fused already
            if target is not None:
                target.relu = True
                continue
            if ops and isinstance(ops[-1], ir.ReLU):
                continue
            ops.append(copy.copy(op))
        else:
            ops.append(copy.copy(op))
    out = copy.copy(model)
    out.ops = ops
    return out
