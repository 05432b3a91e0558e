"""Pass: emit the weight banks and the control tables of the layers, one layer at a time.

Contract
--------
:class:`Tables` accumulates, over the layers in order (:meth:`Tables.add_layer`), everything
the controller, the lanes' window counters, the weight banks and the writer read
(``docs/architecture.md``, "Control"): one :class:`~fpgac.compiler.plan.LayerDesc` per layer,
the step count of every round, ``(output base, bias)`` per output channel in rank order, the
lanes' initial window counters per layer, the lane -> bank rows, the pool phase offsets, the
bank contents (each channel's encoded list appended once, to the bank of its channel slot) and
the expanded group list (the compiler's view of the schedule). Nothing is stored per output
position.

Mapping ``a`` (:mod:`.choose_mapping`): lane ``p < a * b`` (``b = P // a``) runs channel slot
``p // b`` (bank ``p // b``) and window slot ``p % b``; channels are dealt in descending list
length (stable) when ``a > 1``, in channel order when ``a = 1``; a round lasts as long as its
longest list and a bank that serves a shorter list stores the ``last`` column. A round of a
pooled layer (more than one phase) lasts at least ``plan.MIN_POOLED_COUNT`` steps per phase
(the lane compares with the pool one cycle before it selects: ``hw/lane.py``); a shorter
round's lists then all stop at their ``last`` entry.

Rectangle groups ``(br, bc)`` (``br > 0``; :class:`~fpgac.compiler.plan.LayerDesc`): window
slot ``k = p % b`` (``b = br * bc``) is lane ``(u, v) = divmod(k, bc)`` of the group, the
groups go ``bc`` columns right then ``br`` rows down; a group's ``n_valid`` counts its valid
lanes only (rows ``< Hq``, columns ``< Wq``).

One-window slices ``s > 1`` (``slices = (s, starts)``; ``lists[o]`` is then channel ``o``'s
``s`` encoded sub-lists, taps relative to ``starts[i]``): lane ``q * s + i`` (``width = s``)
runs sub-list ``i`` of channel slot ``q`` from its own bank ``q * s + i`` (each sub-list
appended once), its window counter's base is the input map's offset plus ``starts[i]``;
channels are dealt in descending longest sub-list (stable), a round lasts as long as its
longest sub-list, and its ``n_valid`` is its channels (the adder tree's sums, lane ``q * s``).
"""

from __future__ import annotations

from dataclasses import dataclass

from fpgac.compiler import ir
from fpgac.compiler.passes.choose_mapping import slice_order
from fpgac.compiler.plan import CHANNEL_PARALLEL, MIN_POOLED_COUNT, SPATIAL, Group, LayerDesc

__all__ = ["Windows", "layer_windows", "Tables"]


@dataclass(frozen=True)
class Windows:
    """Window geometry of a layer: ``count`` windows of ``width`` per row, consecutive windows
    ``col`` words apart in the input map, rows ``row`` words apart; pool phase offsets
    ``phase_offs``; ``used_outputs`` conv outputs read by the pools per channel."""

    count: int
    width: int
    row: int
    col: int
    phase_offs: tuple[int, ...]
    used_outputs: int


def layer_windows(layer) -> Windows:
    """The windows of a placed layer (:class:`~.place_layers.PlacedLayer`): pool windows (or
    single outputs without pool) of a conv, one window for a linear layer."""
    op = layer.op
    if not isinstance(op, ir.Conv2d):
        return Windows(1, 1, 0, 0, (0,), 1)
    _, hq, wq = layer.out_map
    wp = layer.in_shape[2] + 2 * layer.in_pad
    s = int(op.stride)
    pk, ps = layer.pool if layer.pool else (1, 1)
    offs = tuple(dy * s * wp + dx * s for dy in range(pk) for dx in range(pk))
    return Windows(hq * wq, wq, ps * s * wp, ps * s, offs, hq * wq * pk * pk)


