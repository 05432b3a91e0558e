"""Host-link throughput per board: computed (fpgac.boards.link) and simulated (harness + core).

Usage::

    python bench/link_bench.py [--images 6] [--out bench/out/link]

For each board at its default clock and default link rate it simulates, in the Amaranth
simulator, the harness with the real core of a small random model (6x6 input, 36 bytes in,
27-byte frames out) at the board's real UART divisor: a batched request of ``--images``
images sent back to back on the RX pin at the line rate while the frames are read from the
TX pin. Simulated throughput = (images - 1) / (clock cycles between the ends of the first and
last frames) * clock; it is compared with ``link_figures`` for the same model (``baud / 10 /
max(bytes in, bytes out)``) and every frame is checked bit-exact against golden. The computed
figure for the LeNet-5 example (784 bytes in, 13 out) is printed beside it (a LeNet-5 run at
the line rate is ~200k cycles per image, too slow for the Python simulator).
Figures go to ``<out>/link.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from fpgac.boards.clock import plan_clock
from fpgac.boards.harness import Harness, frame_length
from fpgac.boards.host import Protocol, Result
from fpgac.boards.link import link_baud, link_figures
from fpgac.boards.platforms import get_board
from fpgac.boards.testing import uart_recv, uart_send
from fpgac.boards.uart import uart_divisor
from fpgac.compiler.analysis.cycles import predict
from fpgac.compiler.plan import plan_hardware
from fpgac.hw.amsim import run_testbench
from fpgac.sim import golden
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model

ROOT = Path(__file__).resolve().parent.parent


def simulate(plan, model, divisor, n: int) -> tuple[float, list[bytes]]:
    """Cycles between the ends of the first and last frame; the frames."""
    harness = Harness(plan, divisor=divisor)
    images = np.random.default_rng(1).integers(0, 256, (n,) + tuple(model.input.shape),
                                               dtype=np.uint8)
    frames, ends = [], []
    flen = harness.frame_length
    cycle = [0]

    async def clock(ctx):
        async for _ in ctx.tick():
            cycle[0] += 1

    async def line_in(ctx):
        await uart_send(ctx, harness.rx, images.tobytes(), divisor)

    async def line_out(ctx):
        for _ in range(n):
            frame = bytes([await uart_recv(ctx, harness.tx, divisor, timeout=10_000_000)
                           for _ in range(flen)])
            frames.append(frame)
            ends.append(cycle[0])

    run_testbench(harness, line_out, background=[line_in], processes=[clock])
    proto = Protocol.for_plan(plan)
    want_logits, want_class = golden.predict(model, images)
    for frame, logits, klass in zip(frames, want_logits, want_class):
        assert proto.decode_frame(frame) == Result(int(klass), tuple(int(v) for v in logits))
    return ends[-1] - ends[0], frames


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "link"))
    args = ap.parse_args()
    model = random_model(4, size=(6, 6), channels=(1, 1), n_bits=(4, 12), max_convs=2,
                         max_linears=2, strides=False, square=True)
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    cyc = predict(plan)
    small_cycles = int(cyc.load_cycles) + int(cyc.compute_cycles)
    rows = []
    for name in ("arty", "icebreaker", "ulx3s"):
        hz = float(plan_clock(get_board(name)).hz)
        baud = link_baud(name, hz)
        divisor = uart_divisor(hz, baud)
        t0 = time.perf_counter()
        cycles, _ = simulate(plan, model, divisor, args.images)
        wall = time.perf_counter() - t0
        simulated = (args.images - 1) / (cycles / hz)
        small = link_figures(name, baud, hz, plan.input_pixels,
                             frame_length(plan.classes, plan.out_bits), small_cycles)
        lenet = link_figures(name, baud, hz, 784, 13, 784 + 8760)
        row = {"board": name, "clock_mhz": hz / 1e6, "baud": baud, "divisor": float(divisor),
               "small_model_images_per_s_simulated": simulated,
               "small_model_images_per_s_computed": small["images_per_s"],
               "lenet5_images_per_s_computed": lenet["images_per_s"],
               "lenet5_single_request_images_per_s_computed":
                   lenet["single_request_images_per_s"],
               "sim_seconds": wall}
        rows.append(row)
        print(f"{name:10s} {hz / 1e6:6.1f} MHz {baud:>9d} baud div {float(divisor):6.2f}: "
              f"small model {simulated:8.1f} images/s simulated, {small['images_per_s']:8.1f} computed; "
              f"LeNet-5 {lenet['images_per_s']:6.1f} computed ({wall:.0f} s)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "link.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
