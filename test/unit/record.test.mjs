import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTick } from "node:timers/promises";
import { parseRecording, readRecordingInto } from "../../out/test-build/record/reader.js";
import { RecordWriter } from "../../out/test-build/record/recording.js";
import { Simulation } from "./helpers/recording.mjs";

const START = JSON.stringify(new Simulation({}).lines[0]);

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

  await t.test("flush writes synchronously; close flushes; an old recording is replaced", async () => {
    const path = join(dir, "flush.jsonl");
    writeFileSync(path, `${START}\n${START}\n`);
    const writer = new RecordWriter(path);
    writer.write(lines[0]);
    writer.write(lines[2]);
    writer.flush();
    assert.equal(readFileSync(path, "utf8").split("\n").length, 3);
    writer.write(lines[3]);
    writer.close();
    const read = [];
    const warnings = [];
    await readRecordingInto(path, { add: (line) => read.push(line), warn: (text) => warnings.push(text) });
    assert.deepEqual(warnings, []);
    assert.deepEqual(read, [lines[0], lines[2], lines[3]]);
    assert.throws(() => writer.write(lines[0]), /closed/);
    writer.close(); // a second close is harmless
  });

  await t.test("an unwritable path throws, naming the path and the cause", () => {
    const path = join(dir, "no-such-dir", "x.jsonl");
    assert.throws(() => new RecordWriter(path), (error) => error.message.includes(path) && /ENOENT/.test(error.message));
  });
});
