"""Framing on the shim side (balloon_shim.wire): a big body is received once, into its own
buffer, after the worker had a chance to read RSS; small frames go through one buffer."""
import json
import socket
import struct
import threading
import unittest

from balloon_shim import memory
from balloon_shim.protocol import Frame
from balloon_shim.wire import FrameReader, body_frame_header, send_parts

MiB = 1 << 20


def head_frame(frame_type, head, body):
    payload = json.dumps(head).encode() + b"\n" + body
    return struct.pack(">IB", len(payload) + 1, frame_type) + payload


class FrameReaderTest(unittest.TestCase):
    def setUp(self):
        self.ours, self.theirs = socket.socketpair()
        self.addCleanup(self.ours.close)
        self.addCleanup(self.theirs.close)

    def send_later(self, data):
        sender = threading.Thread(target=self.theirs.sendall, args=(data,))
        sender.start()
        self.addCleanup(sender.join)

    def test_small_frames_pipelined(self):
        frames = b"".join(head_frame(Frame.Request, {"id": i}, b"body %d" % i) for i in range(500))
        self.send_later(frames + struct.pack(">IB", 1, Frame.Stop))
        reader = FrameReader(self.ours)
        for i in range(500):
            frame_type, payload, body = reader.read()
            self.assertEqual((frame_type, body), (Frame.Request, None))
            self.assertTrue(payload.endswith(b"\n" + b"body %d" % i))
        self.assertEqual(reader.read(), (Frame.Stop, b"", None))

    def test_a_big_body_lands_in_one_buffer_after_before_body(self):
        body = bytes(range(256)) * (24 * MiB // 256)
        seen = []
        memory.prepare()
        reader = FrameReader(self.ours, lambda size: seen.append((size, memory.read_rss())))
        self.send_later(head_frame(Frame.Request, {"id": 7}, body) + head_frame(Frame.Request, {"id": 8}, b"next"))
        frame_type, head, stream = reader.read()
        rss_after = memory.read_rss()
        self.assertEqual((frame_type, json.loads(head)), (Frame.Request, {"id": 7}))
        self.assertEqual(seen[0][0], len(body))
        self.assertGreater(rss_after - seen[0][1], 20 * 1024, "before_body ran before the buffer was filled")
        first = stream.read()
        self.assertEqual(first, body)
        stream.seek(0)
        self.assertIs(stream.read(), first, "read() hands out the receive buffer itself, no copy")
        self.assertEqual(reader.read()[1], b'{"id": 8}\nnext', "the frame after a big one is intact")

    def test_end_of_stream_inside_a_big_body(self):
        frame = head_frame(Frame.Request, {"id": 1}, b"x" * MiB)

        def send_half_and_close():
            self.theirs.sendall(frame[: len(frame) // 2])
            self.theirs.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send_half_and_close)
        sender.start()
        self.addCleanup(sender.join)
        self.assertIsNone(FrameReader(self.ours).read())

    def test_a_bad_length_is_an_error(self):
        self.theirs.sendall(struct.pack(">IB", 0, 1))
        with self.assertRaises(ValueError):
            FrameReader(self.ours).read()


class SendPartsTest(unittest.TestCase):
    def test_a_body_frame_from_a_view(self):
        ours, theirs = socket.socketpair()
        self.addCleanup(ours.close)
        self.addCleanup(theirs.close)
        chunk = memoryview(b"abc" * 100000)[3:]
        sender = threading.Thread(target=send_parts, args=(ours, [body_frame_header(9, len(chunk)), chunk]))
        sender.start()
        received = bytearray()
        while len(received) < 9 + len(chunk):
            received += theirs.recv(1 << 20)
        sender.join()
        self.assertEqual(struct.unpack(">IBI", received[:9]), (len(chunk) + 5, Frame.Body, 9))
        self.assertEqual(received[9:], chunk)


if __name__ == "__main__":
    unittest.main()
