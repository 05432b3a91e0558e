"""The hardware plan: everything :mod:`fpgac.hw` needs to build the accelerator, and nothing more.

:func:`plan_hardware` runs the compiler passes (:mod:`fpgac.compiler.passes`) on a model and
returns a frozen :class:`HardwarePlan`. hw/ reads only this object: ROM and table contents are
tuples of Python ints, every width is decided here (:mod:`fpgac.compiler.analysis.widths`).

The dataflow, storage and program format are described in ``docs/architecture.md``
("The accelerator"); the timing in :mod:`fpgac.compiler.analysis.cycles`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fpgac.compiler import ir

__all__ = ["SPATIAL", "CHANNEL_PARALLEL", "Requant", "Group", "LayerPlan", "HardwarePlan", "plan_hardware"]

#: Layer mode: all lanes share one weight stream (one bank; different output windows).
SPATIAL = "spatial"
#: Layer mode: lanes run different channels (several banks; the channel-parallel mapping or the
#: item mapping).
CHANNEL_PARALLEL = "channel-parallel"


@dataclass(frozen=True)
class Requant:
    """Requantizer constants of one layer (``docs/semantics.md`` §2).

    ``y = sat(relu((acc * mqm0 + rnd) >> shift + outz))`` with ``relu`` meaning
    ``max(y, outz)`` and ``sat`` clamping to ``[0, 2**n_bits - 1]``.
    """

    mqm0: int
    shift: int
    rnd: int
    outz: int
    relu: bool
    n_bits: int


@dataclass(frozen=True)
class Group:
    """One program entry: a stretch of lockstep steps ending with a latch of all lanes.

    The controller issues ``phases * count`` steps (``phase`` outer, ``e`` inner). Bank ``k``
    obeys ``bank_cmd[k]`` (0 idle, 1 *next*: start its following list, 2 *rewind*: re-read
    its current list) at the first step of every phase; lane ``p`` takes the entries of bank
    ``sel_rows[sel_row][p]`` and reads activation ``in_table[table_row][p] +
    phase_table[phase_base + phase] + tap``. After the last step every lane latches its
    (pooled) accumulator and the writer drains ``n_valid`` entries
    ``out_table[out_base : out_base + n_valid]``.
    """

    layer: int
    count: int
    phases: int
    phase_base: int
    table_row: int
    sel_row: int
    bank_cmd: tuple[int, ...]
    out_base: int
    n_valid: int
    layer_first: bool
    inz: int
    wz: int
    final: bool


@dataclass(frozen=True)
class LayerPlan:
    """One hardware layer (a weighted op with its fused ReLU and max-pool).

    ``in_offset``/``in_shape``/``in_pad`` and ``out_offset``/``out_shape``/``out_pad`` locate the
    input and output maps in the activation memory: a map ``(C, H, W)`` stored with a padding ring
    ``pad`` occupies ``C * (H + 2 pad) * (W + 2 pad)`` consecutive words, channel-major; element
    ``(c, y, x)`` is at ``offset + c*(H+2pad)*(W+2pad) + (y+pad)*(W+2pad) + x + pad``.
    ``out_shape`` is the stored shape *including* the ring (``out_map_shape`` without it).
    """

    name: str
    kind: str                      # "conv" or "linear"
    mode: str                      # SPATIAL or CHANNEL_PARALLEL
    in_offset: int
    in_shape: tuple[int, int, int]
    in_pad: int
    out_offset: int
    out_shape: tuple[int, int, int]
    out_map_shape: tuple[int, int, int]
    out_pad: int
    pool: tuple[int, int] | None   # (kernel, stride) of a fused max-pool
    relu: bool
    phases: int
    groups: int
    nnz_weights: int
    dense_weights: int
    nnz_macs: int
    dense_macs: int
    acc_bits: int
    requant: Requant
    lanes_per_stream: int          # lanes sharing one weight stream (P for spatial, 1 otherwise)


@dataclass(frozen=True)
class HardwarePlan:
    """The compiled accelerator. All contents are Python ints; widths are in bits.

    Tables (``hw`` packs their fields LSB first in the order listed):

    * ``banks``: per weight bank, its entries ``(w, gap, last)`` (``w`` unsigned ``wraw_bits``,
      ``gap`` unsigned ``gap_bits``, ``last`` 1 bit, stored only where ``bank_last[k]``):
      every non-zero weight once, encoded by :mod:`fpgac.compiler.passes.encode_weights`.
    * ``sel_rows``: rows of ``pes`` bank indices (``sel_bits``), lane -> bank of a group.
    * ``in_table``: rows of ``pes`` activation base addresses.
    * ``phase_table``: address offsets of pool phases.
    * ``out_table``: ``(lane, addr, bias)`` per written output, in drain order.
    * ``program``: the :class:`Group` list.
    """

    pes: int
    input_shape: tuple[int, int, int]
    input_pixels: int
    input_offset: int
    input_pad: int
    classes: int
    out_bits: int
    class_bits: int
    act_bits: int
    acc_bits: int
    w_bits: int
    wraw_bits: int
    gap_bits: int
    tap_bits: int
    sel_bits: int
    addr_bits: int
    bias_bits: int
    mem_depth: int
    final_offset: int
    layers: tuple[LayerPlan, ...]
    nnz_macs: int
    dense_macs: int
    rom_bits: int
    dense_rom_bits: int
    table_bits: int
    mem_init: tuple[int, ...]
    pixel_lut: tuple[int, ...]
    banks: tuple[tuple[tuple[int, int, int], ...], ...]
    bank_last: tuple[bool, ...]
    sel_rows: tuple[tuple[int, ...], ...]
    in_table: tuple[tuple[int, ...], ...]
    phase_table: tuple[int, ...]
    out_table: tuple[tuple[int, int, int], ...]
    program: tuple[Group, ...]
    requant: tuple[Requant, ...]
    name: str = "model"
    #: Read ports per weight-bank memory: 2 packs banks ``2i`` and ``2i + 1`` into one
    #: two-read-port ROM (one true dual-port block RAM on ECP5 / Xilinx), 1 keeps one each.
    bank_ports: int = 1
    #: Controller issue -> step at the lane inputs: bank read (1) + bank stage (1).
    rom_latency: int = 2
    #: Step at a lane input -> latched value (activation read, multiply, accumulate).
    lane_latency: int = 3
    #: Writer reads a latched value -> its requantized value is written.
    writer_latency: int = 3
    #: Last logit written -> ``result.valid``.
    result_latency: int = 1

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)


def plan_hardware(model: ir.Model, *, pes: int, pixel_lut, bank_ports: int = 1) -> HardwarePlan:
    """Compile ``model`` for an accelerator with ``pes`` lanes.

    ``pixel_lut`` is the input preprocessing table of the model, 256 integers
    (``docs/semantics.md`` §1: pass ``fpgac.sim.preprocess.pixel_table(model)``); it is an input
    so that the compiler does not depend on the golden side (``sim/``).

    ``bank_ports`` (1 or 2): see :attr:`HardwarePlan.bank_ports`; the contents and the
    schedule do not depend on it.

    Runs :func:`~fpgac.compiler.passes.fuse_activations.fuse_activations` then
    :func:`~fpgac.compiler.passes.lower_to_plan.lower_to_plan`.

    Raises
    ------
    fpgac.errors.UnsupportedError
        For a topology the accelerator cannot run (message says which op and why).
    fpgac.errors.FpgacError
        If ``pes`` is not a positive integer.
    """
    from fpgac.compiler.passes.fuse_activations import fuse_activations
    from fpgac.compiler.passes.lower_to_plan import lower_to_plan

    import dataclasses

    from fpgac.errors import FpgacError

    if bank_ports not in (1, 2) or isinstance(bank_ports, bool):
        raise FpgacError(f"bank_ports: expected 1 or 2, found {bank_ports!r}")
    plan = lower_to_plan(fuse_activations(model), pes=pes, pixel_lut=pixel_lut)
    return dataclasses.replace(plan, bank_ports=int(bank_ports)) if bank_ports != 1 else plan
