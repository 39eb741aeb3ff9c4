"""Framing of the supervisor socket: u32 big-endian length of (type + payload), u8 type, payload.

Same layout as profiler/supervisor/wire.ts. Writers build each frame as one bytes object and send it
with one sendall: fewer syscalls, and frames from several threads never interleave as long
as the caller holds its send lock.
"""
import json
import struct

from .protocol import MAX_FRAME_BYTES

_HEADER = struct.Struct(">IB")
_LENGTH = struct.Struct(">I")
_BODY_ID = struct.Struct(">I")
# Compact separators: smaller frames, and json.dumps is measurably faster with them.
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def encode_frame(frame_type, payload):
    return _HEADER.pack(len(payload) + 1, frame_type) + payload


def encode_json_frame(frame_type, message):
    return encode_frame(frame_type, _dumps(message).encode())


def encode_head_frame(frame_type, head, body):
    """"JSON head \\n body" frames (FullResponse). json never emits a raw newline."""
    head_bytes = _dumps(head).encode()
    return b"".join((_HEADER.pack(len(head_bytes) + 2 + len(body), frame_type), head_bytes, b"\n", body))


def encode_body_frame(frame_type, request_id, chunk):
    return b"".join((_HEADER.pack(len(chunk) + 5, frame_type), _BODY_ID.pack(request_id), chunk))


def send_frame(sock, frame_type, payload):
    sock.sendall(encode_frame(frame_type, payload))


def send_json(sock, frame_type, message):
    sock.sendall(encode_json_frame(frame_type, message))


def split_head(payload):
    """Splits a "JSON head \\n body" payload into (head dict, body bytes)."""
    newline = payload.find(b"\n")
    if newline < 0:
        raise ValueError("frame payload has no head/body separator")
    return json.loads(payload[:newline]), payload[newline + 1:]


class FrameReader:
    """Reads whole frames from a stream socket into one reusable buffer (recv_into).

    read() blocks until a frame is complete; for select loops, call fill() once when the
    socket is readable and then pop() until it returns None.
    """

    _INITIAL = 64 * 1024

    def __init__(self, sock):
        self._sock = sock
        self._buf = bytearray(self._INITIAL)
        self._view = memoryview(self._buf)
        self._start = 0  # first unread byte
        self._end = 0  # end of received data
        self.eof = False

    def pop(self):
        """Returns (type, payload bytes) of the next complete frame, or None."""
        available = self._end - self._start
        if available < 5:
            return None
        start = self._start
        length = _LENGTH.unpack_from(self._buf, start)[0]
        if length < 1 or length > MAX_FRAME_BYTES:
            raise ValueError("bad frame length %d" % length)
        if available < 4 + length:
            return None
        frame_type = self._buf[start + 4]
        payload = bytes(self._view[start + 5:start + 4 + length])
        start += 4 + length
        if start == self._end:
            self._start = self._end = 0
            if len(self._buf) > self._INITIAL:
                self._shrink()
        else:
            self._start = start
        return frame_type, payload

    def fill(self):
        """One recv_into; returns False at end of stream."""
        self._make_room()
        received = self._sock.recv_into(self._view[self._end:])
        if received == 0:
            self.eof = True
            return False
        self._end += received
        return True

    def read(self):
        """Blocks for the next frame; None at end of stream (a partial frame counts as the end)."""
        while True:
            frame = self.pop()
            if frame is not None:
                return frame
            if not self.fill():
                return None

    def _make_room(self):
        # Room for at least the rest of the current frame (or 64 KiB), moving the unread
        # bytes to the front or growing the buffer for a big frame (a large request body).
        needed = self._INITIAL
        unread = self._end - self._start
        if unread >= 4:
            length = _LENGTH.unpack_from(self._buf, self._start)[0]
            if length < 1 or length > MAX_FRAME_BYTES:
                raise ValueError("bad frame length %d" % length)
            needed = max(needed, 4 + length)
        if len(self._buf) - self._end >= min(needed - unread, self._INITIAL):
            return
        if len(self._buf) < needed:
            grown = bytearray(max(needed, 2 * len(self._buf)))
            grown[:unread] = self._view[self._start:self._end]
            self._view.release()
            self._buf = grown
            self._view = memoryview(grown)
        else:
            # bytes() first: the source overlaps the destination.
            self._buf[:unread] = bytes(self._view[self._start:self._end])
        self._start, self._end = 0, unread

    def _shrink(self):
        # A big request body grew the buffer; do not keep it inflated (we are the app's RSS).
        self._view.release()
        self._buf = bytearray(self._INITIAL)
        self._view = memoryview(self._buf)
