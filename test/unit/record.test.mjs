import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTick } from "node:timers/promises";
import { parseRecording, readRecording, RecordWriter } from "../../out/test-build/record/recording.js";
import { Simulation } from "./helpers/recording.mjs";

const START = JSON.stringify(new Simulation({}).lines[0]);
const REQUEST = JSON.stringify({ type: "request", t: 2, worker: 1, pid: 10, seq: 1, method: "GET", path: "/", route: "/", handler: null, status: 200, outcome: "ok", durationMs: 3, concurrent: 1 });
const SAMPLE = JSON.stringify({ type: "sample", t: 3, worker: 1, pid: 10, rssKiB: 30000, cpu: 1 });

test("parseRecording: good lines are read, bad ones become numbered warnings", async (t) => {
  const cases = [
    { name: "clean, trailing newline", text: `${START}\n${REQUEST}\n${SAMPLE}\n`, types: ["start", "request", "sample"], warnings: [] },
    { name: "blank lines ignored, numbering kept", text: `${START}\n\n   \n${REQUEST}\n`, types: ["start", "request"], warnings: [] },
    { name: "CRLF line ends", text: `${START}\r\n${REQUEST}\r\n`, types: ["start", "request"], warnings: [] },
    { name: "truncated last line (writer killed)", text: `${START}\n${REQUEST}\n${SAMPLE.slice(0, 20)}`, types: ["start", "request"], warnings: [/^line 3: truncated \(/] },
    { name: "garbage in the middle", text: `${START}\n${REQUEST}\n\u0000\u0000garbage\n${SAMPLE}\n`, types: ["start", "request", "sample"], warnings: [/^line 3: invalid JSON/] },
    { name: "not an object", text: `${START}\n[1,2]\n42\nnull\n`, types: ["start"], warnings: [/^line 2: not a JSON object$/, /^line 3: not a JSON object$/, /^line 4: not a JSON object$/] },
    { name: "missing and unknown type", text: `${START}\n{"t":1}\n{"type":"bogus","t":1}\n`, types: ["start"], warnings: [/^line 2: missing "type"$/, /^line 3: unknown type "bogus"$/] },
    { name: "a line without a field the analysis needs", text: `${START}\n${REQUEST.replace('"worker":1', '"worker":"1"')}\n`, types: ["start"], warnings: [/^line 2: request line without number "worker"$/] },
    { name: "no start line", text: `${REQUEST}\n`, types: ["request"], warnings: [/^no "start" line/] },
    { name: "another recording version", text: `${START.replace('"version":1', '"version":9')}\n`, types: ["start"], warnings: [/^line 1: recording version 9, this balloon reads version 1$/] },
    { name: "empty", text: "", types: [], warnings: [/^no "start" line/] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const { lines, warnings } = parseRecording(c.text);
      assert.deepEqual(lines.map((line) => line.type), c.types);
      assert.equal(warnings.length, c.warnings.length, `warnings: ${JSON.stringify(warnings)}`);
      c.warnings.forEach((pattern, i) => assert.match(warnings[i], pattern));
    });
  }
});

test("RecordWriter: round trip through a temp file", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "balloon-record-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines = new Simulation({ 1: 30, 2: 31 }).call(1, "/a", { peak: 3, retained: 1 }).call(2, "/b").lines;

  await t.test("lines of one tick reach the file at setImmediate, all together", async () => {
    const path = join(dir, "tick.jsonl");
    const writer = new RecordWriter(path);
    for (const line of lines) writer.write(line);
    assert.equal(readFileSync(path, "utf8"), "", "nothing written within the tick");
    await nextTick();
    const parsed = parseRecording(readFileSync(path, "utf8"));
    assert.deepEqual(parsed, { lines, warnings: [] });
    writer.close();
  });

  await t.test("flush writes synchronously; close flushes; an old recording is replaced", () => {
    const path = join(dir, "flush.jsonl");
    writeFileSync(path, `${START}\n${START}\n`);
    const writer = new RecordWriter(path);
    writer.write(lines[0]);
    writer.write(lines[2]);
    writer.flush();
    assert.equal(readFileSync(path, "utf8").split("\n").length, 3);
    writer.write(lines[3]);
    writer.close();
    const { lines: read, warnings } = readRecording(path);
    assert.deepEqual(warnings, []);
    assert.deepEqual(read, [lines[0], lines[2], lines[3]]);
    assert.throws(() => writer.write(lines[0]), /closed/);
    writer.close(); // a second close is harmless
  });

  await t.test("an unwritable path throws, naming the path and the cause", () => {
    const path = join(dir, "no-such-dir", "x.jsonl");
    assert.throws(() => new RecordWriter(path), (error) => error.message.includes(path) && /ENOENT/.test(error.message));
  });

  await t.test("readRecording on a missing file says so", () => {
    const path = join(dir, "missing.jsonl");
    assert.throws(() => readRecording(path), new RegExp(`no recording at ${path}`));
  });
});
