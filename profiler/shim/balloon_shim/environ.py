"""PEP 3333 environ for one request, from a RequestHead (shim-protocol.ts) and its body."""
import sys
from urllib.parse import unquote_to_bytes

from .protocol import Frame
from .wire import encode_json_frame


def base_environ(config):
    """The keys that are the same for every request of this worker; copied per request."""
    threads = int(config.get("threads") or 1)
    return {
        "SCRIPT_NAME": "",
        "SERVER_NAME": str(config.get("serverHost") or "127.0.0.1"),
        "SERVER_PORT": str(config.get("serverPort") or 0),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.multithread": threads > 1,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        # The supervisor hands over the whole body, so reading to EOF is safe.
        "wsgi.input_terminated": True,
        "wsgi.file_wrapper": FileWrapper,
    }


def build_environ(base, head, stream, size, errors):
    """The environ of a request whose body (`size` bytes) is readable from `stream`."""
    environ = base.copy()
    path = head["path"]
    environ["REQUEST_METHOD"] = head["method"]
    # PEP 3333: PATH_INFO is decoded bytes carried in a latin-1 str ("bytes as str").
    environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1") if "%" in path else path
    environ["QUERY_STRING"] = head["query"]
    environ["SERVER_PROTOCOL"] = head["protocol"]
    environ["REMOTE_ADDR"] = head["remoteAddr"]
    environ["REMOTE_PORT"] = str(head["remotePort"])
    environ["wsgi.input"] = stream
    environ["wsgi.errors"] = errors
    for name, value in head["headers"]:
        if "_" in name:
            # A header "X_Forwarded_For" would collide with "X-Forwarded-For" once dashes
            # become underscores; gunicorn and nginx drop them to prevent spoofing.
            continue
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
            environ[key] = value
            continue
        key = "HTTP_" + key
        if key in environ:
            environ[key] += "," + value  # RFC 9110: repeated fields join with a comma
        else:
            environ[key] = value
    if size and "CONTENT_LENGTH" not in environ:
        # A chunked request reached us whole: frameworks (Django) size the read on this.
        environ["CONTENT_LENGTH"] = str(size)
    return environ


class ErrorStream:
    """wsgi.errors: line-buffered text that goes to the supervisor as Log frames."""

    def __init__(self, send, request_id=None, level="error"):
        self._send = send  # callable(bytes frame), thread-safe
        self._id = request_id
        self._level = level
        self._pending = ""

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("wsgi.errors takes str, not %s" % type(text).__name__)
        self._pending += text
        if "\n" in self._pending:
            lines, _, self._pending = self._pending.rpartition("\n")
            self._emit(lines)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if self._pending:
            text, self._pending = self._pending, ""
            self._emit(text)

    def _emit(self, text):
        message = {"level": self._level, "message": text}
        if self._id is not None:
            message["id"] = self._id
        try:
            self._send(encode_json_frame(Frame.Log, message))
        except OSError:
            sys.__stderr__.write(text + "\n")  # the supervisor is gone; keep the text somewhere

    # Enough of the file API for logging.StreamHandler and print(file=...).
    def isatty(self):
        return False

    def writable(self):
        return True


class FileWrapper:
    """wsgi.file_wrapper: iterates a file in blocks (we have no sendfile to offer)."""

    def __init__(self, filelike, block_size=64 * 1024):
        self.filelike = filelike
        self.block_size = block_size
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        read, size = self.filelike.read, self.block_size
        while True:
            block = read(size)
            if not block:
                return
            yield block
