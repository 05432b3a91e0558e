"""The memories of the accelerator for a plan, by class (``docs/architecture.md``).

Contract
--------
:func:`memories` lists every memory :class:`~fpgac.hw.core.Accelerator` instantiates for a
plan, as :class:`Memory` records (copies, width, depth, ROM or RAM, the rows of a ROM so that
constant bit columns can be dropped by the estimate, and the class of its bits).
:func:`breakdown` sums the bits per class:

* ``weights``: the ``w`` fields of the stored non-zero weights;
* ``indices``: everything else in the weight banks (gap and ``last`` fields, filler entries);
* ``activations``: the activation memory, all copies;
* ``control``: program, bank commands, lane -> bank rows, window bases, pool phases, writer
  table (lane, address, bias);
* ``other``: the pixel lookup table.

The comb-read pool phase table is listed (class ``control``) with ``logic=True``: it is always
logic, never a block RAM.
"""

from __future__ import annotations

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
    out = [Memory("activations", pes, int(plan.act_bits), int(plan.mem_depth), False,
                  {"activations": pes * int(plan.act_bits) * int(plan.mem_depth)})]
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
        out.append(Memory("bank" + "_".join(map(str, ks)), 1, width, len(rows), True,
                          {"indices": width * len(rows)}, rows, fields, ports=len(ks)))
    # the w fields of the non-zero weights are "weights" (booked on the first bank), the rest
    # of the banks' bits (gaps, last, fillers) "indices"
    if plan.banks and nnz:
        first = next(i for i, m in enumerate(out) if m.name.startswith("bank"))
        m0 = out[first]
        split = dict(m0.split)
        split["weights"] = nnz * wr
        split["indices"] = split["indices"] - nnz * wr
        out[first] = Memory(m0.name, m0.copies, m0.width, m0.depth, m0.rom, split, m0.rows,
                            m0.fields, ports=m0.ports)
    ab, sb = int(plan.addr_bits), int(plan.sel_bits)
    nb = len(plan.banks)
    out.append(_rom("sel_table", plan.sel_rows, (sb,) * pes, "control"))
    out.append(_rom("bank_cmds", (g.bank_cmd[:nb] for g in plan.program), (2,) * nb,
                    "control"))
    out.append(_rom("in_table", plan.in_table, (ab,) * pes, "control"))
    out.append(_rom("out_table", plan.out_table,
                    (unsigned_bits(pes - 1), ab, int(plan.bias_bits)), "control"))
    out.append(_rom("phase_table", ((v,) for v in plan.phase_table), (ab,), "control",
                    logic=True))
    prog = plan.program
    pfields = (unsigned_bits(max(g.count for g in prog) - 1),
               unsigned_bits(max(g.phases for g in prog) - 1),
               unsigned_bits(len(plan.phase_table) - 1), unsigned_bits(len(plan.in_table) - 1),
               unsigned_bits(len(plan.sel_rows) - 1), int(plan.wraw_bits),
               unsigned_bits(len(plan.out_table)), unsigned_bits(pes), 1, int(plan.act_bits), 1,
               unsigned_bits(len(plan.layers) - 1))
    out.append(_rom("program", ((g.count - 1, g.phases - 1, g.phase_base, g.table_row,
                                 g.sel_row, g.wz, g.out_base, g.n_valid, int(g.layer_first),
                                 g.inz, int(g.final), g.layer) for g in prog), pfields,
                    "control"))
    return out


def breakdown(plan) -> dict[str, int]:
    """Bits per class of :data:`CLASSES` (all copies; ROMs at their full width)."""
    total = dict.fromkeys(CLASSES, 0)
    for mem in memories(plan):
        for cls, bits in mem.split.items():
            total[cls] += bits
    return total