class Tables:
    """The banks and control tables of a plan for ``pes`` lanes (module docstring)."""

    def __init__(self, pes: int, addr_bits: int | None = None):
        self.addr_bits = addr_bits
        self.pes = pes
        self.banks: list[list[tuple[int, int, int]]] = [[] for _ in range(pes)]
        self.bank_last = [False] * pes
        self.sel_rows: list[tuple[int, ...]] = []
        self.phase_table: list[int] = [0]
        self.descriptors: list[LayerDesc] = []
        self.round_counts: list[int] = []
        self.chan_table: list[tuple[int, int]] = []
        self.lane_init: list[tuple[tuple[int, int, int], ...]] = []
        self.program: list[Group] = []

    def _sel_row(self, row) -> int:
        row = tuple(row)
        if row not in self.sel_rows:
            self.sel_rows.append(row)
        return self.sel_rows.index(row)

    def _phase_base(self, offs) -> int:
        if len(offs) == 1:
            return 0
        self.phase_table.extend(offs)
        return len(self.phase_table) - len(offs)

    def add_layer(self, index: int, *, final: bool, lists, a: int, win: Windows, bias,
                  wz: int, inz: int, in_offset: int, out_offset: int,
                  out_pad: int, rect: tuple[int, int] = (0, 0),
                  slices: tuple[int, tuple[int, ...]] = (1, (0,))) -> tuple[str, int]:
        """Emit layer ``index`` (encoded ``lists`` per output channel, mapping ``a`` channel
        slots, rectangle groups ``rect = (br, bc)`` or raster order ``(0, 0)``, one-window
        ``slices = (s, starts)`` (module docstring), output map at ``out_offset`` with ring
        ``out_pad``); returns ``(mode, groups)``."""
        pes, oc = self.pes, len(lists)
        br, bc = rect
        ns, starts = slices
        if ns > 1 and (br or win.count != 1 or len(win.phase_offs) != 1 or a * ns > pes
                       or len(starts) != ns):
            raise ValueError(f"slices: expected a one-window layer without pool phases, "
                             f"a * s <= {pes} and {ns} starts, found a = {a}, s = {ns}, "
                             f"{win.count} windows, {len(win.phase_offs)} phases, "
                             f"{len(starts)} starts")
        b = ns if ns > 1 else br * bc if br else pes // a
        nwin, wq = win.count, win.width
        if ns > 1:
            order = slice_order(lists)
        else:
            order = (sorted(range(oc), key=lambda o: -len(lists[o])) if a > 1
                     else list(range(oc)))
        owp = wq + 2 * out_pad
        ohp = (nwin // wq) + 2 * out_pad
        geo = _group_geometry(win, b, br, bc, owp, self.addr_bits)
        rounds, ngroups = -(-oc // a), len(geo["nvw"])
        self.descriptors.append(LayerDesc(
            rounds=rounds, groups=ngroups, phases=len(win.phase_offs),
            phase_base=self._phase_base(win.phase_offs), slots=a,
            last_slots=oc - (rounds - 1) * a, width=b, last_width=geo["nvw"][-1],
            round_base=len(self.round_counts), rank_base=len(self.chan_table),
            sel_row=self._sel_row((p if ns > 1 else p // b) if p < a * b else 0
                                  for p in range(pes)), wz=wz,
            inz=inz, final=final, windows=nwin, win_w=wq, step_px=geo["step_px"],
            step_base=geo["step_base"], wrap_base=geo["wrap_base"],
            out_first=out_pad * owp + out_pad, out_step=geo["out_step"], out_wrap=owp - wq,
            grp_w=geo["grp_w"], grp_wrap=geo["grp_wrap"], br=br, bc=bc, slices=ns))
        self.chan_table.extend((out_offset + o * ohp * owp, bias[o]) for o in order)
        if ns > 1:
            init = [(in_offset + starts[p % ns], 0, 0) if p < a * ns else (in_offset, 0, 1)
                    for p in range(pes)]
        else:
            init = _lane_init(pes, a, b, br, bc, win, in_offset)
        self.lane_init.append(tuple(init))
        before = len(self.program)
        for r in range(rounds):
            self._add_round(index, r, a, order[r * a:(r + 1) * a], lists, geo["nvw"],
                            len(win.phase_offs), wz, inz, final, before, ns)
        mode = SPATIAL if a == 1 and nwin > 1 else CHANNEL_PARALLEL
        return mode, len(self.program) - before

    def _add_round(self, index, r, a, chans, lists, nvws, phases, wz, inz, final, before,
                   ns=1):
        # bank k serves stream k: slot k's list (ns == 1) or sub-list k % ns of slot
        # k // ns (slices), each once
        streams = ([lists[o] for o in chans] if ns == 1
                   else [lists[o][i] for o in chans for i in range(ns)])
        count = max(len(x) for x in streams)
        if phases > 1:
            count = max(count, MIN_POOLED_COUNT)
        self.round_counts.append(count)
        for k, lst in enumerate(streams):
            self.banks[k].extend(lst)
            if len(lst) < count:
                self.bank_last[k] = True
        for g, nvw in enumerate(nvws):
            cmd = [0] * self.pes
            for k in range(len(streams)):
                cmd[k] = 1 if g == 0 else 2
            self.program.append(Group(
                layer=index, count=count, phases=phases, bank_cmd=tuple(cmd),
                n_valid=len(chans) * nvw, layer_first=len(self.program) == before, inz=inz,
                wz=wz, final=final, round=r, g=g, rank=r * a, nch=len(chans), nvw=nvw))

    def trimmed(self):
        """``(banks, bank_last, sel_rows)`` with the banks no layer uses removed (at least
        one bank is kept)."""
        used = [k for k in range(self.pes) if self.banks[k]]
        nbanks = max(1, max(used) + 1 if used else 1)
        sel_rows = [tuple(v if v < nbanks else 0 for v in row) for row in self.sel_rows]
        return self.banks[:nbanks], self.bank_last[:nbanks], sel_rows


def _group_geometry(win: Windows, b: int, br: int, bc: int, owp: int,
                    addr_bits: int | None) -> dict:
    """The window-group steps of a layer (:class:`~fpgac.compiler.plan.LayerDesc`) and the
    valid windows per channel of every group (``nvw``): raster groups of ``b`` windows
    (``br = 0``) or ``br x bc`` rectangles."""
    nwin, wq = win.count, win.width
    if not br:
        return {"nvw": [min(b, nwin - g) for g in range(0, nwin, b)], "step_px": b % wq,
                "step_base": (b // wq) * win.row + (b % wq) * win.col,
                "wrap_base": win.row - wq * win.col, "out_step": (b // wq) * owp + b % wq,
                "grp_w": wq, "grp_wrap": (b // wq) * owp + b % wq + owp - wq}
    hq = nwin // wq
    if not (1 <= br <= hq and 1 <= bc <= wq):
        raise ValueError(f"rect: expected 1 <= br <= {hq} and 1 <= bc <= {wq}, found "
                         f"{br} x {bc}")
    gpr, gr = -(-wq // bc), -(-hq // br)
    wrap = br * win.row - gpr * bc * win.col
    if wrap < 0:
        if addr_bits is None:
            raise ValueError("rect: a negative wrap_base needs the address width")
        wrap %= 1 << addr_bits
    return {"nvw": [min(br, hq - y * br) * min(bc, wq - x * bc)
                    for y in range(gr) for x in range(gpr)],
            "step_px": bc, "step_base": bc * win.col, "wrap_base": wrap, "out_step": bc,
            "grp_w": gpr * bc, "grp_wrap": br * owp - (gpr - 1) * bc}


def _lane_init(pes: int, a: int, b: int, br: int, bc: int, win: Windows, in_offset: int):
    """Per lane its window counter ``(base, px, j)`` at a round's first group. Raster: ``j``
    the lane's window (``>= windows``: an unused lane, never stepped); rectangles: ``px`` the
    group's ``c0`` (0), ``j`` 0 for a lane of a window slot, 1 for an unused lane."""
    nwin, wq = win.count, win.width
    for p in range(pes):
        if br:
            u, v = divmod(p % b, bc)
            yield ((in_offset + u * win.row + v * win.col, 0, 0) if p < a * b
                   else (in_offset, 0, 1))
            continue
        j = p % b if p < a * b else nwin
        yield ((in_offset + (j // wq) * win.row + (j % wq) * win.col, j % wq, j)
               if j < nwin else (in_offset, 0, j))
