import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameDecoder, encodeFrame, encodeHeadFrame, splitHead } from "../../out/test-build/supervisor/wire.js";
import { describeExit } from "../../out/test-build/supervisor/exitcause.js";

test("frames survive any split of the byte stream", () => {
  const frames = [encodeFrame(0x10, '{"a":1}'), encodeHeadFrame(0x14, { id: 7, status: "200 OK" }, Buffer.from("body\nwith newline")), encodeFrame(0x12, Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from("chunk")]))];
  const stream = Buffer.concat(frames);
  for (let cut = 0; cut <= stream.length; cut++) {
    const decoder = new FrameDecoder();
    const got = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
    assert.equal(got.length, 3, `cut at ${cut}`);
    assert.deepEqual(JSON.parse(got[0].payload.toString()), { a: 1 });
    const { head, body } = splitHead(got[1].payload);
    assert.deepEqual(head, { id: 7, status: "200 OK" });
    assert.equal(body.toString(), "body\nwith newline");
    assert.deepEqual([got[2].type, got[2].payload.readUInt32BE(0), got[2].payload.subarray(4).toString()], [0x12, 7, "chunk"], "not streamed by default");
  }
});

test("a bad frame length is an error, not a hang", () => {
  assert.throws(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 0, 1])), /bad frame length 0/);
});

test("describeExit words", () => {
  const cases = [
    [null, "SIGKILL", "killed by signal 9 (SIGKILL) — out of memory?"],
    [null, 9, "killed by signal 9 (SIGKILL) — out of memory?"],
    [null, 11, "killed by signal 11 (SIGSEGV) — crashed in native code"],
    [null, "SIGTERM", "killed by signal 15 (SIGTERM)"],
    [1, null, "exited with code 1"],
    [4, null, "exited: the app failed to load"],
    [3, null, "exited: the worker failed to boot"],
    [6, null, "exited: the app called sys.exit() during a request (see the log line naming it)"],
    [0, null, "exited normally"],
  ];
  for (const [code, signal, want] of cases) assert.equal(describeExit(code, signal), want);
});

test("frames survive any three-way split, prefix bytes included", () => {
  const stream = Buffer.concat([encodeFrame(0x10, "ab"), encodeFrame(0x11, ""), encodeFrame(0x12, "xyz")]);
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b++) {
      const decoder = new FrameDecoder();
      const got = [...decoder.push(stream.subarray(0, a)), ...decoder.push(stream.subarray(a, b)), ...decoder.push(stream.subarray(b))];
      assert.deepEqual(got.map((f) => [f.type, f.payload.toString()]), [[0x10, "ab"], [0x11, ""], [0x12, "xyz"]], `cuts ${a}/${b}`);
      assert.equal(decoder.buffered, 0);
    }
  }
});

test("a frame fed one byte at a time is gathered, not re-joined per byte", { timeout: 60_000 }, () => {
  // 512 KiB in 1-byte pushes: re-joining the partial frame each time would copy ~128 GiB.
  const payload = Buffer.alloc(512 * 1024, 7);
  const stream = encodeFrame(0x12, payload);
  const decoder = new FrameDecoder();
  let frames = [];
  for (let i = 0; i < stream.length; i++) {
    frames = frames.concat(decoder.push(stream.subarray(i, i + 1)));
    if (i === 100_000) assert.equal(decoder.buffered, 100_001, "the partial frame is held as it came");
  }
  assert.equal(frames.length, 1);
  assert.equal(frames[0].payload.length, payload.length);
  assert.ok(frames[0].payload.equals(payload));
});

test("streamed frames come out as pieces with their request id, in order with whole frames", () => {
  const body = (id, text) => encodeFrame(0x12, Buffer.concat([Buffer.from([0, 0, 0, id]), Buffer.from(text)]));
  const stream = Buffer.concat([encodeFrame(0x11, '{"id":3}'), body(3, "hello "), body(3, ""), body(3, "world"), encodeFrame(0x13, "end")]);
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b++) {
      const decoder = new FrameDecoder(0x12);
      const got = [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)].flatMap((part) => decoder.push(part));
      const text = got.filter((f) => f.type === 0x12).map((f) => f.payload.toString()).join("");
      assert.equal(text, "hello world", `cuts ${a}/${b}`);
      assert.ok(got.filter((f) => f.type === 0x12).every((f) => f.id === 3));
      assert.deepEqual(got.filter((f) => f.type !== 0x12).map((f) => [f.type, f.payload.toString()]), [[0x11, '{"id":3}'], [0x13, "end"]]);
      assert.equal(decoder.buffered, 0);
    }
  }
});

test("a big streamed frame holds nothing in the decoder", () => {
  const payload = Buffer.alloc(4 << 20, 1);
  const frame = encodeFrame(0x12, Buffer.concat([Buffer.from([0, 0, 0, 9]), payload]));
  const decoder = new FrameDecoder(0x12);
  let bytes = 0;
  for (let offset = 0; offset < frame.length; offset += 65536) {
    for (const piece of decoder.push(frame.subarray(offset, offset + 65536))) bytes += piece.payload.length;
    assert.ok(decoder.buffered < 9, `holds ${decoder.buffered} bytes`);
  }
  assert.equal(bytes, payload.length);
});
