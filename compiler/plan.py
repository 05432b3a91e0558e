"""The hardware plan: everything :mod:`fpgac.hw` needs to build the accelerator, and nothing more.

:func:`plan_hardware` runs the compiler passes (:mod:`fpgac.compiler.passes`) on a model and
returns a frozen :class:`HardwarePlan`. hw/ reads only this object: ROM and table contents are
tuples of Python ints, every width is decided here (:mod:`fpgac.compiler.analysis.widths`).

The dataflow, storage and program format are described in ``docs/architecture.md``
("The accelerator"); the timing in :mod:`fpgac.compiler.analysis.cycles`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from fpgac.compiler import ir

__all__ = ["SPATIAL", "CHANNEL_PARALLEL", "MIN_POOLED_COUNT", "Requant", "Group", "LayerDesc",
           "desc_widths", "desc_rows", "LayerPlan", "HardwarePlan", "plan_hardware",
           "WEIGHT_STORES"]

#: Layer mode: all lanes share one weight stream (one bank; different output windows).
SPATIAL = "spatial"
#: Layer mode: lanes run different channels (several banks; the channel-parallel mapping).
CHANNEL_PARALLEL = "channel-parallel"

#: The writer's requantizer multiplies its value in two parts when it is wider than
#: ``REQUANT_SPLIT + 1`` bits: the low ``REQUANT_SPLIT`` bits (unsigned, an ECP5 MULT18X18D
#: input) and the rest (``hw.requant.Requantizer``; ``compiler.analysis.resources`` counts the
#: multipliers).
REQUANT_SPLIT = 17


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


#: Fewest steps per phase of a round of a layer with pool phases (``Group.count`` where
#: ``phases > 1``; the compiler pads shorter rounds, :mod:`fpgac.compiler.passes.emit_tables`,
#: and prices them so, :mod:`fpgac.compiler.passes.choose_mapping`): two phase ends of a group
#: are then at least two cycles apart, which the lane's two-stage pool needs (its compare in
#: one cycle reads the pool that the previous phase's end wrote in the cycle before:
#: :class:`fpgac.hw.lane.Lane`).
MIN_POOLED_COUNT = 2


@dataclass(frozen=True)
class Group:
    """One group of the schedule: a stretch of lockstep steps ending with a latch of all lanes.

    Not stored in the hardware: the controller generates the groups from the layer
    descriptors (:class:`LayerDesc`); this expanded list is the compiler's view of the same
    schedule, used by :mod:`fpgac.compiler.analysis.cycles` and the tests.

    The controller issues ``phases * count`` steps (``phase`` outer, ``e`` inner). Bank ``k``
    obeys ``bank_cmd[k]`` (0 idle, 1 *next*: start its following list, 2 *rewind*: re-read
    its current list) at the first step of every phase. Group ``g`` of round ``round`` of its
    layer: channel slot ``ci < nch`` runs the channel of rank ``rank + ci`` of
    ``chan_table``, window slot ``wi < nvw`` the window ``g * width + wi``; after the last
    step the writer drains the ``n_valid = nch * nvw`` results, ``ci`` outer, ``wi`` inner.
    """

    layer: int
    count: int
    phases: int
    bank_cmd: tuple[int, ...]
    n_valid: int
    layer_first: bool
    inz: int
    wz: int
    final: bool
    round: int = 0
    g: int = 0
    rank: int = 0
    nch: int = 1
    nvw: int = 1


@dataclass(frozen=True)
class LayerDesc:
    """Loop descriptor of one layer: the controller, the lanes' window counters and the writer
    generate every group, input base and output address of the layer from it
    (``docs/architecture.md``, "Control"). All fields are non-negative integers.

    Loops: ``rounds`` rounds (channel groups) x ``groups`` window groups x ``phases`` pool
    phases x ``count`` steps (``round_counts[round_base + round]``). A round has ``slots``
    channels (``last_slots`` in the last round), a window group ``width`` windows
    (``last_width`` in the last one); lane ``p < slots * width`` runs channel slot
    ``p // width`` and window slot ``p % width`` (bank ``sel_rows[sel_row][p]``).

    Window counters (input side, one per lane): window ``j`` (raster over ``windows`` windows
    of ``win_w`` per row) advances by ``width`` per group: ``px += step_px``, ``base +=
    step_base``, and on ``px >= win_w``: ``px -= win_w``, ``base += wrap_base``; a lane whose
    ``j >= windows`` keeps its last base. Writer side: the group's first window offset inside
    an output channel starts at ``out_first`` and advances by ``out_step`` per group
    (``out_wrap`` more on a row wrap); inside a group it steps by one window (``+1``, and
    ``+ out_wrap`` on a row wrap). The output address is ``chan_table[rank].base + offset``.

    *Rectangle groups* (``br > 0``; ``br = bc = 0`` is the raster order above): a window
    group is ``br x bc`` windows (rows ``r0 .. r0 + br - 1``, columns ``c0 .. c0 + bc -
    1``), ``width = br * bc`` window slots, window slot ``k`` is lane ``(u, v) = divmod(k,
    bc)`` at window ``(r0 + u, c0 + v)``, valid while ``r0 + u < windows // win_w`` and ``c0
    + v < win_w``. Groups go left to right (``c0 += bc``), then down (``r0 += br``, ``c0 =
    0``) after ``grp_w // bc`` groups (``grp_w = ceil(win_w / bc) * bc``). A lane's counter
    steps ``step_px = bc`` and ``step_base = bc * col``, and ``wrap_base = br * row - grp_w *
    col`` (modulo ``2**addr_bits``) more when the *group* wraps (``px``, the same for every
    lane, is the group's ``c0``); the writer drains the valid lanes only (``u`` outer, ``v``
    inner), offset ``group offset + u * Wop + v``. ``last_width``: the last group's valid
    windows.

    The group origin (the controller): ``px0 += step_px``, ``off0 += out_step``; when ``px0
    + step_px >= grp_w``: ``px0 += step_px - grp_w``, ``off0 += grp_wrap`` instead
    (raster: ``grp_w = win_w``, ``grp_wrap = out_step + out_wrap``).
    """

    rounds: int
    groups: int
    phases: int
    phase_base: int
    slots: int
    last_slots: int
    width: int
    last_width: int
    round_base: int
    rank_base: int
    sel_row: int
    wz: int
    inz: int
    final: bool
    windows: int
    win_w: int
    step_px: int
    step_base: int
    wrap_base: int
    out_first: int
    out_step: int
    out_wrap: int
    grp_w: int
    grp_wrap: int
    br: int
    bc: int
    #: One-window slices (build-order step 2): ``s`` lanes per channel slot, lane ``q * s + i``
    #: (``width = s``) accumulates slice ``i`` of channel slot ``q``'s list from its own bank
    #: ``q * s + i``; the adder tree sums the ``s`` lanes into lane ``q * s``, which the writer
    #: drains. 1: no slices.
    slices: int = 1


def desc_widths(descriptors) -> dict[str, int]:
    """Bits of each stored :class:`LayerDesc` field (unsigned, at least 1): the widest value
    over ``descriptors``. The controller stores the fields in this order, LSB first.
    ``slices`` is stored as the adder tree's ``log2 s`` (the tree's per-layer stage enables),
    0 bits when no layer is sliced (no tree)."""
    names = [f.name for f in dataclasses.fields(LayerDesc) if f.name != "slices"]
    out = {n: max(1, max(int(getattr(d, n)) for d in descriptors).bit_length())
           for n in names}
    smax = max(int(d.slices) for d in descriptors)
    out["slices"] = (smax.bit_length() - 1).bit_length() if smax > 1 else 0
    return out


def desc_rows(plan) -> list[dict]:
    """The controller's per-layer constants: the :class:`LayerDesc` fields it uses, with the
    bank mask of a full and of the last round and, per group class ``k = 2 * lastrow +
    lastcol`` (rectangles: the group is in the last row / column of groups; raster: both are
    "the last group"), the valid windows per channel ``nvw_k``, the valid columns ``nvc_k``
    (rectangles; 0 in raster order) and ``n_valid`` of a full / the last round (``nvf_k`` /
    ``nvl_k``); ``lrow``: the first group of the last row (raster: the last group), ``lastc``:
    the last column group's ``c0``, ``onecol`` / ``onerow``: one group per row / column."""
    rows = []
    for d in plan.descriptors:
        if d.br:
            gpr = d.grp_w // d.bc
            gr = d.groups // gpr
            lastc = (gpr - 1) * d.bc
            lr = d.windows // d.win_w - (gr - 1) * d.br
            nvr = (d.br, d.br, lr, lr)
            nvc = (d.bc, d.win_w - lastc, d.bc, d.win_w - lastc)
            nvw = tuple(r * c for r, c in zip(nvr, nvc))
            lrow, onecol, onerow = d.groups - gpr, int(gpr == 1), int(gr == 1)
        else:
            lastc, nvc = 0, (0, 0, 0, 0)
            nvw = (d.width, d.width, d.last_width, d.last_width)
            lrow, onecol = d.groups - 1, int(d.groups == 1)
            onerow = onecol
        row = {
            "groups_m1": d.groups - 1, "rounds_m1": d.rounds - 1, "phases_m1": d.phases - 1,
            "phase_base": d.phase_base, "slots": d.slots, "last_slots": d.last_slots,
            "rank_base": d.rank_base, "sel_row": d.sel_row,
            "wz": d.wz, "inz": d.inz, "final": int(d.final),
            "step_px": d.step_px, "out_first": d.out_first, "out_step": d.out_step,
            "grp_w": d.grp_w, "grp_wrap": d.grp_wrap, "lrow": lrow, "lastc": lastc,
            "onecol": onecol, "onerow": onerow,
            "mask_full": (1 << (d.slots * d.slices)) - 1,
            "mask_last": (1 << (d.last_slots * d.slices)) - 1,
        }
        for k in range(4):
            row.update({f"nvw_{k}": nvw[k], f"nvc_{k}": nvc[k], f"nvf_{k}": d.slots * nvw[k],
                        f"nvl_{k}": d.last_slots * nvw[k]})
        rows.append(row)
    return rows


