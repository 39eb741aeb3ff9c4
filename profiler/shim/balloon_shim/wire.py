"""Framing of the supervisor socket: u32 big-endian length of (type + payload), u8 type, payload.

Same layout as profiler/supervisor/wire.ts. Small frames are built as one bytes object and
sent with one sendall; a big body goes out as its frame header and a memoryview of the
app's own bytes in one sendmsg, never joined into a copy. Frames from several threads never
interleave as long as the caller holds its send lock.
"""
import io
import json
import socket
import struct

from .protocol import MAX_FRAME_BYTES, Frame

_HEADER = struct.Struct(">IB")
_LENGTH = struct.Struct(">I")
_BODY_HEADER = struct.Struct(">IBI")  # length, Frame.Body, request id
# Compact separators: smaller frames, and json.dumps is measurably faster with them.
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def encode_frame(frame_type, payload):
    return _HEADER.pack(len(payload) + 1, frame_type) + payload


def encode_json_frame(frame_type, message):
    return encode_frame(frame_type, _dumps(message).encode())


def encode_head_frame(frame_type, head, body):
    """"JSON head \\n body" frames (FullResponse, for small bodies). json never emits a raw newline."""
    head_bytes = _dumps(head).encode()
    return b"".join((_HEADER.pack(len(head_bytes) + 2 + len(body), frame_type), head_bytes, b"\n", body))


def body_frame_header(request_id, size):
    """Header of a Body frame carrying `size` bytes: send it with the bytes themselves (send_parts)."""
    return _BODY_HEADER.pack(size + 5, Frame.Body, request_id)


def send_parts(sock, parts):
    """sendall of several buffers (bytes, or 1-D byte memoryviews) in one sendmsg, without
    joining them. A blocking stream socket sends short only when a signal lands mid-way:
    then the rest goes with sendall, part by part."""
    sent = sock.sendmsg(parts)
    for part in parts:
        size = len(part)
        if sent >= size:
            sent -= size
            continue
        sock.sendall(memoryview(part)[sent:])
        sent = 0


def send_json(sock, frame_type, message):
    sock.sendall(encode_json_frame(frame_type, message))


def split_head(payload):
    """Splits a "JSON head \\n body" payload into (head dict, body bytes)."""
    newline = payload.find(b"\n")
    if newline < 0:
        raise ValueError("frame payload has no head/body separator")
    return json.loads(payload[:newline]), payload[newline + 1:]


class FrameReader:
    """Reads frames from a stream socket into one reusable 64 KiB buffer (recv_into).

    A frame that cannot fit in it (a big request body) is a head frame: its head goes through
    the small buffer, its body straight into a BytesIO over bytes(n), through getbuffer().
    bytes(n) is calloc'd (a big one is fresh mmapped pages, resident only once written), so
    the body is received once, never copied, and wsgi.input.read() hands out that very
    bytes object. `before_body(size)` runs just before that buffer exists: the worker reads
    the request's "RSS before" there, so the body is charged to its request.

    read() blocks and returns (type, payload, None) for a frame that fit, or
    (type, head bytes, BytesIO of the body) for a big one; None at the end of the stream.
    Select loops (the master, small frames only) call fill() when readable, then pop() until None.
    """

    _SIZE = 64 * 1024

    def __init__(self, sock, before_body=None):
        self._sock = sock
        self._before_body = before_body
        self._buf = bytearray(self._SIZE)
        self._view = memoryview(self._buf)
        self._start = 0  # first unread byte
        self._end = 0  # end of received data
        self.eof = False

    def _length(self):
        """Length field of the frame at _start, or None before its 4 bytes are in."""
        if self._end - self._start < 4:
            return None
        length = _LENGTH.unpack_from(self._buf, self._start)[0]
        if length < 1 or length > MAX_FRAME_BYTES:
            raise ValueError("bad frame length %d" % length)
        return length

    def pop(self):
        """(type, payload bytes, None) of the next complete frame in the buffer, or None."""
        length = self._length()
        if length is None or self._end - self._start < 4 + length:
            return None
        start = self._start
        frame = (self._buf[start + 4], bytes(self._view[start + 5:start + 4 + length]), None)
        self._consume(start + 4 + length)
        return frame

    def _consume(self, upto):
        if upto == self._end:
            self._start = self._end = 0
        else:
            self._start = upto

    def fill(self):
        """One recv_into; returns False at end of stream."""
        if self._start > 0 and self._SIZE - self._end < self._SIZE // 4:
            # Little room left behind a partial frame: move it to the front (at most 64 KiB;
            # bytes() first, the source overlaps the destination).
            unread = self._end - self._start
            self._buf[:unread] = bytes(self._view[self._start:self._end])
            self._start, self._end = 0, unread
        if self._end == self._SIZE:
            raise ValueError("a frame over %d bytes needs read(), not fill()" % self._SIZE)
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
            length = self._length()
            if length is not None and 4 + length > self._SIZE:
                return self._read_big(length)
            if not self.fill():
                return None

    def _read_big(self, length):
        start = self._start
        newline = self._buf.find(b"\n", start + 5, self._end)
        while newline < 0:
            if self._end - start >= self._SIZE:
                raise ValueError("frame of %d bytes has no head in its first %d bytes" % (length, self._SIZE))
            if not self.fill():
                return None
            start = self._start  # fill() may have moved the frame to the front
            newline = self._buf.find(b"\n", start + 5, self._end)
        frame_type = self._buf[start + 4]
        head = bytes(self._view[start + 5:newline])
        size = start + 4 + length - (newline + 1)
        if self._before_body is not None:
            self._before_body(size)
        body = io.BytesIO(bytes(size))
        target = body.getbuffer()
        try:
            got = self._end - (newline + 1)  # < size: the frame is bigger than the buffer
            target[:got] = self._view[newline + 1:self._end]
            self._start = self._end = 0
            while got < size:
                received = self._sock.recv_into(target[got:], size - got, socket.MSG_WAITALL)
                if received == 0:
                    self.eof = True
                    return None
                got += received
        finally:
            target.release()
        return frame_type, head, body
