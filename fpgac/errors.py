"""Errors that reach users.

Every error a user can cause (a bad model file, a bad flag, a design that does not fit) is an
:class:`FpgacError`. The CLI prints its message alone and exits with status 2: no traceback.
"""

from __future__ import annotations

__all__ = ["FpgacError", "ModelError", "UnsupportedError"]


class FpgacError(Exception):
    """An error caused by the user's input, with a message meant for the user."""


class ModelError(FpgacError):
    """A model file or IR is invalid.

    The message always names where (the key path inside the file, e.g. ``layers[2].weight.size``),
    what was expected and what was found::

        model.yml: layers[2].wz: expected an integer in [0, 255], found 300
    """

    def __init__(self, path: str, expected: str, found: object, *, source: str | None = None):
        self.path = path
        self.expected = expected
        self.found = found
        self.source = source
        where = f"{source}: {path}" if source else path
        super().__init__(f"{where}: expected {expected}, found {_show(found)}")


class UnsupportedError(FpgacError):
    """A valid model that a tool (for example the hardware generator) cannot handle."""


def _show(value: object, limit: int = 60) -> str:
    if isinstance(value, str) and not value.startswith(("a ", "an ", "shape ", "no ", "key")):
        text = repr(value)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
