"""YAML model files (legacy ``int_values``/``float_value`` and fpgac's own format) <-> IR.

Public API
----------
``load_model(path, *, mean=None, std=None, max_bytes=64 MiB) -> Model``
    Either format, dispatched on the top-level ``format`` / ``head`` key; fully validated.
``load_float_reference(path) -> dict[name, (weight, bias | None)]``
    The float twin (``head: float_value``) of a legacy export.
``save_model(model, path, *, layout="coo")``
    fpgac's own format (``format: fpgac-model/1``); layouts ``coo``, ``dense``, ``csr``, ``csc``.
``save_legacy(model, path, *, coo=False)`` / ``save_legacy_float(model, float_weights, path, *,
coo=False)``
    The legacy ``int_values`` / ``float_value`` files (refuses models the legacy topology cannot
    express).
``load_yaml(path_or_text, *, max_bytes)`` / ``dump_yaml(obj, path=None, *, sort_keys=True)``
    Hardened safe YAML I/O.

Every problem with an input file raises :class:`fpgac.errors.ModelError` naming the file, the key
path, what was expected and what was found. The formats are documented in
``docs/model-format.md``.
"""

from __future__ import annotations

from .legacy import load_float_reference, save_legacy, save_legacy_float
from .load import load_model
from .native import save_model
from .yamlio import dump_yaml, load_yaml

__all__ = ["load_yaml", "dump_yaml", "load_model", "load_float_reference", "save_model",
           "save_legacy", "save_legacy_float"]
