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

__all__ = ["SPATIAL", "LANES", "Requant", "Group", "LayerPlan", "HardwarePlan", "plan_hardware"]

#: Layer mode: lanes share one weight stream from the shared ROM (different output windows).
SPATIAL = "spatial"
#: Layer mode: every lane has its own weight stream from the lane ROM (output-parallel).
LANES = "output"


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

    The controller issues ``phases * count`` steps; step ``(phase, e)`` reads weight ROM row
    ``rom_start + e`` (shared ROM if ``mode == SPATIAL`` else lane ROM) and, in lane ``p``,
    activation ``in_table[table_row][p] + phase_table[phase_base + phase] + tap``. After the
    last step every lane latches its (pooled) accumulator and the writer drains ``n_valid``
    entries ``out_table[out_base : out_base + n_valid]``.
    """

    layer: int
    mode: str
    rom_start: int
    count: int
    phases: int
    phase_base: int
    table_row: int
    out_base: int
    n_valid: int
    layer_first: bool
    inz: int
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
    mode: str                      # SPATIAL or LANES
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

    * ``shared_rom``: ``(d, tap)`` with ``d = w - wz`` (signed ``w_bits``) and ``tap`` (unsigned
      ``tap_bits``): one entry per non-zero weight of spatial layers.
    * ``lane_rom``: rows of ``pes`` ``(d, tap)`` entries (output-parallel layers).
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
    tap_bits: int
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
    shared_rom: tuple[tuple[int, int], ...]
    lane_rom: tuple[tuple[tuple[int, int], ...], ...]
    in_table: tuple[tuple[int, ...], ...]
    phase_table: tuple[int, ...]
    out_table: tuple[tuple[int, int, int], ...]
    program: tuple[Group, ...]
    requant: tuple[Requant, ...]
    name: str = "model"

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)


def plan_hardware(model: ir.Model, *, pes: int) -> HardwarePlan:
    """Compile ``model`` for an accelerator with ``pes`` lanes.

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

    return lower_to_plan(fuse_activations(model), pes=pes)
