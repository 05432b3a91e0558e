"""``load_model``: read a model file of either format, validate it, return the IR."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from fpgac.compiler.ir import Model
from fpgac.errors import ModelError

from .checks import describe, is_finite_number
from .legacy import Hint, from_legacy
from .native import FORMAT, from_native
from .yamlio import MAX_BYTES, load_yaml, source_name

__all__ = ["load_model"]


def load_model(path: str | os.PathLike, *, mean: float | None = None, std: float | None = None,
               max_bytes: int = MAX_BYTES, padding: Sequence[int] | None = None,
               pool: Sequence[bool] | Sequence[str] | None = None,
               hint: Hint | None = None) -> Model:
    """Load and validate a model file: fpgac's own format or a legacy ``int_values`` export.

    Parameters
    ----------
    path
        The YAML file. A top-level ``format: fpgac-model/1`` selects the own format,
        ``head: int_values`` the legacy one. A ``head: float_value`` file is refused (the
        hardware needs its ``int_values`` twin; see :func:`load_float_reference`).
    mean, std
        Override the input preprocessing ``x = (p/255 - mean) / std`` (legacy default 0.5, 0.5;
        the own format stores it).
    max_bytes
        Files larger than this are rejected before parsing.
    padding, pool, hint
        Legacy files only: the topology as the user states it, and the function that measures
        each candidate's accuracy for an ambiguous file's refusal
        (``fpgac.sim.mnist.candidate_accuracy``; None: no accuracy in the message;
        :func:`.legacy.from_legacy`). ``padding``/``pool`` given for an own-format file (which
        states its topology) are an error.

    Returns
    -------
    Model
        The IR with explicit ops (ReLU, MaxPool2d and Flatten are separate ops).

    Raises
    ------
    ModelError
        For any invalid content; the message names the file, the key path, what was expected
        and what was found.
    """
    source = source_name(path)
    for key, value in (("mean", mean), ("std", std)):
        if value is not None and not (is_finite_number(value)
                                      and (key == "mean" or value > 0)):
            raise ModelError(f"{key} (argument)", "a finite number" + (" > 0" if key == "std"
                                                                       else ""),
                             describe(value), source=source)
    doc = load_yaml(path, max_bytes=max_bytes)
    if isinstance(doc, dict) and "format" in doc and (padding is not None or pool is not None):
        raise ModelError("padding/pool (argument)", "a legacy file (an fpgac-model file states "
                         "its topology)", f"a file with 'format: {doc.get('format')}'",
                         source=source)
    if isinstance(doc, dict) and "format" in doc:
        model = from_native(doc, source)
        if mean is not None or std is not None:
            model.input = dataclasses.replace(
                model.input, mean=model.input.mean if mean is None else float(mean),
                std=model.input.std if std is None else float(std))
        return model
    if isinstance(doc, dict) and "head" in doc:
        return from_legacy(doc, source, mean=0.5 if mean is None else float(mean),
                           std=0.5 if std is None else float(std), padding=padding, pool=pool,
                           hint=hint)
    raise ModelError("(top level)", f"a mapping with 'format: {FORMAT}' or 'head: int_values'",
                     describe(doc), source=source)
