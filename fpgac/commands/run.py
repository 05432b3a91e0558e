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
    p.add_argument("--baud", type=int, default=None,
                   help="baud rate (default: from --build-report, else --board's link rate)")
    p.add_argument("--build-report", default=None, metavar="REPORT_JSON",
                   help="the board's `fpgac build` report.json: its baud rate and, for the "
                        "loaded weight store, the weight image beside it (uploaded when the "
                        "board does not hold it yet)")
    p.add_argument("--board", default=None,
                   help="the board: its default link rate at its default (PLL) clock "
                        "(fpgac.boards.link)")
    p.add_argument("--window", type=int, default=None, metavar="N",
                   help="images in flight in the batched request (default 32)")
    p.add_argument("--model", default=None,
                   help="the model the board was built from (default: the shipped example)")
    p.add_argument("--limit", type=int, default=None, help="send at most N images")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per answer (5)")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np
    from rich.progress import Progress, TextColumn

    from fpgac.boards.host import BoardLink, Protocol, load_inputs
    from fpgac.compiler.frontend import load_model
    from fpgac.sim.mnist import candidate_accuracy
    from fpgac.errors import FpgacError
    from fpgac.flows.demo import default_model
    from fpgac.sim import golden

    model_path = args.model or default_model()
    model = load_model(model_path, hint=candidate_accuracy)
    last = model.weighted[-1]
    classes = int(last.weight.shape[0])
    weights = _weights(args)
    protocol = Protocol(int(np.prod(model.input.shape)), classes, int(last.n_bits),
                        loaded=weights is not None)
    images, labels = load_inputs(args.input, tuple(model.input.shape))
    if args.limit is not None:
        if args.limit < 1:
            raise FpgacError(f"--limit: expected a positive integer, found {args.limit}")
        images = images[: args.limit]
        labels = None if labels is None else labels[: args.limit]
    want_logits, _ = golden.predict(
        model, images.reshape((len(images),) + tuple(model.input.shape)))

    from fpgac.boards.host import DEFAULT_WINDOW

    window = DEFAULT_WINDOW if args.window is None else args.window
    if window < 1:
        raise FpgacError(f"--window: expected a positive integer, found {window}")
    baud = _baud(args)
    link = BoardLink.open(args.port, protocol, baud=baud, timeout=args.timeout)
    t0 = time.monotonic()
    try:
        if weights is not None and link.ensure_weights(weights):
            print(f"weights uploaded: {len(weights)} bytes in {time.monotonic() - t0:.2f} s")
            t0 = time.monotonic()
        with Progress(*Progress.get_default_columns(), TextColumn("{task.fields[rate]}"),
                      transient=True) as progress:
            task = progress.add_task(f"images ({baud} baud)", total=len(images), rate="")

            def advance(index, result):
                dt = time.monotonic() - t0
                progress.update(task, advance=1,
                                rate=f"{(index + 1) / dt:.1f} images/s" if dt > 0 else "")

            results = link.infer_batch(list(images), window=window, on_result=advance)
    finally:
        link.close()
    dt = time.monotonic() - t0
    got = np.array([res.klass for res in results])
    mismatches = sum(tuple(int(v) for v in want) != res.logits
                     for want, res in zip(want_logits, results))
    if len(images) == 1:
        print(f"class {results[0].klass}  logits {list(results[0].logits)}")
    print(f"{len(images)} image(s) in {dt:.2f} s ({len(images) / dt:.1f} images/s at "
          f"{baud} baud, batched, window {window})")
    print(f"bit-exact vs golden ({Path(model_path).name}): "
          f"{len(images) - mismatches}/{len(images)} logits identical")
    if labels is not None:
        acc = float(np.mean(got == labels))
        print(f"accuracy: {acc:.2%} ({int(np.sum(got == labels))}/{len(images)})")
    return 1 if mismatches else 0


def _weights(args):
    """The weight image to upload (``--build-report`` of a loaded-store build), else None."""
    if not args.build_report:
        return None
    import json

    from fpgac.boards.host import weight_file

    try:
        rep = json.loads(Path(args.build_report).read_text())
    except (OSError, ValueError):
        return None             # the rate's check (_baud) names the unreadable report
    return weight_file(rep, args.build_report) if isinstance(rep, dict) else None


def _baud(args) -> int:
    """The link rate: ``--baud``, else the build report's, else ``--board``'s default."""
    from fpgac.errors import FpgacError

    from .args import build_report

    if args.baud is not None:
        if args.baud < 1:
            raise FpgacError(f"--baud: expected a positive integer, found {args.baud}")
        return args.baud
    if args.build_report:
        return build_report(args.build_report, "baud", "an integer", int)["baud"]
    if args.board:
        from fpgac.boards.clock import plan_clock
        from fpgac.boards.link import link_baud
        from fpgac.boards.platforms import get_board

        return link_baud(args.board, float(plan_clock(get_board(args.board)).hz))
    raise FpgacError("--baud: expected the board's link rate, found none given; use "
                     "--build-report build/<model>-<board>/report.json (the rate it was built "
                     "with), --board NAME (its default rate at its default clock) or --baud N")
