"""Exact cycle model of the accelerator (the RTL meets it to the cycle; tests check both ways).

Timing rules
------------
Cycle numbers are relative to the cycle ``A`` in which the last input pixel is accepted
(``pixels.valid & pixels.ready``), so ``A = 0``.

* **Loading**: one pixel per cycle while the stream is valid; ``load_cycles = C*H*W +
  input_fill`` (the loader first writes the input map's ``plan.input_fill`` pad cells, one
  per cycle, while the core is idle; 0 unless activation regions are reused over the input
  map). Pixel ``i`` accepted in cycle ``c`` is presented to the activation memory's write
  port in cycle ``c + 1`` (and applied to the copies ``plan.write_latency`` cycles later, as
  every write: the port's register).
* **Issue**: the controller issues at most one lockstep step per cycle; the first step of
  the program may issue in cycle ``1``. The steps of group ``k`` (``n_k = phases * count``) issue
  in order; step issued in cycle ``t`` is registered by the weight banks, which read their
  ROM in ``t+1`` (data in ``t+2``, registered in ``t+3``) and decode it (filler test, tap
  offset, ``w - wz``) into a register (``t+4``); each lane registers its address parts
  (``t+4``) and its address (``t+5``), reads its activation in ``t+6`` (data in ``t+7``,
  registered), subtracts the zero point (``t+8``), multiplies (``t+9``), accumulates
  (``t+10``), compares with the pool (``t+11``), pools and (last step of the group) latches
  in ``t+12``:
  the latched values are visible from cycle ``u_k + rom_latency + lane_latency`` where
  ``u_k`` is the issue cycle of the group's last step. Fillers and list padding are steps
  like any other.
* **Adder tree** (one-window slices, ``plan.tree_latency = log2 s_max`` registered stages,
  0 without slices): the latched values pass the tree (every layer's, a layer without
  slices unchanged) and reach the writer from ``w_k = u_k + rom_latency + lane_latency +
  tree_latency``.
* **Writer**: reads latched result ``i`` (``i < n_valid``) in cycle ``w_k + i`` and writes the
  requantized value in cycle ``w_k + i + WRITER_LATENCY``; the last write of group ``k`` is
  ``W_k = w_k + n_valid_k - 1 + WRITER_LATENCY``.
* **Hazard rule**: a group may not latch while the writer still reads the previous group's
  latches, and the controller's next group record (a register formed one cycle after the
  previous one moved) must be ready: the last step of group ``k`` issues no earlier than
  ``u_{k-1} + max(n_valid_{k-1}, GROUP_LATENCY)`` (``plan.group_latency``; it binds only
  for a one-step group behind a group of one valid lane). The controller waits (issues
  nothing) just before that last step.
* **Layer barrier**: the first step of a layer's first group issues no earlier than
  ``W + BARRIER_LATENCY``, ``W`` the previous layer's last write (presented on the
  activation memory's port in ``W``, applied in ``W + write_latency``: a read presented from
  ``W + write_latency + 1`` on sees it; the layer's first read is presented in ``s +
  rom_latency + 2``, so ``write_latency <= barrier_latency + rom_latency + 1`` keeps the
  rule exact, and :func:`schedule` refuses a plan without it). The controller waits before
  that first step until nothing is in flight but that last write (cycle ``W``); it sees that
  ``BARRIER_LATENCY`` cycles later (its ``idle`` input and its issue decision are
  registers).
* **Result**: the last logit is written (and the running first-max argmax updated) in
  ``W_last``; ``result.valid`` rises in ``W_last + RESULT_LATENCY``. So
  ``compute_cycles = W_last + RESULT_LATENCY`` (cycles after the last pixel accept).

* **Back to back** (``interval_cycles``, start to start: last pixel accept of one image to
  that of the next, with a pixel source that is always valid and a result sink that is always
  ready). The result is taken in ``compute`` (its first valid cycle); the loader takes the
  next image's last pixel (its start) no earlier than ``compute + 1`` (the cycle after the
  hand-over: the controller is idle and no result is pending, both registers).
  Without ``plan.overlap`` the next image's load (``input_fill`` ring cells, then the
  pixels) starts in that cycle: ``interval = load_cycles + compute_cycles``. With
  ``plan.overlap`` the loader takes pixels from ``e = s_1 + 2`` on (two cycles after layer
  1's first issue ``s_1``: the step is on the controller's stage-1 outputs in ``s_1 + 1``,
  which the core registers; every layer-0 read is done by then), pixel 0 in ``e`` and
  pixel ``j >= 1`` in the ``j``-th cycle
  after ``e`` in which the writer does not write (the loader writes a taken pixel in the
  first such cycle: the writer keeps the write port; it writes in the cycles ``w_k + i +
  WRITER_LATENCY``, ``i < n_valid_k``), the last pixel (``j = N - 1``) also no earlier than
  ``compute + 1``: ``interval = max(compute + 1, f_{N-1})``, ``f_j`` that cycle (``f_0 = e``).
  The latency of one image stays ``load_cycles + compute_cycles``.

Putting it together, with ``t`` the first free issue cycle (``t = 1`` initially)::

    s_k = max(t, W_prev_layer + BARRIER_LATENCY)  if group k is the first of a layer (k > 0)
          t                                      else
    u_k = max(s_k + n_k - 1, u_{k-1} + max(n_valid_{k-1}, GROUP_LATENCY))
    t   = u_k + 1

The latencies are fields of the plan (``HardwarePlan.rom_latency``, ...; defaults are the
constants below); ``hw/`` publishes its own as properties (``Lane.latency``,
``Writer.latency``, ...) and refuses a plan whose latencies differ; ``tests/hw`` assert both.
"""

