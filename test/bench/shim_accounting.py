"""In-process cost of the shim's per-request accounting: worker CPU µs per hello request,
accounting on and off.

balloon_shim's Worker runs on test/bench/hello/app.py in this process, reading pre-encoded
Request frames from a fake socket that also swallows what the worker sends: no supervisor,
no HTTP, no socket syscalls, so what is left is the shim's own work per request (frame
parsing, environ, the app, the accounting readings, encoding the answer). Rounds alternate
on and off, so machine noise spreads over both.

Usage: /usr/bin/python3 test/bench/shim_accounting.py [--shim DIR] [--requests N] [--rounds R]
  --shim DIR   the directory holding balloon_shim (default: this checkout's profiler/shim),
               e.g. an older tree from `git archive` to compare before/after
"""
import argparse
import json
import os
import statistics
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP_DIR = os.path.join(ROOT, "test", "bench", "hello")
REQUEST, STOP = 0x01, 0x02


def frame(frame_type, payload):
    return struct.pack(">IB", len(payload) + 1, frame_type) + payload


def request_frame(request_id):
    head = {"id": request_id, "method": "GET", "path": "/", "query": "", "protocol": "HTTP/1.1",
            "headers": [["Host", "127.0.0.1:8000"], ["User-Agent", "wrk"]], "remoteAddr": "127.0.0.1",
            "remotePort": 50000}
    return frame(REQUEST, json.dumps(head, separators=(",", ":")).encode() + b"\n")


STOP_FRAME = frame(STOP, b'{"reason":"shutdown"}')


class FakeSocket:
    """Serves `incoming` to recv_into in 64 KiB reads; swallows sends."""

    def __init__(self, incoming):
        self._incoming = memoryview(incoming)
        self._offset = 0

    def recv_into(self, view, nbytes=0, flags=0):
        size = min(len(view), nbytes or len(view), 65536, len(self._incoming) - self._offset)
        view[:size] = self._incoming[self._offset:self._offset + size]
        self._offset += size
        return size

    def sendall(self, data):
        return None

    def sendmsg(self, parts):
        return sum(len(part) for part in parts)


def one_run(accounting, count):
    from balloon_shim.loader import load
    from balloon_shim.worker import Worker

    config = {"target": "app:application", "cwd": APP_DIR, "threads": 1, "accounting": accounting,
              "pssIntervalSec": -1}
    batch = b"".join(request_frame(i) for i in range(count)) + STOP_FRAME
    worker = Worker(FakeSocket(batch), load(config), config)
    started = time.process_time()
    worker.run()
    return (time.process_time() - started) / count * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shim", default=os.path.join(ROOT, "profiler", "shim"))
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, os.path.abspath(args.shim))
    sys.path.insert(0, APP_DIR)
    results = {True: [], False: []}
    one_run(True, 2000)  # warm-up: imports, caches, the first route resolution
    for _ in range(args.rounds):
        for accounting in (True, False):
            results[accounting].append(one_run(accounting, args.requests))
    on, off = statistics.median(results[True]), statistics.median(results[False])
    print("shim %s, %d requests x %d rounds" % (args.shim, args.requests, args.rounds))
    print("accounting on : %.1f us/request (rounds: %s)" % (on, " ".join("%.1f" % x for x in results[True])))
    print("accounting off: %.1f us/request (rounds: %s)" % (off, " ".join("%.1f" % x for x in results[False])))
    print("accounting cost: %.1f us/request (%.1f%%)" % (on - off, 100 * (on - off) / on))


if __name__ == "__main__":
    main()
