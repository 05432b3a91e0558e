"""The memories of the accelerator for a plan, by class (``docs/architecture.md``).

Contract
--------
:func:`memories` lists every memory :class:`~fpgac.hw.core.Accelerator` instantiates for a
plan, as :class:`Memory` records (copies, width, depth, ROM or RAM, the rows of a ROM so that
constant bit columns can be dropped by the estimate, and the class of its bits).
:func:`breakdown` sums the bits per class:

* ``weights``: the ``w`` fields of the stored non-zero weights;
* ``indices``: everything else in the weight banks (gap and ``last`` fields, filler entries);
  with the loaded weight store (``plan.weight_store``) the banks are RAMs (``loaded``), same
  contents;
* ``activations``: the activation memory, all copies (a split copy is two records: the
  block-RAM body ``activations`` and the distributed-RAM tail ``activations_tail``);
* ``control``: layer descriptors, steps per round, the channel table (output base, bias),
  lane -> bank rows, pool phases, the lanes' initial window counters;
* ``other``: the pixel lookup table.

The comb-read tables (pool phases, descriptors, steps per round) and the lanes' initial window
counters (constants) are listed (class ``control``) with ``logic=True``: they are always
logic, never a block RAM.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from fpgac.compiler.analysis.widths import unsigned_bits

__all__ = ["Memory", "memories", "breakdown", "CLASSES"]

#: The classes of :func:`breakdown`, in report order.
CLASSES = ("weights", "indices", "activations", "control", "other")


@dataclass(frozen=True)
class Memory:
    """One memory: ``copies`` x ``depth`` words of ``width`` bits.

    ``rows``/``fields`` (ROMs only): the contents as tuples of field values and the field
    widths, for counting the non-constant bit columns. ``split`` maps class -> bits (its sum is
    ``copies * width * depth``).
    """

    name: str
    copies: int
    width: int
    depth: int
    rom: bool
    split: dict
    rows: tuple = ()
    fields: tuple = ()
    logic: bool = False
    #: Read ports (2: two weight banks share this ROM).
    ports: int = 1
    #: A RAM meant for distributed (LUT) RAM where the part has it (ECP5, Xilinx): the tail
    #: of a split activation copy.
    lutram: bool = False
    #: A weight bank of the loaded store: a single-port RAM meant for the iCE40 SPRAM,
    #: written from the weight image at start-up (``rows`` still lists its contents).
    loaded: bool = False

    @property
    def bits(self) -> int:
        return self.copies * self.width * self.depth


def _rom(name, rows, fields, cls, logic=False):
    rows = tuple(tuple(r) for r in rows)
    width = sum(fields)
    return Memory(name, 1, width, len(rows), True, {cls: width * len(rows)}, rows,
                  tuple(fields), logic)


def memories(plan) -> list[Memory]:
    """Every memory of the core for ``plan`` (module docstring)."""
    pes = int(plan.pes)
    ab = int(plan.act_bits)
    tail = plan.act_tail
    body = int(plan.mem_depth) - tail
    out = [Memory("activations", pes, ab, body, False, {"activations": pes * ab * body})]
    if tail:
        out.append(Memory("activations_tail", pes, ab, tail, False,
                          {"activations": pes * ab * tail}, lutram=True))
    out.append(_rom("pixel_lut", ((v,) for v in plan.pixel_lut), (int(plan.act_bits),),
                    "other"))
    wr, gb = int(plan.wraw_bits), int(plan.gap_bits)
    nnz = sum(layer.nnz_weights for layer in plan.layers)
    nb = len(plan.banks)
    groups = ([(k, k + 1) for k in range(0, nb - 1, 2)] + ([(nb - 1,)] if nb % 2 else [])
              if getattr(plan, "bank_ports", 1) == 2 else [(k,) for k in range(nb)])
    for ks in groups:
        last = any(plan.bank_last[k] for k in ks)
        fields = (wr, gb) + ((1,) if last else ())
        rows = tuple((w, g, ls)[:len(fields)] for k in ks for w, g, ls in plan.banks[k])
        width = sum(fields)
        loaded = plan.weight_store == "loaded"
        out.append(Memory("bank" + "_".join(map(str, ks)), 1, width, len(rows), not loaded,
                          {"indices": width * len(rows)}, rows, fields, ports=len(ks),
                          loaded=loaded))
    # the w fields of the non-zero weights are "weights" (booked on the first bank), the rest
    # of the banks' bits (gaps, last, fillers) "indices"
    if plan.banks and nnz:
        first = next(i for i, m in enumerate(out) if m.name.startswith("bank"))
        m0 = out[first]
        split = dict(m0.split)
        split["weights"] = nnz * wr
        split["indices"] = split["indices"] - nnz * wr
        out[first] = dataclasses.replace(m0, split=split)
    ab, sb = int(plan.addr_bits), int(plan.sel_bits)
    out.append(_rom("sel_table", plan.sel_rows, (sb,) * pes, "control"))
    out.append(_rom("chan_table", plan.chan_table, (ab, int(plan.bias_bits)), "control"))
    out.append(_rom("phase_table", ((v,) for v in plan.phase_table), (ab,), "control",
                    logic=True))
    from fpgac.compiler.plan import desc_rows

    rows = desc_rows(plan)
    out.append(_rom("descriptors", (tuple(r.values()) for r in rows),
                    tuple(max(1, max(r[k] for r in rows).bit_length()) for k in rows[0]),
                    "control", logic=True))
    out.append(_rom("round_counts", ((c - 1,) for c in plan.round_counts),
                    (unsigned_bits(max(plan.round_counts) - 1),), "control", logic=True))
    descs = plan.descriptors
    jb = unsigned_bits(max(max(d.windows, j) + d.width for d, row in
                           zip(descs, plan.lane_init) for _, _, j in row))
    xb = unsigned_bits(max(d.win_w for d in descs) - 1)
    out.append(_rom("lane_init", (tuple(v for e in row for v in e) for row in plan.lane_init),
                    (ab, xb, jb) * pes, "control", logic=True))
    return out


def breakdown(plan) -> dict[str, int]:
    """Bits per class of :data:`CLASSES` (all copies; ROMs at their full width)."""
    total = dict.fromkeys(CLASSES, 0)
    for mem in memories(plan):
        for cls, bits in mem.split.items():
            total[cls] += bits
    return total
