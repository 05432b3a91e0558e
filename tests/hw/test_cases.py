"""``fpgac.hw.cases.full_case``: every selector value picks an item, the last one by default."""

from __future__ import annotations

import pytest
from amaranth.hdl import Elaboratable, Module, Signal, unsigned
from amaranth.sim import Simulator

from fpgac.hw.cases import full_case


class _Mux(Elaboratable):
    def __init__(self, items, keys=None):
        self.sel = Signal(unsigned(4))
        self.out = Signal(unsigned(8))
        self._items, self._keys = items, keys

    def elaborate(self, platform):
        m = Module()
        for item in full_case(m, self.sel, self._items, keys=self._keys):
            m.d.comb += self.out.eq(item)
        return m


@pytest.mark.parametrize("items,keys", [([11, 22, 33], None), ([5], None),
                                        ([40, 50, 60], [3, 9, 1])])
def test_full_case_selects_by_key_and_defaults_to_the_last(items, keys):
    dut = _Mux(items, keys)
    keys_ = list(range(len(items))) if keys is None else keys
    want = {s: items[keys_.index(s)] if s in keys_[:-1] else items[-1] for s in range(16)}
    got = {}

    async def bench(ctx):
        for s in range(16):
            ctx.set(dut.sel, s)
            got[s] = ctx.get(dut.out)

    sim = Simulator(dut)                # combinational: no clock
    sim.add_testbench(bench)
    sim.run()
    assert got == want


def test_full_case_refuses_keys_that_do_not_match_the_items():
    m = Module()
    with pytest.raises(ValueError, match="expected as many keys as items .* found 2 keys for 3"):
        list(full_case(m, Signal(2), [1, 2, 3], keys=[0, 1]))
    with pytest.raises(ValueError, match="found 0 keys for 0 items"):
        list(full_case(m, Signal(2), []))
