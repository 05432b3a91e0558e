"""A signed multiplier with registered operands and a registered product (latency 2), in the
ECP5 DSP's own registers on an ECP5 build."""

from __future__ import annotations

from amaranth.hdl import ClockSignal, Const, Instance, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["RegisteredMultiplier", "uses_dsp_registers"]

#: Operand bits of one ECP5 ``MULT18X18D`` (signed, sign-extended to 18).
ECP5_OPERAND_BITS = 18


def uses_dsp_registers(platform, a_bits: int, b_bits: int) -> bool:
    """Whether a :class:`RegisteredMultiplier` of ``a_bits`` x ``b_bits`` elaborated for
    ``platform`` instantiates the ECP5 ``MULT18X18D`` with its registers."""
    return (getattr(platform, "family", None) == "ecp5"
            and max(int(a_bits), int(b_bits)) <= ECP5_OPERAND_BITS)


class RegisteredMultiplier(wiring.Component):
    """``p`` in cycle ``c + 2`` is ``a * b`` of cycle ``c`` (:attr:`LATENCY` = 2): the operands
    are registered at the first edge, the product at the second; no enable, no reset (the lane
    uses a product only under its step's ``valid``).

    Elaborated for an ECP5 platform (``platform.family == "ecp5"``) with operands of at most
    18 bits, the three registers are the ``MULT18X18D``'s own: ``REG_INPUTA_CLK``,
    ``REG_INPUTB_CLK`` and ``REG_OUTPUT_CLK`` on ``CLK0``, ``CE0`` high, ``RST0`` low, GSR off,
    signed operands sign-extended to 18 bits, ``p`` the low bits of ``P``. Yosys maps an
    inferred product to a ``MULT18X18D`` without them, so the flip-flops stay in the fabric
    and the routes into and out of the DSP column add to the product's path (``docs/boards.md``,
    "The lane multiplier in the DSP's registers"). Elsewhere (simulation, which has no model of
    the primitive; iCE40 and Xilinx, whose Yosys / Vivado flows absorb the registers) the same
    registers in plain logic.
    """

    #: Cycles from the operands to their product on ``p``.
    LATENCY = 2

    def __init__(self, a_bits: int, b_bits: int):
        self._a_bits = int(a_bits)
        self._b_bits = int(b_bits)
        super().__init__({
            "a": In(signed(self._a_bits)),
            "b": In(signed(self._b_bits)),
            "p": Out(signed(self._a_bits + self._b_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        if not uses_dsp_registers(platform, self._a_bits, self._b_bits):
            a1 = Signal.like(self.a, name="a1", reset_less=True)
            b1 = Signal.like(self.b, name="b1", reset_less=True)
            p2 = Signal.like(self.p, name="p2", reset_less=True)
            m.d.sync += [a1.eq(self.a), b1.eq(self.b), p2.eq(a1 * b1)]
            m.d.comb += self.p.eq(p2)
            return m
        n = ECP5_OPERAND_BITS
        a = Signal(signed(n), name="a18")
        b = Signal(signed(n), name="b18")
        prod = Signal(signed(2 * n), name="p36")
        m.d.comb += [a.eq(self.a), b.eq(self.b), self.p.eq(prod)]
        ports = {}
        for i in range(n):
            ports[f"i_A{i}"] = a[i]
            ports[f"i_B{i}"] = b[i]
            ports[f"i_C{i}"] = Const(0, 1)
        for i in range(2 * n):
            ports[f"o_P{i}"] = prod[i]
        for k in range(4):
            ports[f"i_CLK{k}"] = ClockSignal("sync") if k == 0 else Const(0, 1)
            ports[f"i_CE{k}"] = Const(1 if k == 0 else 0, 1)
            ports[f"i_RST{k}"] = Const(0, 1)
        m.submodules.mult = Instance(
            "MULT18X18D",
            p_REG_INPUTA_CLK="CLK0", p_REG_INPUTA_CE="CE0", p_REG_INPUTA_RST="RST0",
            p_REG_INPUTB_CLK="CLK0", p_REG_INPUTB_CE="CE0", p_REG_INPUTB_RST="RST0",
            p_REG_INPUTC_CLK="NONE", p_REG_PIPELINE_CLK="NONE",
            p_REG_OUTPUT_CLK="CLK0", p_REG_OUTPUT_CE="CE0", p_REG_OUTPUT_RST="RST0",
            p_GSR="DISABLED", p_RESETMODE="SYNC", p_SOURCEB_MODE="B_SHIFT",
            p_MULT_BYPASS="DISABLED",
            i_SIGNEDA=Const(1, 1), i_SIGNEDB=Const(1, 1),
            i_SOURCEA=Const(0, 1), i_SOURCEB=Const(0, 1),
            **ports)
        return m
