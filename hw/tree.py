"""The slice adder tree: sums the ``s`` partial accumulators of each channel slot of a
one-window sliced layer before the writer (``docs/architecture.md``, build-order step 2)."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.hw.tables import field_rom

__all__ = ["SliceTree", "tree_stages"]


def tree_stages(plan) -> int:
    """Registered stages of the tree for ``plan``: ``log2`` of the largest
    ``LayerDesc.slices`` (0: no sliced layer, no tree)."""
    return max(int(d.slices) for d in plan.descriptors).bit_length() - 1


class SliceTree(wiring.Component):
    """``stages`` registered stages over the ``pes`` lanes' latched values ``lanes``.

    Stage ``k`` (``k < stages``) registers, for every lane ``p``, ``x[p] + x[p + 2^k]`` when
    ``p`` is a multiple of ``2^(k+1)`` and the layer's ``log2 s > k``, else ``x[p]``
    (passed through). So after the last stage lane ``q * s`` holds the sum of lanes ``q * s
    .. q * s + s - 1`` (a layer with ``s`` slices), and every lane of a layer without slices
    holds its own value. ``load`` (the cycle the lanes latch, with that group's ``layer``)
    takes the layer's ``log2 s`` (from ``plan.descriptors``), which follows the values
    through the stages; ``sums`` shows the group's values from ``stages`` cycles after the
    lanes' ``result`` does (``latency``). The values are ``acc_bits`` signed: the compiler
    bounds every node (:func:`fpgac.compiler.analysis.widths.slice_bound`). No register of
    the tree has a reset (the writer reads ``sums`` only ``latency`` cycles after a ``load``).
    """

    def __init__(self, plan, stages: int | None = None):
        self._plan = plan
        self._stages = tree_stages(plan) if stages is None else int(stages)
        self._pes = int(plan.pes)
        layout = data.ArrayLayout(signed(int(plan.acc_bits)), self._pes)
        super().__init__({
            "load": In(1),
            "layer": In(unsigned(unsigned_bits(len(plan.descriptors) - 1))),
            "lanes": In(layout),
            "sums": Out(layout),
        })

    @property
    def latency(self) -> int:
        """Cycles from a latched value on ``lanes`` to the sums on ``sums``."""
        return self._stages

    def elaborate(self, platform):
        m = Module()
        if not self._stages:
            m.d.comb += self.sums.eq(self.lanes)
            return m
        rows = [{"slog": int(d.slices).bit_length() - 1} for d in self._plan.descriptors]
        m.submodules.cfg = cfg_rom = field_rom(rows)
        rp = cfg_rom.read_port(domain="comb")
        m.d.comb += rp.addr.eq(self.layer)
        cfg = Signal.like(rp.data.slog, name="slog0", reset_less=True)
        with m.If(self.load):
            m.d.sync += cfg.eq(rp.data.slog)
        x = [self.lanes[p] for p in range(self._pes)]
        for k in range(self._stages):
            y = [Signal(signed(int(self._plan.acc_bits)), name=f"t{k}_{p}", reset_less=True)
                 for p in range(self._pes)]
            span = 1 << k
            for p in range(self._pes):
                if p % (2 * span) == 0 and p + span < self._pes:
                    with m.If(cfg > k):
                        m.d.sync += y[p].eq(x[p] + x[p + span])
                    with m.Else():
                        m.d.sync += y[p].eq(x[p])
                else:
                    m.d.sync += y[p].eq(x[p])
            nxt = Signal.like(cfg, name=f"slog{k + 1}")   # reset_less, as cfg
            m.d.sync += nxt.eq(cfg)
            x, cfg = y, nxt
        m.d.comb += [self.sums[p].eq(x[p]) for p in range(self._pes)]
        return m
