"""``fpgac run``: send images to a board running an fpgac build and read its answers."""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="classify images on a board over its UART",
        description="Send images to a board built with `fpgac build` and print its answers. "
                    "INPUT is a PNG/PGM image, a raw file of one image's bytes, or an IDX "
                    "images file (with its labels file beside it: accuracy). With the model "
                    "the board was built from, every answer is also checked against the "
                    "golden model (bit-exact logits).")
    p.add_argument("input", help="PNG/PGM image, raw bytes, or IDX images file")
    p.add_argument("--port", required=True,
                   help="serial port, e.g. /dev/ttyUSB1 (any pyserial URL works)")
    p.add_argument("--baud", type=int, default=115200, help="baud rate (115200)")
    p.add_argument("--model", default=None,
                   help="the model the board was built from (default: the shipped example)")
    p.add_argument("--limit", type=int, default=None, help="send at most N images")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per answer (5)")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np
    from rich.progress import Progress

    from fpgac.boards.host import BoardLink, Protocol, load_inputs
    from fpgac.compiler.frontend import load_model
    from fpgac.errors import FpgacError
    from fpgac.flows.demo import default_model
    from fpgac.sim import golden

    model_path = args.model or default_model()
    model = load_model(model_path)
    last = model.weighted[-1]
    classes = int(last.weight.shape[0])
    protocol = Protocol(int(np.prod(model.input.shape)), classes, int(last.n_bits))
    images, labels = load_inputs(args.input, tuple(model.input.shape))
    if args.limit is not None:
        if args.limit < 1:
            raise FpgacError(f"--limit: expected a positive integer, found {args.limit}")
        images = images[: args.limit]
        labels = None if labels is None else labels[: args.limit]
    want_logits, _ = golden.predict(
        model, images.reshape((len(images),) + tuple(model.input.shape)))

    link = BoardLink.open(args.port, protocol, baud=args.baud, timeout=args.timeout)
    got = []
    mismatches = 0
    t0 = time.monotonic()
    try:
        with Progress(transient=True) as progress:
            task = progress.add_task("images", total=len(images))
            for i, img in enumerate(images):
                res = link.infer(img)
                got.append(res.klass)
                if tuple(int(v) for v in want_logits[i]) != res.logits:
                    mismatches += 1
                if len(images) == 1:
                    print(f"class {res.klass}  logits {list(res.logits)}")
                progress.advance(task)
    finally:
        link.close()
    dt = time.monotonic() - t0
    got = np.array(got)
    print(f"{len(images)} image(s) in {dt:.2f} s ({len(images) / dt:.1f} images/s)")
    print(f"bit-exact vs golden ({Path(model_path).name}): "
          f"{len(images) - mismatches}/{len(images)} logits identical")
    if labels is not None:
        acc = float(np.mean(got == labels))
        print(f"accuracy: {acc:.2%} ({int(np.sum(got == labels))}/{len(images)})")
    return 1 if mismatches else 0
