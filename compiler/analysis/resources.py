"""Resource estimate of core + board harness from the hardware plan, and the choice of P.

Reads the :class:`fpgac.compiler.plan.HardwarePlan` only (no synthesis). A *target* is any
object with ``name``, ``part``, ``flow`` (``"vivado"``, ``"ice40"`` or ``"ecp5"``) and
``capacity`` (``luts``, ``dsps``, ``bram_blocks``): a :class:`fpgac.boards.platforms.Board`.

* :func:`estimate`: multipliers, LUTs, memory bits and block RAMs of one plan;
* :func:`check_fit`: raise :class:`FpgacError` naming the first resource that does not fit;
* :func:`choose_pes`: the largest P (``--pes auto``) whose estimate fits;
* :func:`plan_for_board`: the plan a build uses (weight banks paired where it saves blocks;
  the loaded weight store in SPRAM where the ROMs do not fit an iCE40's block RAM);
* :func:`memory_report`: bits and blocks per memory class (``report.json`` ``memory``).
"""

from __future__ import annotations

from dataclasses import dataclass

from fpgac.errors import FpgacError

__all__ = ["Estimate", "estimate", "check_fit", "choose_pes", "fits", "plan_for_board",
           "memory_report", "MAX_AUTO_PES", "FILL_LIMIT", "BRAM_FILL_LIMIT",
           "LOGIC_ROM_BITS_PER_BLOCK", "BANK_PORTS", "SPRAM_SHAPE", "LOADER_LUTS",
           "spram_blocks", "weight_store_report", "OVERLAP_CHOICES", "PACKED_LUTS_PER_LUT",
           "LUTRAM_LUTS_PER_16_BITS", "BLOCK_UNIT", "CAPACITY_UNIT", "BLOCKS_PER_SITE"]

#: Read ports per weight-bank ROM by flow: ECP5 DP16KD and Xilinx RAMB18/36 read two
#: addresses per cycle, so two banks can share one block; iCE40 EBRs read one.
BANK_PORTS = {"ice40": 1, "ecp5": 2, "vivado": 2}
#: ``--pes auto`` tries P = 1 .. MAX_AUTO_PES.
MAX_AUTO_PES = 64
#: Share of a part's LUTs the pre-check allows (routing needs room).
FILL_LIMIT = 0.85
#: Share of the block RAMs the pre-check allows, per flow. nextpnr-ecp5 did not finish routing
#: LeNet-5 at P = 64 on the ULX3S (205 of 208 DP16KD) in 35 minutes; at P = 48 (155, 75 %) it
#: routed in 11 minutes (docs/boards.md). Vivado is not run here, so its limit is the part.
BRAM_FILL_LIMIT = {"ecp5": 0.85, "ice40": 0.85, "vivado": 1.0}


@dataclass(frozen=True)
class Estimate:
    """Pre-synthesis resource estimate of core + harness (see :func:`estimate`)."""

    dsps: int
    luts: int
    memory_bits: int
    bram_blocks: int
    #: Block RAMs per memory class (:data:`fpgac.compiler.analysis.memory.CLASSES`).
    blocks_by_class: dict | None = None
    #: Single-port RAM blocks (iCE40 SPRAM) of the loaded weight store (not in
    #: ``bram_blocks``).
    spram_blocks: int = 0
    #: Xilinx (flow ``"vivado"``) only: the RAMB18 the memories take. ``bram_blocks`` is then
    #: in the capacity's unit, RAMB36 equivalents ``ceil(ramb18 / 2)`` (two RAMB18 share one
    #: RAMB36 site), and ``blocks_by_class`` counts RAMB18 (:data:`BLOCK_UNIT`).
    ramb18: int = 0