@dataclass(frozen=True)
class LayerPlan:
    """One hardware layer (a weighted op with its fused ReLU and max-pool).

    ``in_offset``/``in_shape``/``in_pad`` and ``out_offset``/``out_shape``/``out_pad`` locate the
    input and output maps in the activation memory: a map ``(C, H, W)`` stored with a padding ring
    ``pad`` occupies ``C * (H + 2 pad) * (W + 2 pad)`` consecutive words, channel-major; element
    ``(c, y, x)`` is at ``offset + c*(H+2pad)*(W+2pad) + (y+pad)*(W+2pad) + x + pad``.
    ``out_shape`` is the stored shape *including* the ring (``out_map_shape`` without it).
    Regions are reused by liveness (:mod:`fpgac.compiler.passes.allocate_memory`), so a map
    may be overwritten by a later layer's output (``out_survives``).
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
    #: Rectangle window groups ``(br, bc)`` (:class:`LayerDesc`), ``(0, 0)``: raster order.
    rect: tuple[int, int] = (0, 0)
    #: One-window slices ``s`` (:class:`LayerDesc`; 1: none): the flattened input's taps cut
    #: into ``s`` contiguous ranges starting at ``slice_starts``.
    slices: int = 1
    slice_starts: tuple[int, ...] = (0,)
    #: The output map is intact at the end of an image (no later map reuses its words):
    #: the maps an activation-memory dump can show (``fpgac.sim.rtl.layer_maps``).
    out_survives: bool = True


@dataclass(frozen=True)
class HardwarePlan:
    """The compiled accelerator. All contents are Python ints; widths are in bits.

    Tables (``hw`` packs their fields LSB first in the order listed):

    * ``banks``: per weight bank, its entries ``(w, gap, last)`` (``w`` unsigned ``wraw_bits``,
      ``gap`` unsigned ``gap_bits``, ``last`` 1 bit, stored only where ``bank_last[k]``):
      every non-zero weight once, encoded by :mod:`fpgac.compiler.passes.encode_weights`.
    * ``sel_rows``: rows of ``pes`` bank indices (``sel_bits``), lane -> bank, one per
      distinct layer mapping (``LayerDesc.sel_row``).
    * ``phase_table``: address offsets of pool phases.
    * ``descriptors``: one :class:`LayerDesc` per layer (the loops of the controller).
    * ``round_counts``: steps per pass of every round, all layers in order.
    * ``chan_table``: ``(base, bias)`` per output channel in rank order (the order rounds
      take them), all layers in order: the channel's output address base and its bias.
    * ``lane_init``: per layer, per lane ``(base, px, j)``: the lane's window counter at the
      first group of a round.
    * ``program``: the expanded :class:`Group` list (the compiler's view; not stored).
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
    phase_table: tuple[int, ...]
    descriptors: tuple[LayerDesc, ...]
    round_counts: tuple[int, ...]
    chan_table: tuple[tuple[int, int], ...]
    lane_init: tuple[tuple[tuple[int, int, int], ...], ...]
    program: tuple[Group, ...]
    requant: tuple[Requant, ...]
    name: str = "model"
    #: Read ports per weight-bank memory: 2 packs banks ``2i`` and ``2i + 1`` into one
    #: two-read-port ROM (one true dual-port block RAM on ECP5 / Xilinx), 1 keeps one each.
    bank_ports: int = 1
    #: Controller issue -> step at the lane inputs: bank input register (1) + bank read (1) +
    #: ROM output register (1) + bank stage (1).
    rom_latency: int = 4
    #: Step at a lane input -> latched value: address parts register, address register,
    #: activation read, read register, ``x - inz``, multiply, accumulate, pool compare,
    #: pool/latch (one cycle each).
    lane_latency: int = 9
    #: Writer reads a latched value -> its requantized value is written: read registers (the
    #: lane multiplexer's two halves, the channel table entry: 2) + sum register (1) +
    #: requantizer (constants, product, rounding, shift, zero point, clamp: 6).
    writer_latency: int = 9
    #: Last logit written -> ``result.valid``: the controller's registered ``idle`` -> ``done``
    #: (1), the result unit's ``valid`` register (1).
    result_latency: int = 2
    #: The slice adder tree (lanes' latched values -> the writer's lane multiplexer):
    #: ``log2`` of the largest ``LayerDesc.slices``, one registered stage each; 0 when no layer
    #: is sliced (no tree).
    tree_latency: int = 0
    #: The previous layer's last write -> the first issue cycle of a layer's first group (the
    #: controller's registered ``idle`` input and registered issue decision).
    barrier_latency: int = 2
    #: Fewest cycles from a group's last step to the next group's last step (the controller
    #: forms the group record after ``nxt`` into a register, one cycle after ``nxt`` moves):
    #: the hazard rule's wait is ``max(n_valid, group_latency)``.
    group_latency: int = 2
    #: A write presented on the activation memory's port (the writer's or the loader's) -> the
    #: cycle it is applied to the copies (the port's register, replicated per group of
    #: ``fanout_lanes`` copies). No cycle count depends on it: the next layer's first read is
    #: presented ``barrier_latency + rom_latency + 2`` cycles after the previous layer's
    #: last write, so it must be at most ``barrier_latency + rom_latency + 1``
    #: (``cycles.schedule`` checks it).
    write_latency: int = 1
    #: Activation regions reused by liveness (``False``: the debug layout, one region per
    #: map, every layer's output map kept to the end of an image).
    reuse_activations: bool = True
    #: Pad cells of the input map the pixel loader writes (value ``input_zero``, one per
    #: cycle) before it accepts an image's pixels: 0 unless another map reuses the input's
    #: region (``docs/architecture.md``, "Activations").
    input_fill: int = 0
    #: The first pad cell the loader writes (an offset in the input map): the fill covers the
    #: ``input_fill`` pad cells from there in ascending address order, the run that other
    #: maps can overwrite (``allocate_memory.fill_span``); the other pad cells keep their
    #: ``mem_init`` value.
    input_fill_first: int = 0
    #: The first layer's input zero point (the value of the input map's pad cells).
    input_zero: int = 0
    #: Each lane's activation copy as a block-RAM body of ``act_body`` words (a power of two,
    #: ``2**(addr_bits - 1)``) and a tail of ``act_tail`` words in distributed RAM; 0: one
    #: memory of ``mem_depth`` words (``allocate_memory.split_depth``).
    act_body: int = 0
    #: Lanes per replica of a step register broadcast to the lanes (the window counters' step
    #: row, the step fields at the lane inputs): ``ceil(pes / fanout_lanes)`` copies
    #: (``fpgac.hw.fanout``; ECP5 routing at large ``pes``). No latency depends on it.
    fanout_lanes: int = 8
    #: Where the weight banks live (``docs/architecture.md``, "Storage"): ``"rom"``, ROMs
    #: initialised by the bitstream; ``"loaded"``, RAMs (iCE40 SPRAM) that the board harness
    #: writes from the weight image (:func:`fpgac.compiler.passes.weight_image.weight_image`)
    #: before the first image, ``weight_entry_bytes`` bytes per entry.
    weight_store: str = "rom"
    #: Load overlapped with compute (``docs/architecture.md``, "Load overlapped with
    #: compute"): the input map has an exclusive region (its ring from ``mem_init``, no
    #: ``input_fill``) and the loader takes the next image's pixels while the current image
    #: computes, from the cycle after layer 1's first issue, writing in the cycles the writer
    #: does not write; the last pixel (the start) waits until the result is taken.
    #: ``cycles.predict(plan).interval_cycles`` is the start-to-start time.
    overlap: bool = False
    #: Bytes per bank entry in the weight image (``ceil((wraw_bits + gap_bits + 1) / 8)``;
    #: 0 with ``weight_store == "rom"``).
    weight_entry_bytes: int = 0

    @property
    def weight_entries(self) -> int:
        """Entries of all weight banks (the words of the weight image)."""
        return sum(len(bank) for bank in self.banks)

    @property
    def weight_image_bytes(self) -> int:
        """Bytes of the weight image (0 with the ROM store)."""
        return self.weight_entries * int(self.weight_entry_bytes)

    @property
    def act_tail(self) -> int:
        """Words of the tail of a split activation copy (0 when not split)."""
        return int(self.mem_depth) - int(self.act_body) if self.act_body else 0

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)


