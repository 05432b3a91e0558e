"""Self-contained HTML reports with matplotlib figures (build, verify, eval).

Contract: every page is one HTML file with inline CSS and its figures embedded as base64 PNG
``data:`` URIs, so it opens offline and can be mailed or archived alone. The figures are drawn
with matplotlib's Agg backend (no display needed); each page also carries the numbers behind
its figures as tables. :func:`build_page`, :func:`verify_page` and :func:`eval_page` take the
dicts the commands already write as JSON (``report.json``, ``verify --json``, the eval result).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

__all__ = ["build_page", "verify_page", "eval_page", "memory_parts", "confusion_figure",
           "write_page"]

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;
color:#1b1f24;background:#fff}
h1{font-size:1.6em;border-bottom:3px solid #2f6fb0;padding-bottom:.3em}
h2{font-size:1.2em;margin-top:1.6em;color:#2f6fb0}
table{border-collapse:collapse;margin:.6em 0}
td,th{border:1px solid #c9d1d9;padding:.25em .7em;text-align:right}
th{background:#eef3f8}td:first-child,th:first-child{text-align:left}
.ok{color:#1a7f37;font-weight:bold}.bad{color:#cf222e;font-weight:bold}
.note{color:#57606a;font-size:.9em}img{max-width:100%;border:1px solid #d0d7de}
code{background:#f3f4f6;padding:0 .3em}
"""


def _esc(value) -> str:
    return html.escape(str(value))