#: Block RAM aspect ratios (width, depth) per flow, and hard multiplier operand widths. The
#: Xilinx unit is the RAMB18 (half a RAMB36E1: 18 Kbit, 36 x 512 in simple dual-port mode):
#: Vivado and Yosys ``synth_xilinx`` take a RAMB18E1 where a memory fits one, and a RAMB36E1
#: (two RAMB18 of these shapes, e.g. 9 x 4096) is never fewer than the RAMB18 it replaces.
_BRAM_SHAPES = {
    "ice40": [(2, 2048), (4, 1024), (8, 512), (16, 256)],
    "ecp5": [(1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)],
    "vivado": [(1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)],
}
#: The block :func:`_blocks` and ``Estimate.blocks_by_class`` count, per flow, and the unit of
#: the board's capacity (``Capacity.bram_blocks``) and ``Estimate.bram_blocks``.
BLOCK_UNIT = {"ice40": "EBR", "ecp5": "DP16KD", "vivado": "RAMB18"}
CAPACITY_UNIT = {"ice40": "EBR", "ecp5": "DP16KD", "vivado": "RAMB36"}
#: Blocks of :data:`BLOCK_UNIT` per block of :data:`CAPACITY_UNIT`.
BLOCKS_PER_SITE = {"ice40": 1, "ecp5": 1, "vivado": 2}
_MULT_WIDTH = {"ice40": (16, 16), "ecp5": (18, 18), "vivado": (25, 18)}


