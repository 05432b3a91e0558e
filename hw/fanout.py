"""Register replicas for step fields broadcast to every lane.

At large ``P`` one register driving the same input of all lanes is a long, high-fan-out net
(ECP5, P = 64: the window counters' step row reached its 64 lanes through three routing hops
of 3.4-4.6 ns). :func:`replicate` registers the value once per group of
``plan.fanout_lanes`` lanes instead; every replica holds the same value in the same cycle,
so no latency changes.

Synthesis merges identical flip-flops (Yosys ``opt_merge``) unless the flip-flop *cell*
carries ``keep`` (a ``keep`` on the wire is not enough; checked in the installed Yosys 0.70).
Amaranth puts signal attributes on wires only, so the replicas are named with :data:`TAG`
and the open flows' Yosys script marks the flip-flops driving those wires ``keep``
(:data:`YOSYS_KEEP`, used by :func:`fpgac.boards.tools.platform_overrides`). The same
script first folds each replica's reset into its flip-flop (an ECP5 ``LSR``, an iCE40
``SB_DFFSR``), so that no replica reads the reset through a LUT.

Vivado (the Arty flow) removes equivalent registers too; it keeps a register whose HDL
declaration carries ``DONT_TOUCH`` (UG901), so every replica wire has that attribute
(:data:`VIVADO_ATTRS`), which the Verilog backend writes on the ``reg`` of the replica.
Yosys ignores it (hence the script above).
"""

from __future__ import annotations

from amaranth.hdl import Const, Signal

__all__ = ["TAG", "YOSYS_KEEP", "VIVADO_ATTRS", "lane_group", "groups", "replicate",
           "registers", "unaliased"]

#: Name tag of a replica register (``<name>_fanrep<g>``).
TAG = "fanrep"
_REPLICA_FFS = f"w:*_{TAG}* %a %ci1:+$dff,$adff,$sdff,$dffe,$sdffe[Q] w:* %d"
#: Yosys commands (after reading the design, before synthesis) that keep the replicas: first
#: each replica's reset multiplexer becomes the flip-flop's own synchronous reset (``proc``,
#: ``opt_expr``, ``opt_clean``, then ``opt_dff`` on the replicas only; ``opt_merge``, which
#: would merge them, does not run), then the flip-flops get ``keep``. Without the first step a
#: kept flip-flop keeps its reset as logic, and ABC shares that LUT (``x & ~reset``) between
#: all replicas of ``x``: the broadcast they split is one net again, behind the reset.
YOSYS_KEEP = "\n".join([
    "proc", "opt_expr", "opt_clean",
    f"opt_dff -nodffe {_REPLICA_FFS}",
    f"setattr -set keep 1 {_REPLICA_FFS}",
])
#: Attributes of every replica: Vivado keeps the register instead of merging it.
VIVADO_ATTRS = {"DONT_TOUCH": "TRUE"}


def lane_group(plan, p: int) -> int:
    """The replica group of lane ``p``."""
    return int(p) // int(plan.fanout_lanes)


def groups(plan) -> int:
    """Number of replica groups of ``plan`` (``ceil(pes / fanout_lanes)``)."""
    return -(-int(plan.pes) // int(plan.fanout_lanes))


def replicate(m, plan, name: str, value, *, like=None, reset_less=False) -> list[Signal]:
    """Register ``value`` (``m.d.sync``) once per lane group; returns the replicas, one per
    group (:func:`lane_group` indexes them). ``like``: the shape source (default ``value``);
    ``reset_less``: the replicas have no reset (a datapath field read only under a valid bit
    that has one)."""
    return registers(m, groups(plan), name, value, like=like, reset_less=reset_less)


def registers(m, count: int, name: str, value, *, like=None, reset_less=False) -> list[Signal]:
    """:func:`replicate` for a component that knows its group count but not the plan:
    ``count`` replicas ``<name>_fanrep<g>`` of ``value``, all loaded in the same cycle."""
    src = value if like is None else like
    out = []
    for g in range(int(count)):
        r = Signal.like(src, name=f"{name}_{TAG}{g}", attrs=VIVADO_ATTRS,
                        reset_less=reset_less)
        m.d.sync += r.eq(value)
        out.append(r)
    return out


def unaliased(replica: Signal):
    """``replica`` for a ``comb`` assignment to an output port. Amaranth names a register
    after the port it drives directly (the replica's name becomes an alias that no cell
    connects to, so :data:`YOSYS_KEEP` would not find the register and synthesis would merge
    it); through this no-op ``| 0`` (which synthesis removes after the keep is set) the
    register keeps the replica's name."""
    return replica | Const(0, 1)