#: The weight stores :func:`plan_hardware` accepts (:attr:`HardwarePlan.weight_store`).
WEIGHT_STORES = ("rom", "loaded")


def plan_hardware(model: ir.Model, *, pes: int, pixel_lut, bank_ports: int = 1,
                  reuse_activations: bool = True, weight_store: str = "rom",
                  overlap: bool = False, slices: bool = True) -> HardwarePlan:
    """Compile ``model`` for an accelerator with ``pes`` lanes.

    ``pixel_lut`` is the input preprocessing table of the model, 256 integers
    (``docs/semantics.md`` §1: pass ``fpgac.sim.preprocess.pixel_table(model)``); it is an input
    so that the compiler does not depend on the golden side (``sim/``).

    ``bank_ports`` (1 or 2): see :attr:`HardwarePlan.bank_ports`; the contents and the
    schedule do not depend on it.

    ``reuse_activations``: see :attr:`HardwarePlan.reuse_activations`; ``False`` gives the
    debug plan (every layer's output map in an activation-memory dump; same schedule, a
    deeper memory).

    ``weight_store``: see :attr:`HardwarePlan.weight_store` (same contents and schedule;
    ``"loaded"`` needs ``bank_ports == 1``: one single-port RAM per bank).

    ``overlap``: see :attr:`HardwarePlan.overlap` (same contents and schedule, the input map
    in an exclusive region; needs at least two weighted layers: the input is free for the next
    image from layer 1's first issue).

    ``slices``: one-window layers may be cut into slices summed by an adder tree
    (``docs/architecture.md``, build-order step 2) where that takes fewer cycles; ``False``:
    never (no tree: fewer LUTs and flip-flops; the board plan's fallback when the sliced plan
    does not fit).

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
    if weight_store not in WEIGHT_STORES:
        raise FpgacError(f"weight_store: expected one of {', '.join(WEIGHT_STORES)}, found "
                         f"{weight_store!r}")
    if weight_store == "loaded" and bank_ports != 1:
        raise FpgacError("weight_store: expected 'rom' with bank_ports 2 (a loaded bank is a "
                         "single-port RAM), found 'loaded'")
    if not isinstance(overlap, bool):
        raise FpgacError(f"overlap: expected True or False, found {overlap!r}")
    plan = lower_to_plan(fuse_activations(model), pes=pes, pixel_lut=pixel_lut,
                         reuse_activations=bool(reuse_activations), overlap=overlap,
                         slices=bool(slices))
    if overlap and len(plan.layers) < 2:
        raise FpgacError(f"overlap: expected a model with at least two weighted layers (the "
                         f"input map is free for the next image from layer 1's first issue), "
                         f"found {len(plan.layers)}; build it with overlap=False")
    if bank_ports != 1:
        plan = dataclasses.replace(plan, bank_ports=int(bank_ports))
    if weight_store == "loaded":
        plan = dataclasses.replace(plan, weight_store="loaded", weight_entry_bytes=-(
            -(int(plan.wraw_bits) + int(plan.gap_bits) + 1) // 8))
    return plan