from __future__ import annotations

from dataclasses import dataclass

from fpgac.compiler.plan import HardwarePlan

__all__ = ["ROM_LATENCY", "LANE_LATENCY", "WRITER_LATENCY", "RESULT_LATENCY",
           "BARRIER_LATENCY", "GROUP_LATENCY", "WRITE_LATENCY", "LayerCycles", "CycleReport",
           "interval", "predict", "schedule"]

#: Issue of a step -> decoded bank entry at the lanes (bank input register, bank read, ROM
#: output register, bank stage).
ROM_LATENCY = 4
#: Step at the lane input -> latched value visible (address parts register, address
#: register, activation read, read register, ``x - inz``, multiply, accumulate, pool compare,
#: pool/latch).
LANE_LATENCY = 9
#: Writer reads a latched value -> cycle its requantized value is written (two read
#: registers: the lane multiplexer's halves, the channel table entry; sum register; six
#: requantizer stages).
WRITER_LATENCY = 9
#: Last logit written -> ``result.valid`` (the controller's ``idle`` register, then
#: ``done`` -> the result unit's ``valid`` register).
RESULT_LATENCY = 2
#: A layer's last write ``W`` -> the next layer's first issue (``idle`` register, issue
#: register).
BARRIER_LATENCY = 2
#: Fewest cycles between two groups' last steps (the controller's registered next record).
GROUP_LATENCY = 2
#: A write presented on the activation memory's port -> applied to the copies (the port's
#: register, replicated per lane group). No cycle count depends on it (the barrier rule).
WRITE_LATENCY = 1


@dataclass(frozen=True)
class LayerCycles:
    """Cycles of one layer: from its first issue (or the previous layer's end) to its last write."""

    name: str
    cycles: int
    nnz_macs: int
    utilization: float
    stall_cycles: int


