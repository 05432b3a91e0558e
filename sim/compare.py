"""One definition of "the RTL agrees": an RTL run against the golden model and the cycle model.

``fpgac verify`` and every RTL test use :func:`compare`, so a mismatch means the same thing
everywhere: an image mismatches when any logit or its class differs from
:func:`fpgac.sim.golden.predict` (0 LSB), and its cycles mismatch when its simulated compute
cycles differ from :func:`fpgac.compiler.analysis.cycles.predict`'s ``compute_cycles``; for a
plan with ``overlap`` (images back to back) every start-to-start interval must equal its
``interval_cycles`` too. A run of the loaded weight store also fails when its weight upload
failed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fpgac.compiler.analysis import cycles

from . import golden

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True)
class Comparison:
    """The per-image verdicts of one RTL run.

    Attributes
    ----------
    logit_bad, class_bad : numpy.ndarray
        ``bool [N]``: the image's logits (any of them) / its class differ from golden.
    cycle_bad : numpy.ndarray
        ``int64`` indices of the images whose compute cycles differ from ``predicted_cycles``.
    predicted_cycles : int
        The cycle model's compute cycles per image.
    interval_bad : numpy.ndarray
        ``int64`` indices ``i`` of the intervals (image ``i`` to ``i + 1``) that differ from
        the cycle model's ``interval_cycles``; checked for ``plan.overlap`` runs only (empty
        otherwise).
    upload_ok : bool
        For the loaded weight store: an upload ran and was taken (CRC and length); for the ROM
        store: no upload ran.
    message : str
        What differs, for an assertion or a log line (the first mismatching image with both
        logit vectors, the set of simulated cycle counts, the upload); ``""`` when exact.
    """

    logit_bad: np.ndarray
    class_bad: np.ndarray
    cycle_bad: np.ndarray
    predicted_cycles: int
    interval_bad: np.ndarray
    upload_ok: bool
    message: str

    @property
    def mismatches(self) -> np.ndarray:
        """Indices of the images whose logits or class differ from golden."""
        return np.flatnonzero(self.logit_bad | self.class_bad)

    @property
    def exact(self) -> bool:
        """Every image bit-exact and cycle-exact, and the upload (if any) went through."""
        return (self.upload_ok and not self.mismatches.size and not self.cycle_bad.size
                and not self.interval_bad.size)


def compare(model, plan, images: np.ndarray, res, *, want=None) -> Comparison:
    """Compare ``res`` (an :class:`fpgac.sim.rtl.RtlResult` of ``images`` on ``plan``) with golden.

    ``want`` is golden's ``(logits, klass)`` for ``images`` if the caller already has it;
    otherwise it is computed here. ``images`` are the raw ``uint8`` images the RTL ran.
    """
    logits, klass = want if want is not None else golden.predict(model, images)
    logit_bad = (res.logits != logits).any(axis=1)
    class_bad = res.klass != klass
    report = cycles.predict(plan)
    predicted = int(report.compute_cycles)
    cycle_bad = np.flatnonzero(res.compute_cycles != predicted)
    interval_bad = np.zeros(0, np.int64)
    if plan.overlap:
        if res.start_cycles is None or len(res.start_cycles) != len(klass):
            interval_bad = np.arange(max(len(klass) - 1, 0))    # no start cycles: unchecked
        else:
            interval_bad = np.flatnonzero(res.interval_cycles != report.interval_cycles)
    if plan.weight_store == "loaded":
        upload_ok = res.weights is not None and bool(res.weights.ok)
    else:
        upload_ok = res.weights is None
    lines = []
    bad = np.flatnonzero(logit_bad | class_bad)
    if bad.size:
        i = bad[0]
        lines.append(f"{bad.size} of {len(klass)} images mismatch, first {i}: rtl logits "
                     f"{res.logits[i].tolist()} class {int(res.klass[i])}, golden "
                     f"{logits[i].tolist()} class {int(klass[i])}")
    if cycle_bad.size:
        lines.append(f"{cycle_bad.size} images with compute cycles "
                     f"{sorted(set(res.compute_cycles[cycle_bad].tolist()))}, "
                     f"predicted {predicted}")
    if interval_bad.size:
        got = (sorted(set(res.interval_cycles[interval_bad].tolist()))
               if res.start_cycles is not None else "no start cycles")
        lines.append(f"{interval_bad.size} start-to-start intervals {got}, predicted "
                     f"{report.interval_cycles}")
    if not upload_ok:
        lines.append(f"weight upload ({plan.weight_store} store): {res.weights}")
    return Comparison(logit_bad, class_bad, cycle_bad, predicted, interval_bad, upload_ok,
                      "; ".join(lines))
