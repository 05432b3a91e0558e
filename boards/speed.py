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
"""

from __future__ import annotations

import numpy as np

__all__ = ["speed_figures"]


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