def _blocks(width: int, depth: int, flow: str) -> int:
    """Fewest block RAMs (:data:`BLOCK_UNIT`: RAMB18 on Xilinx) holding a ``depth x width``
    memory (best aspect ratio)."""
    if width <= 0 or depth <= 0:
        return 0
    return min(-(-width // w) * -(-depth // d) for w, d in _BRAM_SHAPES[flow])


def _mults(a: int, b: int, flow: str) -> int:
    wa, wb = _MULT_WIDTH[flow]
    return min(-(-a // wa) * -(-b // wb), -(-a // wb) * -(-b // wa))


#: A ROM goes to logic when its bits are fewer than this many per block RAM it would take
#: (Yosys memory_libmap's cost trade-off; iCE40 value fitted to Yosys 0.70's choices). The
#: Xilinx value is per RAMB18 (129 x 64), fitted on ``synth_xilinx`` of the Arty LeNet-5
#: P = 16 builds: one-port 14-bit bank ROMs of 8,456 bits and more took a RAMB18 each, of
#: 5,460 bits and less logic; two-port (paired) ones of 8,218 and 8,526 bits logic, of 8,848
#: and more a RAMB18 each; the 2,048-bit pixel table and the 6,136-bit channel table logic.
LOGIC_ROM_BITS_PER_BLOCK = {"ice40": 1024, "ecp5": 1536, "vivado": 8256}


def _is_logic_rom(width: int, depth: int, flow: str) -> bool:
    """A ``depth x width`` ROM becomes logic on ``flow`` (:data:`LOGIC_ROM_BITS_PER_BLOCK`)."""
    return width * depth < _blocks(width, depth, flow) * LOGIC_ROM_BITS_PER_BLOCK[flow]


def _varying_bits(rows, widths) -> int:
    """Bit columns of a ROM that are not constant over its ``rows`` (tuples of field values,
    each field two's complement in its width): Yosys drops the constant ones."""
    rows = list(rows)
    if not rows:
        return 0
    first = rows[0]
    diff = [0] * len(widths)
    for row in rows:
        for i, (v, v0) in enumerate(zip(row, first)):
            diff[i] |= v ^ v0
    return sum(bin(d & ((1 << w) - 1)).count("1") for d, w in zip(diff, widths))


#: (width, depth) of one iCE40 SPRAM (SB_SPRAM256KA).
SPRAM_SHAPE = (16, 16384)
#: Bits of one SPRAM block.
SPRAM_BITS = SPRAM_SHAPE[0] * SPRAM_SHAPE[1]
#: Logic of the loaded weight store: the core's loader (byte and word counters, the entry
#: assembly register, the bank select and write address) and the harness's command parser,
#: CRC-16 and status frame (``boards/harness.py``), in LUT4s: an allowance, not a fit; the
#: whole estimate of LeNet-5 P = 4 on the iCEBreaker (2,972 LUTs) was 10 % above Yosys's
#: 2,690 SB_LUT4 (docs/boards.md, "Weight upload").
LOADER_LUTS = 250


def spram_blocks(plan) -> int:
    """SPRAM blocks of ``plan``'s loaded weight banks (0 for the ROM store): per bank
    ``ceil(width / 16) * ceil(depth / 16384)`` (each bank has its own address)."""
    from fpgac.compiler.analysis.memory import memories

    w, d = SPRAM_SHAPE
    return sum(-(-m.width // w) * -(-m.depth // d) for m in memories(plan) if m.loaded)


def _memories(plan, flow: str = "ecp5") -> list[tuple[int, int, int, bool, str, bool]]:
    """``(copies, width, depth, is_rom, class, lutram)`` of the core's memories
    (:func:`fpgac.compiler.analysis.memory.memories`); ``lutram``: distributed RAM on this
    flow (:data:`LUTRAM_FLOWS`).

    Activation copies are RAMs (full ``act_bits`` width); ROMs and tables count only their
    non-constant bit columns (synthesis drops constant ones). Memories that are always logic
    (the comb-read tables, :func:`_control_luts`) are left out. ``class`` is the memory's
    largest class; weight banks count as ``weights`` (their gap/last/filler bits cannot be
    split off a block).
    A two-read-port ROM is one true dual-port block on ECP5 / Xilinx, two copies on the iCE40
    (its block RAMs have one read port); as logic, two copies on Xilinx too (one multiplexer
    tree per read port: ``synth_xilinx`` of the Arty LeNet-5 P = 39 build, 18 paired bank ROMs
    as logic, measured 23,286 LUT6 where the estimate with one copy said 18,363; ECP5's
    packing factor was fitted with one copy and is left so).
    """
    from fpgac.compiler.analysis.memory import memories

    mems = []
    for mem in memories(plan):
        if mem.logic or mem.loaded:        # loaded banks: SPRAM (:func:`spram_blocks`)
            continue
        cls = "weights" if mem.name.startswith("bank") else max(mem.split, key=mem.split.get)
        if mem.rom:
            width = _varying_bits(mem.rows, mem.fields)
            if width:
                copies = mem.ports if flow == "ice40" or (
                    flow == "vivado" and _is_logic_rom(width, mem.depth, flow)) else 1
                mems.append((copies, width, mem.depth, True, cls, False))
        else:
            mems.append((mem.copies, mem.width, mem.depth, False, cls,
                         mem.lutram and flow in LUTRAM_FLOWS))
    return mems


#: Flows whose parts have distributed (LUT) RAM, and its cost per flow: LUTs per ``16 x 1``
#: bits of a one-write, one-read RAM with a synchronous read, including the read multiplexer
#: and the body/tail select. Both fitted on ``hw.io.ActivationMemory`` with 2 copies of
#: 2,200 x 8 (body 2,048 + tail 152; 2026-11-30). ECP5 (Yosys ``synth_ecp5``): 2 DP16KD, 40
#: TRELLIS_DPR16X4, 206 LUT4 where one memory of 2,200 took 4 DP16KD and 48 LUT4; a DPR16X4
#: (16 x 4) counted as its 2 LUT4: 119 LUT4 per copy for 76 x 16 bits. Xilinx (Yosys
#: ``synth_xilinx -family xc7``): 2 RAMB18E1, 18 RAM64M (64 x 3, 4 LUT6 each) and 36 LUT
#: where one memory took 2 RAMB36E1: 54 LUT6 per copy for 76 x 16 bits.
LUTRAM_FLOWS = ("ecp5", "vivado")
LUTRAM_LUTS_PER_16_BITS = {"ecp5": 1.6, "vivado": 0.72}


#: Packed logic cells per estimated LUT, per flow (others: 1). nextpnr-ecp5's limit is
#: TRELLIS_COMB, the slice's LUT positions: logic LUT4s, two per carry cell (CCU2C), LUT-RAM,
#: and the pass-through LUTs it adds for flip-flops it cannot pair with their LUT. Fitted on
#: the routed ULX3S LeNet-5 builds of the current pipeline (2026-11-30, docs/boards.md): P = 16
#: (`--clock-mhz 100`, split activation copies) 11,049 TRELLIS_COMB for an estimate of 9,034
#: (1.223), P = 64 with `--overlap on` 37,648 for 30,862 (1.220; 34,422 LUT4s before packing:
#: the estimate alone is 10 % below synthesis there, 2 % at P = 16 and 32). nextpnr-ice40's
#: limit is ICESTORM_LC, a LUT4 with its flip-flop: a flip-flop it cannot pair takes a cell
#: of its own. Fitted on the routed iCEBreaker builds of the current pipeline: the fixture
#: ``tiny_int.yml`` at P = 1 (2026-11-30, ``fpgac build tests/fixtures/models/tiny_int.yml
#: --board icebreaker --pes 1``) 2,450 LCs for an estimate of 1,642 (1.49), LeNet-5 with the
#: loaded weight store at P = 4 (main bc0b943) 4,471 for 2,972 (1.50) and at P = 1 2,824 for
#: 2,040 (1.38).
PACKED_LUTS_PER_LUT = {"ecp5": 1.22, "ice40": 1.49}

#: LUT model (see :func:`estimate`).
LUTS_BASE = 1200
LUTS_PER_ACC_BIT = 11
ROM_DEPTH_PER_LUT = 8
#: ``ROM_DEPTH_PER_LUT`` of a ROM that becomes logic, per flow where it differs: a LUT6 holds
#: 64 entries of one bit, and the slice's MUXF7 / MUXF8 and more LUTs join them. Xilinx:
#: fitted on ``synth_xilinx`` of the Arty LeNet-5 P = 16 builds (``docs/boards.md``): one-port
#: banks, 13 of 16 as logic, 10,524 LUT6 (logic + LUT-RAM) for an estimate of 10,213;
#: paired banks, 2 of 8 as logic, 8,340 for 8,477 (with 48 entries per LUT: 9,489 and 8,299).
LOGIC_ROM_DEPTH_PER_LUT = {"vivado": 32}


def _bank_luts(plan) -> int:
    """Logic of the weight banks and the lanes' bank multiplexers: half of, per bank, its
    pointer, list-start and offset adders and ``w - wz`` (``3 * pointer bits + 2 * tap_bits +
    2 * w_bits``) and, per lane, ``(w_bits + tap_bits) * (banks it can read - 1)`` (4-input
    LUTs take two bits of a 2:1 mux). The factor is fitted to the ULX3S LeNet-5 P = 54
    synthesis (24,360 TRELLIS_COMB, 2026-11-30; the estimate without this term: 20,337)."""
    tap, w = int(plan.tap_bits), int(plan.w_bits)
    luts = sum(3 * max(1, len(bank).bit_length()) + 2 * tap + 2 * w for bank in plan.banks)
    for p in range(int(plan.pes)):
        options = len({row[p] for row in plan.sel_rows})
        luts += (w + tap) * (options - 1)
    return luts // 2


def _control_luts(plan) -> int:
    """Logic of the descriptor-driven control: the always-logic tables (descriptors, steps per
    round, pool phases, the lanes' initial window counters; ``varying bits * depth / 8``) and,
    per lane, its window counter (base, column and window registers with their adders and
    reload multiplexers: ``2 * (addr + column + window bits)``)."""
    from fpgac.compiler.analysis.memory import memories

    luts = 0
    for mem in memories(plan):
        if mem.logic:
            luts += _varying_bits(mem.rows, mem.fields) * -(-mem.depth // ROM_DEPTH_PER_LUT)
    init = next(m for m in memories(plan) if m.name == "lane_init")
    per_lane = sum(init.fields[:3])
    return luts + 2 * per_lane * int(plan.pes)


def _requant_mults(plan, flow: str) -> int:
    """Hard multipliers of the writer's requantizer. Its value (``max(acc, bias) + 1`` bits)
    is multiplied in two parts when wider than ``compiler.plan.REQUANT_SPLIT + 1`` bits (the
    low ``REQUANT_SPLIT`` bits and the rest, each a multiplier into a register). On Xilinx
    (25 x 18) each part takes a DSP48E1 (Yosys ``synth_xilinx`` of the tiny fixture at P = 2:
    4 DSPs with the split, 3 before); on ECP5 and iCE40 the whole product needed as many as
    the two parts (routed ULX3S LeNet-5 P = 16: 18 MULT18X18D before and after; iCEBreaker
    fixture P = 1: 3 SB_MAC16), so the estimate there stays that of the whole product."""
    from fpgac.compiler.plan import REQUANT_SPLIT

    whole = _mults(int(plan.acc_bits), int(plan.act_bits) + 1, flow)
    value = max(int(plan.acc_bits), int(plan.bias_bits)) + 1
    if flow != "vivado" or value <= REQUANT_SPLIT + 1:
        return whole
    return (_mults(REQUANT_SPLIT, int(plan.act_bits) + 1, flow)
            + _mults(value - REQUANT_SPLIT, int(plan.act_bits) + 1, flow))


def _tree_luts(plan) -> int:
    """The slice adder tree (``hw/tree.py``): stage ``k`` adds ``P / 2^(k+1)`` pairs of
    ``acc_bits`` values (one LUT per bit: the sum with the gated operand); its pass-through
    registers are flip-flops. 0 without sliced layers. Not fitted on a synthesis yet."""
    return sum((int(plan.pes) // (2 << k)) * int(plan.acc_bits)
               for k in range(int(plan.tree_latency)))


def estimate(plan, board, divisor: int | None = None) -> Estimate:
    """Resource estimate of core + harness from the plan alone (no synthesis).

    ``divisor``: the harness's UART clocks per bit, when the build's clock and baud are known
    (the build's report); ``None`` (the fit check and ``--pes auto``, made before the clock is
    chosen) sizes the receive queue for the fastest UART the harness accepts, the largest.

    Contract: one hard multiplier array per lane (``(act_bits+1) x (w_bits+1)`` signed) plus one
    for the requantizer (``acc_bits x (act_bits+1)``), split into the part's multiplier size;
    LUTs: :data:`LUTS_BASE` for control, UART and harness, :data:`LUTS_PER_ACC_BIT` ``*
    acc_bits`` per lane (accumulator, pool compare, muxes), the weight banks' decoders and
    the lanes' bank multiplexers (:func:`_bank_luts`), the control logic and the lanes'
    window counters (:func:`_control_luts`), the slice adder tree's adders
    (:func:`_tree_luts`), and ``width * depth / 8`` for each
    ROM small enough to become logic (:data:`LOGIC_ROM_BITS_PER_BLOCK`), all times the flow's
    packing factor (:data:`PACKED_LUTS_PER_LUT`: what place and route counts); memories
    (:func:`_memories`: activation copies, pixel LUT, weight ROMs, tables, program), each
    rounded up to whole blocks of the part at its best aspect ratio (Xilinx: RAMB18, two to a
    RAMB36: ``bram_blocks = ceil(ramb18 / 2)``), and the harness's receive
    FIFO (for ``divisor``, else the fastest UART: logic when small). On the iCE40 with the
    fixture ``tests/fixtures/models/tiny_int.yml`` at P = 1 this gave 3 DSPs, 15 RAM blocks
    and ~1580 LUTs where nextpnr placed 3, 15 and 1484 (before the FIFO, which then took one
    more block: placed 16).
    """
    flow = board.flow
    pes = int(plan.pes)
    lane = _mults(int(plan.act_bits) + 1, int(plan.w_bits) + 1, flow)
    requant = _requant_mults(plan, flow)
    from fpgac.compiler.analysis.memory import CLASSES

    bits = blocks = rom_luts = 0
    by_class = dict.fromkeys(CLASSES, 0)
    for copies, width, depth, is_rom, cls, lutram in _memories(plan, flow):
        if lutram:
            rom_luts += int(copies * width * -(-depth // 16) * LUTRAM_LUTS_PER_16_BITS[flow])
            continue
        n = _blocks(width, depth, flow)
        if is_rom and _is_logic_rom(width, depth, flow):
            rom_luts += copies * width * -(-depth // LOGIC_ROM_DEPTH_PER_LUT.get(
                flow, ROM_DEPTH_PER_LUT))
        else:
            bits += copies * width * depth
            blocks += copies * n
            by_class[cls] += copies * n
    # the harness's receive queue (boards/harness.py plan_rx_fifo_depth) at ``divisor`` or the
    # fastest UART the harness accepts (MIN_DIVISOR clocks per bit), blocked for the compute
    # cycles and the loader's input ring fill: logic when small, else block RAM
    from fpgac.boards.harness import plan_rx_fifo_depth
    from fpgac.boards.uart import MIN_DIVISOR

    fifo = plan_rx_fifo_depth(plan, MIN_DIVISOR if divisor is None else divisor)
    n = _blocks(8, fifo, flow)
    if 8 * fifo < n * LOGIC_ROM_BITS_PER_BLOCK[flow]:
        rom_luts += 8 * -(-fifo // ROM_DEPTH_PER_LUT)
    else:
        bits += 8 * fifo
        blocks += n
        by_class["other"] += n
    luts = (LUTS_BASE + LUTS_PER_ACC_BIT * int(plan.acc_bits) * pes + rom_luts + _bank_luts(plan)
            + _control_luts(plan) + _tree_luts(plan))
    spram = 0
    if plan.weight_store == "loaded":
        spram = spram_blocks(plan)
        luts += LOADER_LUTS
    luts = int(round(luts * PACKED_LUTS_PER_LUT.get(flow, 1.0)))
    site = BLOCKS_PER_SITE[flow]
    return Estimate(dsps=pes * lane + requant, luts=luts, memory_bits=bits,
                    bram_blocks=-(-blocks // site), blocks_by_class=by_class,
                    spram_blocks=spram, ramb18=blocks if flow == "vivado" else 0)


def _misfits(est: Estimate, board) -> list[tuple[str, int, int]]:
    cap = board.capacity
    out = []
    if est.dsps > cap.dsps:
        out.append(("DSP", est.dsps, cap.dsps))
    bram_cap = int(BRAM_FILL_LIMIT.get(board.flow, 1.0) * cap.bram_blocks)
    if est.bram_blocks > bram_cap:
        out.append(("block RAM", est.bram_blocks, bram_cap))
    if est.spram_blocks > cap.spram_bits // SPRAM_BITS:
        out.append(("SPRAM", est.spram_blocks, cap.spram_bits // SPRAM_BITS))
    if est.luts > FILL_LIMIT * cap.luts:
        out.append(("LUT", est.luts, int(FILL_LIMIT * cap.luts)))
    return out


def fits(plan, board) -> bool:
    """Whether ``plan``'s estimate fits ``board`` (the test of :func:`choose_pes`)."""
    return not _misfits(estimate(plan, board), board)


def choose_pes(model, board, plan_fn, max_pes: int = MAX_AUTO_PES) -> int:
    """Largest P in ``1..max_pes`` whose estimate fits ``board`` (FpgacError if none).

    The memory estimate is not monotone in P (ROM widths grow with P and cross block-size and
    logic/block-RAM boundaries), so P is searched downwards from the bound the multipliers and
    the per-lane LUTs allow (both grow linearly with P; widths do not depend on P) to the first
    P that fits.
    """
    first = plan_fn(model, 1)
    est1, cap = estimate(first, board), board.capacity
    if _misfits(est1, board):
        check_fit(first, board)
    per_lane_dsp = max(1, est1.dsps - _mults(int(first.acc_bits), int(first.act_bits) + 1,
                                             board.flow))
    per_lane_lut = LUTS_PER_ACC_BIT * int(first.acc_bits)
    top = min(int(max_pes), 1 + (cap.dsps - est1.dsps) // per_lane_dsp,
              1 + int(FILL_LIMIT * cap.luts - est1.luts) // per_lane_lut)
    for pes in range(max(top, 1), 1, -1):
        if fits(plan_fn(model, pes), board):
            return pes
    return 1


def check_fit(plan, board, plan_fn=None, model=None) -> Estimate:
    """Raise :class:`FpgacError` naming the first resource that does not fit."""
    est = estimate(plan, board)
    bad = _misfits(est, board)
    if bad:
        name, need, have = bad[0]
        hint = ("a smaller --pes" if plan.pes > 1 else
                "a smaller model (--pes 1 is the minimum: fewer non-zero weights or bits)")
        if plan_fn is not None and model is not None and plan.pes > 1:
            smaller = [p for p in range(int(plan.pes) - 1, 0, -1)
                       if fits(plan_fn(model, p), board)]
            hint = f"--pes {smaller[0]} (or --pes auto)" if smaller else "a smaller model"
        raise FpgacError(
            f"--board {board.name}: {name}: expected at most {have} on {board.part}, found "
            f"{need} needed for --pes {plan.pes}; try {hint}")
    return est


#: ``plan_for_board``'s ``overlap`` choices.
OVERLAP_CHOICES = ("off", "on", "auto")


def plan_for_board(model, pes: int, board, pixel_lut, weight_store: str = "auto",
                   overlap: str = "off"):
    """The plan a build uses: weight banks paired in two-read-port ROMs where the flow's block
    RAMs read two addresses (:data:`BANK_PORTS`) and that takes fewer blocks by
    :func:`estimate` (pairs are deeper and cross the logic/block-RAM line sooner), else one
    ROM per bank; split activation copies (``act_body``) only where they take fewer blocks.
    ``pixel_lut``: the model's preprocessing table (as for ``plan_hardware``).

    ``weight_store`` (``fpgac build --weight-store``): ``"auto"`` keeps the ROM store unless
    the board has SPRAM (:attr:`Capacity.spram_bits <fpgac.boards.platforms.Capacity>`), the
    ROM plan's block RAMs do not fit (:data:`BRAM_FILL_LIMIT`) and the loaded store's do;
    ``"rom"`` / ``"loaded"`` force it (``"loaded"`` on a board without SPRAM:
    :class:`FpgacError`).

    ``overlap`` (:attr:`HardwarePlan.overlap <fpgac.compiler.plan.HardwarePlan.overlap>`, the
    next image loads while the current one computes; the input map gets an exclusive region):
    ``"off"`` (the default), ``"on"`` (forced; :class:`FpgacError` for a one-layer model), or
    ``"auto"``: on where the model has two layers or more, the flow is not iCE40 (its block
    RAMs are the scarce resource there) and the overlap plan's estimate fits the board
    (:func:`check_fit`'s limits), else off.
    """
    if overlap not in OVERLAP_CHOICES:
        raise FpgacError(f"--overlap: expected one of {', '.join(OVERLAP_CHOICES)}, found "
                         f"{overlap!r}")
    if overlap != "off":
        plain = plan_for_board(model, pes, board, pixel_lut, weight_store)
        if overlap == "auto" and (board.flow == "ice40" or len(plain.layers) < 2):
            return plain
        over = _board_plan(model, pes, board, pixel_lut, weight_store, overlap=True)
        if overlap == "on" or fits(over, board):
            return over
        return plain
    return _board_plan(model, pes, board, pixel_lut, weight_store)


def _board_plan(model, pes: int, board, pixel_lut, weight_store: str, overlap: bool = False):
    """:func:`plan_for_board` for one value of ``overlap``: with one-window slices where
    they take fewer cycles (``plan_hardware``'s ``slices``), without them where only that
    plan fits."""
    from fpgac.compiler.plan import WEIGHT_STORES

    if weight_store not in ("auto",) + WEIGHT_STORES:
        raise FpgacError(f"--weight-store: expected one of auto, {', '.join(WEIGHT_STORES)}, "
                         f"found {weight_store!r}")
    if weight_store == "loaded" and not board.capacity.spram_bits:
        raise FpgacError(f"--weight-store: expected 'rom' or 'auto' on --board {board.name} "
                         f"(no SPRAM on {board.part}), found 'loaded'")
    plan = _pick(model, pes, pixel_lut, board, overlap, weight_store, slices=True)
    if plan.tree_latency and not fits(plan, board):
        # one-window slices (fewer cycles) unless the sliced plan does not fit: then the
        # plan without them, if it does (no adder tree: fewer LUTs, other weight banks)
        plain = _pick(model, pes, pixel_lut, board, overlap, weight_store, slices=False)
        if fits(plain, board):
            return plain
    return plan


def _pick(model, pes: int, pixel_lut, board, overlap: bool, weight_store: str,
          slices: bool):
    """:func:`_board_plan` for one value of ``slices``: the cheapest option (:func:`_cost`),
    with the loaded weight store where it is wanted."""
    import dataclasses

    plan = min(_options(model, pes, pixel_lut, board, overlap, slices),
               key=lambda p: _cost(p, board))
    if weight_store == "loaded" or (weight_store == "auto" and _wants_loaded(plan, board)):
        plan = dataclasses.replace(plan, weight_store="loaded", weight_entry_bytes=-(
            -(int(plan.wraw_bits) + int(plan.gap_bits) + 1) // 8))
    return plan


def _options(model, pes: int, pixel_lut, board, overlap: bool, slices: bool) -> list:
    """The plans :func:`_board_plan` chooses among for one value of ``slices``: one-port
    banks and (where the flow reads two addresses) paired banks, each with whole copies and,
    where the plan splits them, split (block-RAM body + LUT-RAM tail; narrow activations may
    fit one block whole: 4 x 4096 on ECP5); on a tie the earlier: one-port banks, whole
    copies."""
    from fpgac.compiler.plan import plan_hardware

    import dataclasses

    plans = [plan_hardware(model, pes=pes, pixel_lut=pixel_lut, overlap=overlap,
                           slices=slices)]
    if BANK_PORTS[board.flow] == 2 and len(plans[0].banks) > 1:
        plans.append(plan_hardware(model, pes=pes, pixel_lut=pixel_lut, bank_ports=2,
                                   overlap=overlap, slices=slices))
    return [v for p in plans for v in ((dataclasses.replace(p, act_body=0), p)
                                       if p.act_body else (p,))]


def _cost(plan, board) -> tuple:
    """What :func:`plan_for_board` minimises between two plans of one model and P (bank
    pairing, split copies): first whether the estimate does not fit (:func:`check_fit`'s
    limits), then the block RAMs. So a plan saves blocks where both fit, and the one that fits
    is kept where the other does not: on the Arty A7-35T (20,800 LUT6, 50 RAMB36) the split
    copies' LUT-RAM tails and the logic ROMs of one-port banks push LUTs over the limit at
    high P, where whole copies and paired banks still fit (``--pes auto``)."""
    est = estimate(plan, board)
    return (bool(_misfits(est, board)), est.bram_blocks)


def _wants_loaded(plan, board) -> bool:
    """The ROM plan's block RAMs do not fit ``board``, it has SPRAM (one-port banks) and the
    loaded store's block RAMs and SPRAM do."""
    if not board.capacity.spram_bits or plan.bank_ports != 1:
        return False
    bram_cap = int(BRAM_FILL_LIMIT.get(board.flow, 1.0) * board.capacity.bram_blocks)
    if estimate(plan, board).bram_blocks <= bram_cap:
        return False
    import dataclasses

    loaded = estimate(dataclasses.replace(plan, weight_store="loaded"), board)
    return (loaded.bram_blocks <= bram_cap
            and loaded.spram_blocks <= board.capacity.spram_bits // SPRAM_BITS)


def memory_report(plan, est: Estimate, flow: str | None = None) -> dict:
    """``report.json`` ``memory``: bits per class (:func:`fpgac.compiler.analysis.memory.
    breakdown`) and the estimate's block RAMs per class (bank blocks count as weights) in the
    capacity's unit (:data:`CAPACITY_UNIT`; ``flow`` is the board's, ``None`` for a flow whose
    block is that unit). On Xilinx (``flow`` ``"vivado"``) a class's
    ``blocks`` are RAMB36 equivalents, ``ramb18 / 2`` (a float where odd), and ``ramb18``
    its RAMB18: the classes add up to ``est.ramb18``, and ``est.bram_blocks`` is their sum
    rounded up."""
    from fpgac.compiler.analysis.memory import CLASSES, breakdown

    bits = breakdown(plan)
    blocks = est.blocks_by_class or {}
    if flow != "vivado":
        return {cls: {"bits": int(bits[cls]), "blocks": int(blocks.get(cls, 0))}
                for cls in CLASSES}
    half = {cls: int(blocks.get(cls, 0)) for cls in CLASSES}
    return {cls: {"bits": int(bits[cls]), "blocks": half[cls] // 2 if half[cls] % 2 == 0
                  else half[cls] / 2, "ramb18": half[cls]} for cls in CLASSES}


def weight_store_report(plan, est: Estimate) -> dict:
    """``report.json`` ``weight_store``: the kind (``rom`` / ``loaded``) and, for the loaded
    store, its SPRAM blocks, the weight image's bytes and CRC-16 (the host checks the weight
    file against them before it uploads, ``docs/boards.md``) and the file name."""
    out = {"kind": plan.weight_store, "spram_blocks": int(est.spram_blocks)}
    if plan.weight_store == "loaded":
        from fpgac.compiler.passes.weight_image import image_crc, weight_image

        image = weight_image(plan)
        out.update({"file": "weights.bin", "bytes": len(image), "crc16": image_crc(image),
                    "entry_bytes": int(plan.weight_entry_bytes)})
    return out
