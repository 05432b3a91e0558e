"""Host side of the board protocol: frames, serial link (loop:// and a pty), input files."""

import gzip
import os
import struct
import threading

import numpy as np
import pytest
import serial
from PIL import Image

from fpgac.boards.host import BoardLink, Protocol, Result, load_inputs
from fpgac.errors import FpgacError

P8 = Protocol(input_pixels=16, classes=10, out_bits=8)
P12 = Protocol(input_pixels=16, classes=3, out_bits=12)


def test_frame_roundtrip_and_layout():
    frame = P12.encode_result(Result(2, (0x123, 0xFFF, 7)))
    # header, klass, 3 logits x 2 bytes LE, XOR checksum of everything after the header
    assert frame == bytes([0xA5, 2, 0x23, 0x01, 0xFF, 0x0F, 7, 0, 2 ^ 0x23 ^ 1 ^ 0xFF ^ 0xF ^ 7])
    assert P12.decode_frame(frame) == Result(2, (0x123, 0xFFF, 7))
    assert P8.frame_length == 13 and P12.frame_length == 9


@pytest.mark.parametrize("mutate, message", [
    (lambda f: f[:-1], "expected 13 bytes, found 12"),
    (lambda f: b"\x5a" + f[1:], "expected header 0xA5, found 0x5A"),
    (lambda f: f[:-1] + bytes([f[-1] ^ 1]), "expected checksum"),
])
def test_frame_errors(mutate, message):
    frame = P8.encode_result(Result(4, tuple(range(10))))
    with pytest.raises(FpgacError, match=message):
        P8.decode_frame(mutate(frame))


def test_frame_rejects_class_out_of_range():
    frame = P8.encode_result(Result(12, tuple(range(10))))
    with pytest.raises(FpgacError, match="expected a class < 10, found 12"):
        P8.decode_frame(frame)


def test_encode_image_checks():
    assert P8.encode_image(np.arange(16).reshape(4, 4)) == bytes(range(16))
    with pytest.raises(FpgacError, match="expected 16 pixels, found 15"):
        P8.encode_image(np.zeros(15))
    with pytest.raises(FpgacError, match=r"expected pixels in \[0, 255\], found \[0, 300\]"):
        P8.encode_image(np.array([300] + [0] * 15))


def test_read_frame_skips_noise_on_loop_port():
    port = serial.serial_for_url("loop://", timeout=0.1)
    link = BoardLink(port, P8, timeout=1.0)
    want = Result(9, tuple(range(20, 30)))
    port.write(b"\x00\x13" + P8.encode_result(want))
    assert link.read_frame() == want
    port.write(b"\x5a" + P8.encode_result(want))   # a status header is noise to a ROM board
    assert link.read_frame() == want
    port.write(P8.encode_result(want)[:5])
    with pytest.raises(FpgacError, match="expected a 13-byte result frame within 0.2 s, found 5"):
        BoardLink(port, P8, timeout=0.2).read_frame()


def test_infer_over_pty_with_board_emulator():
    """BoardLink.open on a real tty: the emulator answers each image with sum-derived frames."""
    master, slave = os.openpty()
    name = os.ttyname(slave)

    def board():
        for _ in range(2):
            data = b""
            while len(data) < 16:
                data += os.read(master, 16 - len(data))
            klass = sum(data) % 10
            os.write(master, P8.encode_result(Result(klass, tuple(data[:10]))))

    thread = threading.Thread(target=board, daemon=True)
    thread.start()
    link = BoardLink.open(name, P8, baud=115200, timeout=5.0)
    try:
        for seed in (1, 2):
            img = np.random.default_rng(seed).integers(0, 256, 16)
            res = link.infer(img)
            assert res == Result(int(img.sum()) % 10, tuple(int(v) for v in img[:10]))
    finally:
        link.close()
        thread.join(5)
        os.close(master)
        os.close(slave)


def test_open_bad_port():
    with pytest.raises(FpgacError, match="--port: expected a serial port that opens, found"):
        BoardLink.open("/dev/does-not-exist-fpgac", P8)


def _idx(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def test_load_inputs_formats(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 5, dtype=np.uint8)

    Image.fromarray(imgs[0]).save(tmp_path / "a.png")
    Image.fromarray(imgs[1]).save(tmp_path / "b.pgm")
    (tmp_path / "c.raw").write_bytes(imgs[2].tobytes())
    (tmp_path / "t-images-idx3-ubyte").write_bytes(_idx(imgs))
    (tmp_path / "t-labels-idx1-ubyte").write_bytes(_idx(labels))
    (tmp_path / "g-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(imgs[:2])))

    shape = (1, 28, 28)
    for name, want in (("a.png", imgs[:1]), ("b.pgm", imgs[1:2]), ("c.raw", imgs[2:3])):
        got, lab = load_inputs(tmp_path / name, shape)
        assert lab is None and np.array_equal(got, want.reshape(1, 784))
    got, lab = load_inputs(tmp_path / "t-images-idx3-ubyte", shape)
    assert np.array_equal(got, imgs.reshape(5, 784)) and np.array_equal(lab, labels)
    got, lab = load_inputs(tmp_path / "g-images-idx3-ubyte.gz", shape)
    assert np.array_equal(got, imgs[:2].reshape(2, 784)) and lab is None


def test_load_inputs_errors(tmp_path):
    Image.fromarray(np.zeros((20, 28), np.uint8)).save(tmp_path / "small.png")
    (tmp_path / "short.raw").write_bytes(bytes(100))
    with pytest.raises(FpgacError, match="expected a 28x28 grey image, found 20x28"):
        load_inputs(tmp_path / "small.png", (1, 28, 28))
    with pytest.raises(FpgacError, match="expected a PNG/PGM image, an IDX file or 784 raw "
                                         "bytes, found 100 bytes"):
        load_inputs(tmp_path / "short.raw", (1, 28, 28))
    with pytest.raises(FpgacError, match="found no file"):
        load_inputs(tmp_path / "missing.png", (1, 28, 28))