def _png(fig) -> str:
    """``<img>`` with the figure as an embedded PNG; closes the figure."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _figure(width=9.0, height=3.6, ncols=1):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width, height))


def _table(rows, header=None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{_esc(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c if isinstance(c, _Raw) else _esc(c)}</td>"
                                    for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


class _Raw(str):
    """Table cell already in HTML."""


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{_esc(title)}</h1>" + "\n".join(body) + "</body></html>\n")


def write_page(text: str, path) -> Path:
    """Write a page to ``path`` (parent directories must exist); returns the path."""
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- figures

def _layer_figure(names, cycles, util):
    fig, ax = _figure()
    x = range(len(names))
    ax.bar(x, cycles, color="#2f6fb0")
    ax.set_xticks(list(x), names, rotation=30, ha="right")
    ax.set_ylabel("cycles per image")
    ax.set_title("per-layer cycles (bars) and PE utilization (line)")
    ax2 = ax.twinx()
    ax2.plot(list(x), [100 * u for u in util], "o-", color="#d9480f")
    ax2.set_ylabel("PE utilization %")
    ax2.set_ylim(0, 105)
    return _png(fig)


def memory_parts(plan) -> dict[str, int]:
    """Bits of the core's memories by part: :func:`fpgac.compiler.analysis.memory.breakdown`
    (``weights``, ``indices``, ``activations``, ``control``, ``other``)."""
    from fpgac.compiler.analysis.memory import breakdown

    return breakdown(plan)


def _memory_figure(parts: dict, capacity_bits: int | None, blocks: int | None):
    fig, ax = _figure(9, 2.6)
    left = 0
    colors = ["#2f6fb0", "#6f42c1", "#1a7f37", "#d9480f", "#57606a"]
    for (name, bits), color in zip(parts.items(), colors):
        ax.barh([0], [bits / 1024], left=left / 1024, color=color, label=f"{name} "
                f"{bits / 1024:.1f} kbit")
        left += bits
    if capacity_bits:
        ax.axvline(capacity_bits / 1024, color="#cf222e", ls="--",
                   label=f"device block RAM {capacity_bits / 1024:.0f} kbit"
                   + (f" ({blocks} blocks)" if blocks else ""))
    ax.set_yticks([])
    ax.set_xlabel("kbit")
    ax.set_title("memory by part vs the device's block RAM")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, fontsize=8)
    return _png(fig)


def _resource_figure(resources: dict):
    names, share, labels = [], [], []
    for name, v in resources.items():
        avail = v.get("available")
        if avail:
            names.append(name)
            share.append(100 * v["used"] / avail)
            labels.append(f"{v['used']:g}/{avail:g}")
    if not names:
        return ""
    fig, ax = _figure(9, 0.5 + 0.45 * len(names))
    bars = ax.barh(names, share, color=["#cf222e" if s > 100 else "#2f6fb0" for s in share])
    for bar, lab in zip(bars, labels):
        ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, lab, va="center",
                fontsize=8)
    ax.set_xlim(0, max(110, max(share) + 20))
    ax.set_xlabel("% of the device")
    ax.set_title("resources used / available")
    ax.invert_yaxis()
    return _png(fig)


def _timing_figure(clock_mhz: float, fmax_mhz: float):
    fig, ax = _figure(6, 1.8)
    ax.barh(["Fmax (nextpnr)", "clock"], [fmax_mhz, clock_mhz],
            color=["#1a7f37" if fmax_mhz >= clock_mhz else "#cf222e", "#57606a"])
    for y, v in enumerate([fmax_mhz, clock_mhz]):
        ax.text(v, y, f" {v:.2f} MHz", va="center", fontsize=8)
    ax.set_xlabel("MHz")
    ax.set_xlim(0, 1.3 * max(fmax_mhz, clock_mhz))
    ax.set_title("timing: Fmax vs clock")
    return _png(fig)


def confusion_figure(confusion, path=None):
    """The confusion matrix (rows true label, columns predicted) as a figure.

    With ``path`` writes a PNG (or any matplotlib format by suffix) and returns the path;
    without, returns the embedded ``<img>`` HTML.
    """
    import numpy as np

    conf = np.asarray(confusion)
    fig, ax = _figure(6.4, 5.6)
    im = ax.imshow(conf, cmap="Blues")
    for t in range(conf.shape[0]):
        for p in range(conf.shape[1]):
            v = int(conf[t, p])
            if v:
                ax.text(p, t, str(v), ha="center", va="center", fontsize=7,
                        color="white" if v > conf.max() / 2 else "black")
    ax.set_xticks(range(conf.shape[1]))
    ax.set_yticks(range(conf.shape[0]))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true label")
    ax.set_title("confusion matrix")
    fig.colorbar(im, ax=ax, shrink=0.8)
    if path is None:
        return _png(fig)
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


# ---------------------------------------------------------------- pages

def build_page(report: dict, plan) -> str:
    """The ``fpgac build`` page: summary, per-layer cycles, memory, resources, timing."""
    from fpgac.compiler.analysis.cycles import predict

    r = report
    cyc = predict(plan)
    body = ["<h2>Summary</h2>", _table([
        ("model", Path(str(r["model"])).name), ("board / part", f"{r['board']} / {r['part']}"),
        ("clock", f"{r['clock_mhz']:g} MHz"), ("lanes P", r["pes"]),
        ("MACs non-zero / dense", f"{r['nnz_macs']} / {r['dense_macs']}"),
        ("cycles per image (load + compute)",
         f"{r['load_cycles']} + {r['compute_cycles']} = {r['cycles_per_inference']}"),
        ("PE utilization", f"{r['utilization']:.1%}"),
        ("images/s at the clock", f"{r['images_per_s']:.0f}"),
        ("images/s over the UART, one image per request",
         f"{r.get('uart_images_per_s', 0):.1f}"
         + (f" at {r['baud']} baud" if r.get("baud") else "")),
    ] + ([("images/s over the UART, batched request",
           f"{r['link']['images_per_s']:.1f} ({r['link']['bridge']}, "
           f"{r['link']['baud']} baud, divisor {r['link']['divisor']})")]
         if r.get("link") else []))]
    names = [lc.name for lc in cyc.per_layer]
    body += ["<h2>Per-layer cycles and PE utilization</h2>",
             _layer_figure(names, [lc.cycles for lc in cyc.per_layer],
                           [lc.utilization for lc in cyc.per_layer]),
             _table([(lc.name, lc.cycles, lc.nnz_macs, f"{lc.utilization:.1%}",
                      lc.stall_cycles) for lc in cyc.per_layer],
                    ["layer", "cycles", "non-zero MACs", "PE utilization", "stall cycles"])]
    parts = memory_parts(plan)
    cap = r.get("capacity") or {}
    body += ["<h2>Memory by part</h2>",
             _memory_figure(parts, cap.get("bram_bits"), cap.get("bram_blocks")),
             _table([(k, v, f"{v / 1024:.1f}") for k, v in parts.items()],
                    ["part", "bits", "kbit"])]
    res = r.get("resources")
    if res:
        body += ["<h2>Resources</h2>", _resource_figure(res),
                 _table([(k, v["used"], v.get("available") or "-") for k, v in res.items()],
                        ["resource", "used", "available"])]
        if r.get("flow") == "vivado":
            body.append('<p class="note">Yosys <code>synth_xilinx</code> estimate (no Vivado '
                        'here).</p>')
    est = r.get("estimate") or {}
    if est:
        body.append(f'<p class="note">Plan estimate: {est.get("dsps")} multipliers, '
                    f'~{est.get("luts")} LUTs, {est.get("bram_blocks")} block RAMs'
                    + (f' (RAMB36 equivalents: {est.get("ramb18")} RAMB18)'
                       if r.get("flow") == "vivado" else "") + '.</p>')
    if r.get("fmax_mhz"):
        met = r["fmax_mhz"] >= r["clock_mhz"]
        body += ["<h2>Timing</h2>", _timing_figure(r["clock_mhz"], r["fmax_mhz"]),
                 f'<p class="{"ok" if met else "bad"}">timing {"met" if met else "NOT met"}'
                 f': Fmax {r["fmax_mhz"]:.2f} MHz, clock {r["clock_mhz"]:g} MHz</p>']
    else:
        body.append('<h2>Timing</h2><p class="note">No place and route ran: no Fmax.</p>')
    if r.get("notes"):
        body += ["<h2>Notes</h2><ul>"] + [f"<li>{_esc(n)}</li>" for n in r["notes"]] + ["</ul>"]
    return _page(f"fpgac build: {Path(str(r['model'])).name} on {r['board']}", body)


def verify_page(result: dict) -> str:
    """The ``fpgac verify`` page: verdict, per-layer cycles, mismatches, throughput."""
    r = result
    ok = r.get("passed")
    body = [f'<p class="{"ok" if ok else "bad"}">{"PASSED" if ok else "FAILED"}: '
            f'{r["mismatches"]} of {r["images"]} images differ from golden, '
            f'{r["cycle_mismatches"]} differ from the cycle model</p>',
            "<h2>Summary</h2>", _table([
                ("model", f"{r.get('model_name', '')} ({r['model']})"),
                ("lanes P / simulator", f"{r['pes']} / {r['simulator']}"),
                ("compute cycles simulated (min..max)",
                 f"{r['simulated_compute_cycles_min']}..{r['simulated_compute_cycles_max']}"),
                ("compute cycles predicted", r["predicted_compute_cycles"]),
                ("PE utilization", f"{r['pe_utilization']:.1%}"),
                ("accuracy RTL / golden",
                 f"{r['accuracy_rtl']:.2%} / {r['accuracy_golden']:.2%}"),
                ("simulation", f"{r['sim_seconds']:.1f} s, "
                               f"{r['sim_images_per_second']:.1f} images/s"),
            ])]
    per = r.get("per_layer") or []
    if per:
        body += ["<h2>Per-layer cycles (cycle model, met by the RTL to the cycle)</h2>",
                 _layer_figure([p["name"] for p in per], [p["cycles"] for p in per],
                               [p["utilization"] for p in per]),
                 _table([(p["name"], p["mode"], p["cycles"], p["nnz_macs"],
                          f"{p['utilization']:.1%}") for p in per],
                        ["layer", "mode", "cycles", "non-zero MACs", "PE utilization"])]
    body.append("<h2>Mismatches</h2>")
    if r["mismatch_examples"]:
        rows = []
        for ex in r["mismatch_examples"]:
            first = ex.get("first_difference")
            where = (f"layer {first['layer']} at {tuple(first['position'])}: rtl "
                     f"{first['rtl']} golden {first['golden']}" if first else "-")
            rows.append((ex["image"], ex["rtl_class"], ex["golden_class"],
                         str(ex["logit_indices"]), where))
        body.append(_table(rows, ["image", "RTL class", "golden class", "logits differ at",
                                  "first differing layer / position"]))
        if r.get("trace_command"):
            body.append(f"<p>Waveform of the first mismatch: <code>{_esc(r['trace_command'])}"
                        "</code></p>")
    else:
        body.append('<p class="ok">none: every logit of every image equals golden.</p>')
    sp = r.get("speed") or {}
    flat = {}
    for k, v in sp.items():
        for k2, v2 in (v.items() if isinstance(v, dict) else [("", v)]):
            flat[f"{k} {k2}".strip()] = v2
    rows = [(k, f"{v:.6g}" if isinstance(v, float) else v) for k, v in flat.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)]
    rows.append(("simulation speed", f"{r['sim_images_per_second']:.1f} images/s, "
                                     f"{r['sim_cycles_per_second'] / 1e6:.3f} M cycles/s"))
    if not sp.get("clock_mhz"):
        rows.append(("images/s on hardware", "give --clock-mhz or --build-report"))
    if rows:
        body += ["<h2>Throughput</h2>", _table(rows, ["figure", "value"])]
    return _page(f"fpgac verify: {r.get('model_name', '')}, {r['images']} images", body)


def eval_page(result: dict) -> str:
    """The ``fpgac eval`` page: accuracy, speed and the confusion matrix figure."""
    import numpy as np

    r = result
    conf = np.asarray(r["confusion"])
    recall = [(t, int(conf[t].sum()), f"{conf[t, t] / conf[t].sum():.1%}" if conf[t].sum()
               and t < conf.shape[1] else "-") for t in range(conf.shape[0])]
    body = ["<h2>Summary</h2>", _table([
        ("model", r["model"]), ("images", r["images"]),
        ("accuracy", f"{r['accuracy']:.2%} ({r['correct']}/{r['images']})"),
        ("golden model speed", f"{r['images_per_s']:.0f} images/s"),
    ]), "<h2>Confusion matrix</h2>", confusion_figure(conf),
        _table(recall, ["true label", "images", "recall"])]
    return _page(f"fpgac eval: {r['model']}", body)
