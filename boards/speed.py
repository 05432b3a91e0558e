"""Speed figures of the accelerator: per-image cycles, latency and images/s at a clock.

One definition for ``fpgac build`` (``report.json``), ``fpgac verify --json`` and
``bench/speed_bench.py``:

* ``compute_cycles``: per image, from the cycle after the last pixel is accepted to the cycle
  the result is valid (``docs/architecture.md``, timing contract); ``mean`` / ``min`` / ``max``
  over the images given (simulated, or predicted by the cycle model);
* ``load_cycles``: cycles to accept the image (one pixel per cycle);
* ``latency``: ``load_cycles + compute_cycles`` of an image, in cycles and microseconds;
* ``images_per_s``: the clock divided by the mean cycles between the starts of two images.
  The core takes the next image only after the previous result (no overlap), so that interval
  is the mean latency unless ``interval_cycles`` says otherwise.

Figures are given at the built clock and, when place and route reported one, at Fmax.
:func:`critical_path` reads the last critical path of the core clock from nextpnr's log (where
the next pipeline stage is needed).
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["speed_figures", "critical_path"]

_STEP = re.compile(r"Info:\s+(clk-to-q|routing|logic|setup)\s+([0-9.]+)\s+([0-9.]+)\s+"
                   r"(?:Source|Net)\s+(\S+)")


def _stats(values: np.ndarray) -> dict:
    return {"mean": float(values.mean()), "min": int(values.min()), "max": int(values.max())}


def speed_figures(compute_cycles, load_cycles: int, clock_hz: float | None = None,
                  fmax_hz: float | None = None, interval_cycles=None,
                  source: str = "simulated") -> dict:
    """The speed block (see the module docstring); ``None`` figures where no clock is known.

    Parameters
    ----------
    compute_cycles : int or sequence of int
        Compute cycles of each image (at least one).
    load_cycles : int
        Load cycles of an image.
    clock_hz, fmax_hz : float, optional
        The built clock and the place-and-route Fmax.
    interval_cycles : int or sequence of int, optional
        Cycles between the starts of consecutive images; default: the latency (no overlap).
    source : str
        Where the cycles come from (``"simulated"`` or ``"predicted"``), recorded as is.
    """
    compute = np.atleast_1d(np.asarray(compute_cycles, dtype=np.int64))
    if compute.size == 0:
        raise ValueError("speed_figures: expected at least one image's cycles, found none")
    if (compute < 0).any() or load_cycles < 0:
        raise ValueError("speed_figures: cycle counts must be >= 0")
    latency = compute + int(load_cycles)
    interval = (latency if interval_cycles is None
                else np.atleast_1d(np.asarray(interval_cycles, dtype=np.int64)))
    out = {
        "images": int(compute.size),
        "source": source,
        "load_cycles": int(load_cycles),
        "compute_cycles": _stats(compute),
        "latency_cycles": _stats(latency),
        "interval_cycles_mean": float(interval.mean()),
    }
    for key, hz in (("clock", clock_hz), ("fmax", fmax_hz)):
        if hz:
            out[f"{key}_mhz"] = hz / 1e6
            out[f"latency_us_at_{key}"] = {k: (v / hz * 1e6) for k, v in
                                           _stats(latency).items()}
            out[f"images_per_s_at_{key}"] = hz / float(interval.mean())
        else:
            out[f"{key}_mhz"] = None
            out[f"latency_us_at_{key}"] = None
            out[f"images_per_s_at_{key}"] = None
    return out


def critical_path(log_text: str) -> dict | None:
    """The last ``Critical path report for clock`` (clock to the same clock) in a nextpnr log.

    Returns ``{"delay_ns", "logic_ns", "routing_ns", "source", "sink", "steps"}`` (``delay_ns``
    nextpnr's total, the parts summed from its rounded steps; ``source``
    the launching cell pin, ``sink`` the capturing cell pin, ``steps`` the list of
    ``(kind, ns, name)``), or ``None`` when the log has no such report (P&R not run, or a
    design without registered paths).
    """
    blocks = re.split(r"Info: Critical path report for ", log_text)[1:]
    blocks = [b for b in blocks if b.startswith("clock ")]
    if not blocks:
        return None
    steps = []
    for line in blocks[-1].splitlines()[1:]:
        if not line.startswith("Info:") or not line.strip()[5:].strip():
            break
        hit = _STEP.match(line)
        if hit:
            steps.append((hit.group(1), float(hit.group(2)), hit.group(4)))
            total = float(hit.group(3))
    if not steps:
        return None
    kinds = [k for k, _, _ in steps]
    return {
        "delay_ns": total,
        "logic_ns": round(sum(ns for k, ns, _ in steps if k != "routing"), 3),
        "routing_ns": round(sum(ns for k, ns, _ in steps if k == "routing"), 3),
        "source": steps[0][2],
        "sink": steps[-1][2] if kinds[-1] == "setup" else None,
        "steps": steps,
    }
