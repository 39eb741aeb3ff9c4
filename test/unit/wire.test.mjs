import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameDecoder, encodeFrame, encodeHeadFrame, splitBody, splitHead } from "../../out/test-build/supervisor/wire.js";
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
    assert.deepEqual({ ...splitBody(got[2].payload), chunk: splitBody(got[2].payload).chunk.toString() }, { id: 7, chunk: "chunk" });
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
