"""One request's answer: PEP 3333 start_response / write() state, and how it goes out.

A list or tuple body of at most FULL_RESPONSE_MAX_BYTES that nothing committed early (the
hello path) goes as one FullResponse frame with the stats. Those are read while that body
is still referenced, which charges it as retained: at most 64 KiB, 1/8 of the smallest leak
threshold (0.5 MiB) and under the +-0.3 MiB a call moves pymalloc anyway, while keeping
one frame and one send per small request. Anything else goes as it comes: ResponseStart,
Body frames of at most BODY_CHUNK_BYTES sent from the app's own buffers (nothing here
copies or holds a whole body), then ResponseEnd with the stats, read once the body is gone.
"""
from .protocol import BODY_CHUNK_BYTES, Frame
from .wire import body_frame_header, encode_head_frame, encode_json_frame

FULL_RESPONSE_MAX_BYTES = 64 * 1024

_ERROR_BODY = b"Internal Server Error"
_ERROR_HEADERS = [["Content-Type", "text/plain; charset=utf-8"], ["Content-Length", str(len(_ERROR_BODY))]]


class Response:
    __slots__ = ("id", "status", "headers", "committed", "_send", "_send_parts")

    def __init__(self, request_id, send, send_parts):
        self.id = request_id
        self.status = None
        self.headers = None
        self.committed = False  # ResponseStart is out: headers are final
        self._send = send
        self._send_parts = send_parts

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self.committed:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self.status is not None:
            raise AssertionError("start_response called a second time without exc_info")
        if type(status) is not str:
            raise TypeError("status must be str, not %s" % type(status).__name__)
        for name, value in headers:
            if type(name) is not str or type(value) is not str:
                raise TypeError("header %r: name and value must be str" % (name,))
        self.status = status
        self.headers = headers
        return self.write

    def send_result(self, result):
        """Sends what the app returned. Returns the body of a small list or tuple, for
        finish() to send with the stats; None when it went out already, as it came."""
        kind = type(result)
        if kind is list or kind is tuple:
            if not self.committed and sum(len(chunk) for chunk in result) <= FULL_RESPONSE_MAX_BYTES:
                return b"".join(result)
            self._send_sequence(result)
            return None
        for chunk in result:
            if chunk:
                self.write(chunk)
        return None

    def _send_sequence(self, chunks):
        """A big list body: nothing there can block between chunks, so small ones are joined
        into frames of up to BODY_CHUNK_BYTES (one copy of them, not one send each); big
        ones go out from the app's own buffers."""
        pending, size = [], 0
        for chunk in chunks:
            if len(chunk) >= FULL_RESPONSE_MAX_BYTES:
                if pending:
                    self.write(b"".join(pending))
                    pending, size = [], 0
                self.write(chunk)
                continue
            pending.append(chunk)
            size += len(chunk)
            if size >= BODY_CHUNK_BYTES:
                self.write(b"".join(pending))
                pending, size = [], 0
        if pending:
            self.write(b"".join(pending))

    def write(self, data):
        """PEP 3333 write() callable, also fed with the chunks of an iterated body. Each chunk
        goes out as it comes, as gunicorn does: a generator that blocks between yields
        (server-sent events, long polling) must not have its output held back."""
        if self.status is None:
            raise AssertionError("write() before start_response")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("response body chunks must be bytes, not %s" % type(data).__name__)
        view = memoryview(data)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        parts = []
        if not self.committed:
            self.committed = True
            parts.append(encode_json_frame(Frame.ResponseStart, {"id": self.id, "status": self.status, "headers": self.headers}))
        size = len(view)
        for offset in range(0, size, BODY_CHUNK_BYTES):
            chunk = view[offset:offset + BODY_CHUNK_BYTES]
            parts.append(body_frame_header(self.id, len(chunk)))
            parts.append(chunk)
            self._send_parts(parts)
            parts = []
        if parts:  # an empty write(): the headers alone
            self._send_parts(parts)

    def finish(self, body, stats):
        """The last frame: ResponseEnd after a streamed body, else the FullResponse (a 500
        when the app raised before anything went out)."""
        if self.committed:
            self._send(encode_json_frame(Frame.ResponseEnd, {"id": self.id, "stats": stats}))
            return
        if "error" in stats:
            status, headers, body = "500 Internal Server Error", _ERROR_HEADERS, _ERROR_BODY
        else:
            status, headers = self.status, self.headers
        head = {"id": self.id, "status": status, "headers": headers, "stats": stats}
        self._send(encode_head_frame(Frame.FullResponse, head, body or b""))
