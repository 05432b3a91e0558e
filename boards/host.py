"""Host side of the board protocol (see :mod:`fpgac.boards.harness` and ``docs/boards.md``).

:class:`Protocol` encodes images and decodes result frames; :class:`BoardLink` talks to a board
over any pyserial port (a real ``/dev/ttyUSB*``, or ``serial.serial_for_url("loop://")`` and pty
pairs in tests).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from fpgac.boards.harness import (HEADER, STATUS_BAD_CRC, STATUS_BUSY, STATUS_HEADER,
                                  STATUS_LENGTH, STATUS_LOADED, STATUS_NONE, STATUS_TRUNCATED,
                                  frame_length, logit_bytes)
from fpgac.errors import FpgacError

__all__ = ["Result", "Status", "Protocol", "BoardLink", "load_inputs", "DEFAULT_WINDOW",
           "weight_file"]

#: Images in flight in a batched request (:meth:`BoardLink.infer_batch`).
DEFAULT_WINDOW = 32


@dataclass(frozen=True)
class Result:
    """One decoded answer: predicted class and the raw output integers."""

    klass: int
    logits: tuple[int, ...]


#: What each status code means (``docs/boards.md``, "Weight upload").
STATUS_TEXT = {STATUS_NONE: "no weights", STATUS_LOADED: "weights loaded",
               STATUS_BAD_CRC: "upload checksum mismatch",
               STATUS_TRUNCATED: "upload truncated (the line went quiet before its end)",
               STATUS_BUSY: "upload refused: an image was in flight"}


@dataclass(frozen=True)
class Status:
    """A status frame of the loaded weight store: ``code`` and the CRC-16 it reports."""

    code: int
    crc: int

    @property
    def text(self) -> str:
        return STATUS_TEXT.get(self.code, f"unknown status {self.code}")


@dataclass(frozen=True)
class Protocol:
    """Wire format for a model with ``input_pixels`` pixels and ``classes`` logits of
    ``out_bits`` bits each; ``loaded``: the board has the loaded weight store (commands
    ``'?'``, ``'W'``, ``'I'``, status frames; ``docs/boards.md``)."""

    input_pixels: int
    classes: int
    out_bits: int
    loaded: bool = False

    @classmethod
    def for_plan(cls, plan) -> "Protocol":
        return cls(int(plan.input_pixels), int(plan.classes), int(plan.out_bits),
                   plan.weight_store == "loaded")

    def encode_upload(self, image: bytes) -> bytes:
        """The upload request for a weight image: ``'W'``, the image, its CRC-16 (little
        endian)."""
        from fpgac.compiler.passes.weight_image import image_crc

        return b"W" + bytes(image) + image_crc(image).to_bytes(2, "little")

    @staticmethod
    def decode_status(frame: bytes) -> Status:
        """Decode a status frame; :class:`FpgacError` on a bad header, length or check."""
        if len(frame) != STATUS_LENGTH or frame[0] != STATUS_HEADER:
            raise FpgacError(f"board status: expected {STATUS_LENGTH} bytes starting with "
                             f"0x{STATUS_HEADER:02X}, found {bytes(frame).hex()}")
        if frame[1] ^ frame[2] ^ frame[3] != frame[4]:
            raise FpgacError(f"board status: expected check 0x{frame[1] ^ frame[2] ^ frame[3]:02X}"
                             f", found 0x{frame[4]:02X}")
        return Status(frame[1], frame[2] | frame[3] << 8)

    @property
    def frame_length(self) -> int:
        return frame_length(self.classes, self.out_bits)

    def encode_image(self, pixels) -> bytes:
        """Bytes for one image: ``input_pixels`` unsigned 8-bit values, row-major (after the
        command byte ``'I'`` with the loaded store)."""
        arr = np.asarray(pixels)
        prefix = b"I" if self.loaded else b""
        if arr.size != self.input_pixels:
            raise FpgacError(f"image: expected {self.input_pixels} pixels, found {arr.size}")
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise FpgacError(f"image: expected pixels in [0, 255], found "
                             f"[{arr.min()}, {arr.max()}]")
        return prefix + arr.astype(np.uint8).reshape(-1).tobytes()

    def encode_result(self, result: Result) -> bytes:
        """The frame the board sends for ``result`` (used to test decoders)."""
        width = logit_bytes(self.out_bits)
        body = bytes([result.klass]) + b"".join(
            int(v).to_bytes(width, "little") for v in result.logits)
        check = 0
        for b in body:
            check ^= b
        return bytes([HEADER]) + body + bytes([check])

    def decode_frame(self, frame: bytes) -> Result:
        """Decode one complete frame; :class:`FpgacError` on a bad header, length or checksum."""
        if len(frame) != self.frame_length:
            raise FpgacError(f"board frame: expected {self.frame_length} bytes, "
                             f"found {len(frame)}")
        if frame[0] != HEADER:
            raise FpgacError(f"board frame: expected header 0x{HEADER:02X}, "
                             f"found 0x{frame[0]:02X}")
        check = 0
        for b in frame[1:-1]:
            check ^= b
        if check != frame[-1]:
            raise FpgacError(f"board frame: expected checksum 0x{check:02X}, "
                             f"found 0x{frame[-1]:02X}")
        width = logit_bytes(self.out_bits)
        logits = tuple(int.from_bytes(frame[2 + i * width:2 + (i + 1) * width], "little")
                       for i in range(self.classes))
        klass = frame[1]
        if klass >= self.classes:
            raise FpgacError(f"board frame: expected a class < {self.classes}, found {klass}")
        return Result(klass, logits)


class BoardLink:
    """A board running an fpgac harness, behind a pyserial port.

    Parameters
    ----------
    port : serial.Serial-like
        An open port (anything with ``write``, ``read``, ``reset_input_buffer``).
    protocol : Protocol
        The model's wire format.
    timeout : float
        Seconds to wait for one answer.
    """

    def __init__(self, port, protocol: Protocol, *, timeout: float = 5.0, baud: int = 115200):
        self.port = port
        self.protocol = protocol
        self.timeout = timeout
        self._baud = int(baud)

    @classmethod
    def open(cls, device: str, protocol: Protocol, *, baud: int = 115200,
             timeout: float = 5.0) -> "BoardLink":
        """Open ``device`` (a path or a pyserial URL) at ``baud``, 8N1."""
        import serial

        try:
            port = serial.serial_for_url(device, baudrate=baud, bytesize=8, parity="N",
                                         stopbits=1, timeout=min(timeout, 0.5))
        except (serial.SerialException, ValueError) as exc:
            raise FpgacError(f"--port: expected a serial port that opens, found {device!r} "
                             f"({exc})") from None
        return cls(port, protocol, timeout=timeout, baud=baud)

    def close(self):
        self.port.close()

    def _read(self, lengths: dict[int, int], timeout: float) -> bytearray:
        """Read until the first frame whose header byte is a key of ``lengths`` (the value:
        that frame's length) is complete, skipping any other bytes before it; return it, or at
        the deadline the bytes kept so far (shorter than any frame)."""
        deadline = time.monotonic() + timeout
        first = next(iter(lengths.values()))
        buf = bytearray()
        while time.monotonic() < deadline:
            buf += self.port.read(max(1, lengths.get(buf[0], first) - len(buf) if buf else first))
            while buf and buf[0] not in lengths:
                del buf[0]
            if buf and len(buf) >= lengths[buf[0]]:
                return buf[:lengths[buf[0]]]
        return buf

    def read_frame(self) -> Result:
        """Read bytes until one valid frame has arrived (skipping noise before the header).
        With the loaded store a status frame instead means the board refused the image."""
        n = self.protocol.frame_length
        lengths = {HEADER: n, **({STATUS_HEADER: STATUS_LENGTH} if self.protocol.loaded else {})}
        buf = self._read(lengths, self.timeout)
        if buf[:1] == bytes([STATUS_HEADER]) and len(buf) == STATUS_LENGTH:
            status = self.protocol.decode_status(bytes(buf))
            raise FpgacError(f"board: expected a result frame, found a status frame "
                             f"({status.text}): upload the weights first (fpgac run "
                             f"--build-report REPORT_JSON does)")
        if len(buf) == n:
            return self.protocol.decode_frame(bytes(buf))
        raise FpgacError(f"board: expected a {n}-byte result frame within {self.timeout:g} s, "
                         f"found {len(buf)} bytes (is the board programmed with this model "
                         f"and baud rate?)")

    def read_status(self, timeout: float | None = None) -> Status:
        """Read one status frame (skipping noise before its header)."""
        wait = self.timeout if timeout is None else timeout
        buf = self._read({STATUS_HEADER: STATUS_LENGTH}, wait)
        if len(buf) == STATUS_LENGTH:
            return self.protocol.decode_status(bytes(buf))
        raise FpgacError(f"board: expected a {STATUS_LENGTH}-byte status frame within "
                         f"{wait:g} s, found {len(buf)} bytes (is the board programmed "
                         f"with a loaded-weight-store build and this baud rate?)")

    def query(self) -> Status:
        """Ask a loaded-store board whether it holds weights (``'?'``)."""
        self.port.reset_input_buffer()
        self.port.write(b"?")
        self.port.flush()
        return self.read_status()

    def ensure_weights(self, image: bytes, *, force: bool = False) -> bool:
        """Upload ``image`` unless the board already holds weights with its CRC-16; returns
        whether it uploaded. :class:`FpgacError` when the board does not acknowledge the
        upload (checksum mismatch, truncated, busy)."""
        from fpgac.compiler.passes.weight_image import image_crc

        if not self.protocol.loaded:
            raise FpgacError("weights: expected a board with the loaded weight store, found a "
                             "protocol without it (report.json weight_store.kind is 'rom')")
        crc = image_crc(image)
        if not force:
            status = self.query()
            if status.code == STATUS_LOADED and status.crc == crc:
                return False
        self.port.reset_input_buffer()
        self.port.write(self.protocol.encode_upload(image))
        self.port.flush()
        # the board answers after the last byte; allow the line time of the image
        status = self.read_status(self.timeout + 20 * len(image) / max(1, self._baud))
        if status.code != STATUS_LOADED or status.crc != crc:
            raise FpgacError(f"weights: expected the board to acknowledge the upload with CRC "
                             f"0x{crc:04X}, found {status.text} (CRC 0x{status.crc:04X})")
        return True

    def infer(self, pixels) -> Result:
        """Send one image and return the board's answer."""
        self.port.reset_input_buffer()
        self.port.write(self.protocol.encode_image(pixels))
        self.port.flush()
        return self.read_frame()

    def infer_batch(self, images, *, window: int = DEFAULT_WINDOW, on_result=None
                    ) -> list[Result]:
        """Send ``images`` as one batched request and return the answers in order.

        The images go out back to back while the answers stream back (full duplex): at most
        ``window`` images are in flight (sent, answer not yet read), which keeps the line busy
        without letting unread answers pile up in the host's receive buffer. The harness
        queues the bytes that arrive while the core computes
        (:func:`fpgac.boards.harness.rx_fifo_depth`). ``on_result(index, result)`` is called
        as each answer arrives (progress display).
        """
        if window < 1:
            raise FpgacError(f"window: expected a positive integer, found {window}")
        payloads = [self.protocol.encode_image(img) for img in images]
        self.port.reset_input_buffer()
        results: list[Result] = []
        sent = 0
        while len(results) < len(payloads):
            burst = b""
            while sent < len(payloads) and sent - len(results) < window:
                burst += payloads[sent]
                sent += 1
            if burst:
                self.port.write(burst)
            results.append(self.read_frame())
            if on_result is not None:
                on_result(len(results) - 1, results[-1])
        return results


def weight_file(report: dict, report_path) -> bytes | None:
    """The weight image of a loaded-store build: ``report['weight_store']['file']`` beside
    ``report_path``, checked against the report's bytes and CRC-16 (so that it belongs to the
    bitstream); ``None`` for a ROM build. :class:`FpgacError` naming what differs."""
    from pathlib import Path

    from fpgac.compiler.passes.weight_image import image_crc

    store = report.get("weight_store") or {"kind": "rom"}
    if store.get("kind") != "loaded":
        return None
    path = Path(report_path).parent / str(store.get("file", "weights.bin"))
    if not path.is_file():
        raise FpgacError(f"weight_store.file: expected the weight image {str(path)!r} beside "
                         f"the report, found no file")
    data = path.read_bytes()
    if len(data) != store.get("bytes"):
        raise FpgacError(f"{path}: expected {store.get('bytes')} bytes (report.json "
                         f"weight_store.bytes), found {len(data)}")
    if image_crc(data) != store.get("crc16"):
        raise FpgacError(f"{path}: expected CRC-16 0x{store.get('crc16', 0):04X} (report.json "
                         f"weight_store.crc16), found 0x{image_crc(data):04X}")
    return data


def load_inputs(path, shape: tuple[int, int, int]):
    """Images (and labels, when known) to send to a board.

    ``path`` is a PNG/PGM image of ``shape`` (converted to grey), a raw file of exactly
    ``C*H*W`` bytes, or an IDX images file; for IDX the labels file beside it (``images`` ->
    ``labels``, ``idx3`` -> ``idx1`` in the name) is read too when it exists.

    Returns
    -------
    (images, labels)
        ``uint8 [N, C*H*W]`` and ``uint8 [N]`` or ``None``.
    """
    from pathlib import Path

    from fpgac.sim.mnist import read_idx

    path = Path(path)
    if not path.is_file():
        raise FpgacError(f"input: expected an image, raw or IDX file, found no file {str(path)!r}")
    pixels = int(np.prod(shape))
    raw = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in (".png", ".pgm", ".pnm", ".bmp"):
        from PIL import Image, UnidentifiedImageError

        try:
            img = np.asarray(Image.open(path).convert("L"), dtype=np.uint8)
        except (UnidentifiedImageError, OSError) as exc:
            raise FpgacError(f"{path}: expected a readable image, found {exc}") from None
        if img.shape != tuple(shape[1:]) or shape[0] != 1:
            raise FpgacError(f"{path}: expected a {shape[1]}x{shape[2]} grey image, "
                             f"found {img.shape[0]}x{img.shape[1]}")
        return img.reshape(1, pixels), None
    if raw[:2] == b"\x1f\x8b" or (raw[:3] == b"\x00\x00\x08" and len(raw) > 4
                                    and raw[3] in (2, 3, 4)):
        images = read_idx(path, name=str(path))
        if images.ndim < 2 or int(np.prod(images.shape[1:])) != pixels:
            raise FpgacError(f"{path}: expected IDX images of {pixels} pixels each, found "
                             f"shape {tuple(images.shape)}")
        images = images.reshape(images.shape[0], pixels)
        labels = None
        for cand in _label_candidates(path):
            if cand.is_file():
                labels = read_idx(cand, ndim=1, name=str(cand))
                if len(labels) != len(images):
                    raise FpgacError(f"{cand}: expected {len(images)} labels, "
                                     f"found {len(labels)}")
                break
        return images, labels
    if len(raw) == pixels:
        return np.frombuffer(raw, dtype=np.uint8).reshape(1, pixels), None
    raise FpgacError(f"{path}: expected a PNG/PGM image, an IDX file or {pixels} raw bytes, "
                     f"found {len(raw)} bytes")


def _label_candidates(path):
    name = path.name
    alt = name.replace("images", "labels").replace("idx3", "idx1")
    return [path.with_name(alt)] if alt != name else []