@dataclass(frozen=True)
class CycleReport:
    """Prediction for one image; ``utilization = (nnz_macs / pes) / compute_cycles``;
    ``interval_cycles``: start to start of back-to-back images (module docstring);
    ``total_cycles`` (load + compute) is the latency of one image."""

    pes: int
    load_cycles: int
    compute_cycles: int
    total_cycles: int
    nnz_macs: int
    utilization: float
    per_layer: tuple[LayerCycles, ...]
    interval_cycles: int = 0


def schedule(plan: HardwarePlan) -> list[tuple[int, int, int, int]]:
    """Per group ``(s_k, u_k, w_k, W_k)`` in cycles after the last pixel accept (rules above)."""
    if plan.write_latency > plan.barrier_latency + plan.rom_latency + 1:
        raise ValueError(
            f"plan.write_latency: expected at most barrier_latency + rom_latency + 1 = "
            f"{plan.barrier_latency + plan.rom_latency + 1} (a layer's first read would see "
            f"the previous layer's last write before it is applied), found "
            f"{plan.write_latency}")
    out = []
    t = 1
    prev_u = prev_v = None
    last_write = 0
    for k, g in enumerate(plan.program):
        s = max(t, last_write + plan.barrier_latency) if (g.layer_first and k > 0) else t
        n = g.phases * g.count
        u = s + n - 1
        if prev_u is not None:
            u = max(u, prev_u + max(prev_v, plan.group_latency))
        w = u + plan.rom_latency + plan.lane_latency + plan.tree_latency
        last = w + g.n_valid - 1 + plan.writer_latency
        out.append((s, u, w, last))
        last_write = last
        prev_u, prev_v = u, g.n_valid
        t = u + 1
    return out


def interval(plan: HardwarePlan, sched=None) -> int:
    """Start-to-start cycles of back-to-back images (module docstring, "Back to back")."""
    sched = schedule(plan) if sched is None else sched
    compute = sched[-1][3] + plan.result_latency
    if not plan.overlap:
        return plan.input_pixels + plan.input_fill + compute
    writes = set()
    for (_, _, w, _), g in zip(sched, plan.program):
        writes.update(range(w + plan.writer_latency, w + plan.writer_latency + g.n_valid))
    first = next(k for k, g in enumerate(plan.program) if g.layer == 1)
    c = sched[first][0] + 2                    # pixel 0
    for _ in range(plan.input_pixels - 1):     # pixel j: the j-th writer-free cycle after
        c += 1
        while c in writes:
            c += 1
    return max(compute + 1, c)


def predict(plan: HardwarePlan) -> CycleReport:
    """Predict load and compute cycles of ``plan`` exactly (module docstring)."""
    sched = schedule(plan)
    compute = sched[-1][3] + plan.result_latency
    per_layer = []
    start = 0
    for li, layer in enumerate(plan.layers):
        idx = [k for k, g in enumerate(plan.program) if g.layer == li]
        end = sched[idx[-1]][3]
        steps = sum(plan.program[k].phases * plan.program[k].count for k in idx)
        cycles = end - start
        per_layer.append(LayerCycles(
            name=layer.name, cycles=cycles, nnz_macs=layer.nnz_macs,
            utilization=(layer.nnz_macs / plan.pes) / cycles if cycles else 0.0,
            stall_cycles=cycles - steps))
        start = end
    per_layer[-1] = LayerCycles(
        name=per_layer[-1].name, cycles=per_layer[-1].cycles + plan.result_latency,
        nnz_macs=per_layer[-1].nnz_macs,
        utilization=(per_layer[-1].nnz_macs / plan.pes) / (per_layer[-1].cycles + plan.result_latency),
        stall_cycles=per_layer[-1].stall_cycles + plan.result_latency)
    load = plan.input_pixels + plan.input_fill
    return CycleReport(pes=plan.pes, load_cycles=load, compute_cycles=compute,
                       total_cycles=load + compute, nnz_macs=plan.nnz_macs,
                       utilization=(plan.nnz_macs / plan.pes) / compute,
                       per_layer=tuple(per_layer), interval_cycles=interval(plan, sched))
