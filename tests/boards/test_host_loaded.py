"""Host side of the loaded weight store: upload and status frames, the weight file check, and
:class:`~fpgac.boards.host.BoardLink` on a pty against the simulated harness + core."""

import fcntl
import json
import os
import threading

import pytest

from fpgac.boards.harness import Harness
from fpgac.boards.host import BoardLink, Protocol, Status, weight_file
from fpgac.boards.testing import uart_recv, uart_send
from fpgac.compiler.passes.weight_image import image_crc, weight_image
from fpgac.errors import FpgacError
from fpgac.hw.amsim import run_testbench

PL = Protocol(input_pixels=4, classes=2, out_bits=8, loaded=True)


class _Port:
    """A scripted serial port: ``answers`` are returned by ``read`` in turn."""

    def __init__(self, answers):
        self.answers = bytearray(b"".join(answers))
        self.written = bytearray()

    def write(self, data):
        self.written += data

    def read(self, n):
        out = bytes(self.answers[:n])
        del self.answers[:n]
        return out

    def flush(self):
        pass

    def reset_input_buffer(self):
        pass


def _status(code, crc):
    body = bytes([code, crc & 0xFF, crc >> 8])
    return bytes([0x5A]) + body + bytes([body[0] ^ body[1] ^ body[2]])


def test_encode_and_decode():
    assert PL.encode_image([1, 2, 3, 4]) == b"I\x01\x02\x03\x04"
    assert PL.encode_upload(b"ab") == b"Wab" + image_crc(b"ab").to_bytes(2, "little")
    assert PL.decode_status(_status(1, 0xBEEF)) == Status(1, 0xBEEF)
    with pytest.raises(FpgacError, match="expected check"):
        PL.decode_status(_status(1, 0xBEEF)[:4] + b"\x00")
    with pytest.raises(FpgacError, match="expected 5 bytes starting with 0x5A"):
        PL.decode_status(b"\xa5\x01\x00\x00\x01")


def test_ensure_weights_skips_uploads_and_reports_bad_acks():
    image = bytes(range(40))
    crc = image_crc(image)
    port = _Port([_status(1, crc)])
    assert BoardLink(port, PL, timeout=0.2).ensure_weights(image) is False
    assert bytes(port.written) == b"?"
    port = _Port([_status(0, 0), _status(1, crc)])
    assert BoardLink(port, PL, timeout=0.2).ensure_weights(image) is True
    assert bytes(port.written) == b"?" + PL.encode_upload(image)
    for code, text in ((2, "upload checksum mismatch"), (3, "upload truncated"),
                       (4, "upload refused: an image was in flight")):
        port = _Port([_status(0, 0), _status(code, 0x1234)])
        with pytest.raises(FpgacError, match=f"expected the board to acknowledge the upload "
                                             f"with CRC 0x{crc:04X}, found {text}"):
            BoardLink(port, PL, timeout=0.2).ensure_weights(image)
    with pytest.raises(FpgacError, match="expected a 5-byte status frame"):
        BoardLink(_Port([]), PL, timeout=0.2).ensure_weights(image)


def test_result_read_refused_with_a_status_frame():
    link = BoardLink(_Port([_status(0, 0)]), PL, timeout=0.2)
    with pytest.raises(FpgacError, match=r"found a status frame \(no weights\): upload"):
        link.read_frame()


def test_weight_file_belongs_to_the_report(tmp_path):
    image = bytes(range(50))
    report = {"weight_store": {"kind": "loaded", "file": "weights.bin", "bytes": 50,
                               "crc16": image_crc(image)}}
    rpath = tmp_path / "report.json"
    rpath.write_text(json.dumps(report))
    with pytest.raises(FpgacError, match="expected the weight image .* found no file"):
        weight_file(report, rpath)
    (tmp_path / "weights.bin").write_bytes(image)
    assert weight_file(report, rpath) == image
    assert weight_file({"weight_store": {"kind": "rom"}}, rpath) is None
    (tmp_path / "weights.bin").write_bytes(image[:-1])
    with pytest.raises(FpgacError, match=r"expected 50 bytes \(report.json weight_store.bytes"
                                         r"\), found 49"):
        weight_file(report, rpath)
    (tmp_path / "weights.bin").write_bytes(image[::-1])
    with pytest.raises(FpgacError, match="expected CRC-16"):
        weight_file(report, rpath)


@pytest.mark.slow
def test_link_uploads_then_classifies_over_pty(loaded_case):
    """ensure_weights + infer_batch on a real tty whose other end is the simulated harness."""
    plan, images, want = loaded_case(4, size=(6, 6), pes=2, n_bits=(4, 12), image_seed=3)
    master, slave = os.openpty()
    fcntl.fcntl(master, fcntl.F_SETFL, fcntl.fcntl(master, fcntl.F_GETFL) | os.O_NONBLOCK)
    harness = Harness(plan, divisor=4)
    stop, errors = threading.Event(), []

    async def pump_in(ctx):
        while not stop.is_set():
            try:
                data = os.read(master, 4096)
            except BlockingIOError:
                data = b""
            if data:
                await uart_send(ctx, harness.rx, data, 4)
            else:
                await ctx.tick().repeat(400)

    async def pump_out(ctx):
        while True:
            while ctx.get(harness.tx):
                await ctx.changed(harness.tx)
            os.write(master, bytes([await uart_recv(ctx, harness.tx, 4, timeout=1)]))

    def run_sim():
        try:
            run_testbench(harness, pump_in, background=[pump_out], period=1e-6)
        except BaseException as exc:          # surfaced by the main thread below
            errors.append(exc)

    thread = threading.Thread(target=run_sim, daemon=True)
    thread.start()
    link = BoardLink.open(os.ttyname(slave), Protocol.for_plan(plan), timeout=60.0)
    try:
        image = weight_image(plan)
        assert link.query() == Status(0, 0)
        assert link.ensure_weights(image) is True
        assert link.ensure_weights(image) is False          # the board already holds them
        got = link.infer_batch(list(images))
    finally:
        link.close()
        stop.set()
        thread.join(60)
        os.close(master)
        os.close(slave)
    assert not errors
    assert got == want


def test_run_checks_the_weight_file_of_a_loaded_build(tmp_path, capsys):
    """``fpgac run --build-report`` of a loaded-store build reads ``weights.bin`` beside the
    report and refuses one that does not belong to it (exit 2, one line)."""
    from fpgac.cli import main

    raw = tmp_path / "img.raw"
    raw.write_bytes(bytes(784))
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"baud": 115200, "weight_store": {
        "kind": "loaded", "file": "weights.bin", "bytes": 4, "crc16": image_crc(b"abcd")}}))
    assert main(["run", "--port", "loop://", "--build-report", str(report), str(raw)]) == 2
    assert "expected the weight image" in capsys.readouterr().err
    (tmp_path / "weights.bin").write_bytes(b"abce")
    assert main(["run", "--port", "loop://", "--build-report", str(report), str(raw)]) == 2
    assert "expected CRC-16" in capsys.readouterr().err
    (tmp_path / "weights.bin").write_bytes(b"abcd")     # loop:// echoes '?': no status frame
    assert main(["run", "--port", "loop://", "--build-report", str(report), "--timeout", "0.3",
                 str(raw)]) == 2
    assert "expected a 5-byte status frame" in capsys.readouterr().err
