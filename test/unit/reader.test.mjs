// The streaming recording reader: the same lines and warnings whatever the chunk size, line
// numbers across chunks, over-long lines cut off, nothing raw from a binary file in warnings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LineSplitter, MAX_LINE_BYTES, RecordLineParser, parseRecording, readRecordingInto } from "../../out/test-build/record/reader.js";
import { Simulation } from "./helpers/recording.mjs";

const START = JSON.stringify(new Simulation({}).lines[0]);
const REQUEST = JSON.stringify({ type: "request", t: 2, worker: 1, pid: 10, seq: 1, method: "GET", path: "/é", route: "/é", handler: null, status: 200, outcome: "ok", durationMs: 3, concurrent: 1 });
const SAMPLE = JSON.stringify({ type: "sample", t: 3, worker: 1, pid: 10, rssKiB: 30000, cpu: 1 });

const CASES = [
  { name: "clean, trailing newline", text: `${START}\n${REQUEST}\n${SAMPLE}\n`, types: ["start", "request", "sample"], warnings: [] },
  { name: "blank lines ignored, numbering kept", text: `${START}\n\n   \n${REQUEST}\n`, types: ["start", "request"], warnings: [] },
  { name: "CRLF line ends", text: `${START}\r\n${REQUEST}\r\n`, types: ["start", "request"], warnings: [] },
  { name: "last line without newline but whole", text: `${START}\n${REQUEST}`, types: ["start", "request"], warnings: [] },
  { name: "truncated last line (writer killed)", text: `${START}\n${REQUEST}\n${SAMPLE.slice(0, 20)}`, types: ["start", "request"], warnings: [/^line 3: truncated \(/] },
  { name: "garbage in the middle", text: `${START}\n${REQUEST}\n\u0000\u0000garbage\n${SAMPLE}\n`, types: ["start", "request", "sample"], warnings: [/^line 3: invalid JSON/] },
  { name: "not an object", text: `${START}\n[1,2]\n42\nnull\n`, types: ["start"], warnings: [/^line 2: not a JSON object$/, /^line 3: not a JSON object$/, /^line 4: not a JSON object$/] },
  { name: "missing and unknown type", text: `${START}\n{"t":1}\n{"type":"bogus","t":1}\n`, types: ["start"], warnings: [/^line 2: missing "type"$/, /^line 3: unknown type "bogus"$/] },
  { name: "a line without a field the analysis needs", text: `${START}\n${REQUEST.replace('"worker":1', '"worker":"1"')}\n`, types: ["start"], warnings: [/^line 2: request line without number "worker"$/] },
  { name: "no start line", text: `${REQUEST}\n`, types: ["request"], warnings: [/^no "start" line/] },
  { name: "another recording version", text: `${START.replace('"version":1', '"version":9')}\n`, types: ["start"], warnings: [/^line 1: recording version 9, this balloon reads version 1$/] },
  { name: "empty", text: "", types: [], warnings: [/^no "start" line/] },
  { name: "terminal escapes in a bad line are not echoed raw", text: `${START}\n\u001b]0;PWNED\u0007\u001b[2J\u009b31m\n`, types: ["start"], warnings: [/^line 2: invalid JSON \(.*\\x1b.*\)$/] },
  { name: "unknown type with escapes", text: `${START}\n{"type":"\\u001b[2J"}\n`, types: ["start"], warnings: [/^line 2: unknown type "\\u001b\[2J"$/] },
];

async function readChunked(dir, name, text, chunkBytes, maxLineBytes) {
  const file = join(dir, name);
  writeFileSync(file, text);
  const lines = [];
  const warnings = [];
  await readRecordingInto(file, { add: (line) => lines.push(line), warn: (w) => warnings.push(w) }, { chunkBytes, maxLineBytes });
  return { lines, warnings };
}

test("good lines are read, bad ones become numbered warnings, whatever the chunk size", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "balloon-reader-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const c of CASES) {
    await t.test(c.name, async () => {
      const whole = parseRecording(c.text);
      for (const chunkBytes of [1, 3, 64, 1 << 20]) {
        const { lines, warnings } = await readChunked(dir, "case.jsonl", c.text, chunkBytes);
        assert.deepEqual(lines.map((line) => line.type), c.types, `chunk ${chunkBytes}`);
        assert.equal(warnings.length, c.warnings.length, `chunk ${chunkBytes}: ${JSON.stringify(warnings)}`);
        c.warnings.forEach((pattern, i) => assert.match(warnings[i], pattern));
        for (const warning of warnings) assert.doesNotMatch(warning, /[\u0000-\u001f\u007f-\u009f]/, "no raw control characters");
        assert.deepEqual({ lines, warnings }, whole, "same as parsing the text at once");
      }
    });
  }
});

test("multi-byte characters split across chunks decode whole", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "balloon-reader-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { lines } = await readChunked(dir, "utf8.jsonl", `${START}\n${REQUEST}\n`, 1);
  assert.equal(lines[1].path, "/é");
});

test("a line over the limit is skipped with a warning and reading goes on", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "balloon-reader-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const limit = START.length + 10;
  const long = JSON.stringify({ type: "stop", t: 1, reason: "x".repeat(limit) });
  const text = `${START}\n${long}\n${SAMPLE}\n${long}`;
  for (const chunkBytes of [7, 100, 4096]) {
    const { lines, warnings } = await readChunked(dir, "long.jsonl", text, chunkBytes, limit);
    assert.deepEqual(lines.map((line) => line.type), ["start", "sample"]);
    assert.deepEqual(warnings, [
      `line 2: longer than ${limit} bytes (${long.length} bytes read), skipped`,
      `line 4: longer than ${limit} bytes (${long.length} bytes read), skipped`,
    ]);
  }
  assert.equal(MAX_LINE_BYTES, 4 * 1024 * 1024);
});

test("the splitter holds at most the line limit of an endless line", () => {
  const lines = [];
  const warnings = [];
  const splitter = new LineSplitter(new RecordLineParser({ add: (line) => lines.push(line), warn: (w) => warnings.push(w) }), 1000);
  const chunk = Buffer.alloc(4096, 0x61);
  for (let i = 0; i < 1000; i++) splitter.push(chunk); // 4 MB without a newline
  splitter.push(Buffer.from(`\n${SAMPLE}\n`));
  splitter.end();
  assert.deepEqual(lines.map((line) => line.type), ["sample"]);
  assert.match(warnings[0], /^line 1: longer than .* \(4096000 bytes read\), skipped$/);
  assert.match(warnings[1], /^no "start" line/);
});

test("a file that cannot be read: a clear error; a failing sink is not blamed on the file", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "balloon-reader-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, "missing.jsonl");
  await assert.rejects(readRecordingInto(missing, { add() {}, warn() {} }), { message: `no recording at ${missing}` });
  const folder = join(dir, "folder");
  mkdirSync(folder);
  await assert.rejects(readRecordingInto(folder, { add() {}, warn() {} }), new RegExp(`^Error: cannot read the recording ${folder}: EISDIR`));
  const file = join(dir, "ok.jsonl");
  writeFileSync(file, `${START}\n`);
  await assert.rejects(readRecordingInto(file, { add() { throw new RangeError("analysis broke"); }, warn() {} }), RangeError);
});
