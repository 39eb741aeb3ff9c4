// Output files: which existing files may be replaced, same-file clashes, atomic writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sameFileProblem, whyNotReplace, writeFileAtomic } from "../../out/test-build/record/output-file.js";
import { Simulation } from "./helpers/recording.mjs";

const START = JSON.stringify(new Simulation({}).lines[0]);
const REPORT = JSON.stringify({ version: 1, routes: [], workers: [] }, null, 2);

test("whyNotReplace: our own files and empty ones may go, anything else stays", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "balloon-out-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases = [
    // [name, content (null: absent, "dir": a directory), kind, replaceable]
    ["absent", null, "recording", true],
    ["empty", "", "recording", true],
    ["a recording", `${START}\n{"type":"stop","t":1}\n`, "recording", true],
    ["a recording cut inside its second line", `${START}\n{"type":"req`, "recording", true],
    ["a recording of another version", `${START.replace('"version":1', '"version":7')}\n`, "recording", true],
    ["a Python file", "import os\nprint('hi')\n", "recording", false],
    ["a start line alone without its newline (torn)", START.slice(0, 40), "recording", false],
    ["a JSON line that is not a start record", '{"type":"request","version":1}\n', "recording", false],
    ["a report as a recording", REPORT, "recording", false],
    ["a report", REPORT, "report", true],
    ["a report of another version", REPORT.replace('"version": 1', '"version": 3'), "report", true],
    ["a recording as a report", `${START}\n`, "report", false],
    ["some JSON", '{"name": "my package", "version": "1.0.0"}', "report", false],
    ["a requests file", "GET /ok x3\n", "report", false],
    ["a directory", "dir", "report", false],
  ];
  cases.forEach(([name, content, kind, replaceable], index) => {
    const path = join(dir, `file-${index}`);
    if (content === "dir") mkdirSync(path);
    else if (content !== null) writeFileSync(path, content);
    const problem = whyNotReplace(path, kind);
    assert.equal(problem === null, replaceable, `${name}: ${problem}`);
    if (problem) assert.ok(problem.startsWith(path), `${name}: the message names the file: ${problem}`);
    if (problem && content !== "dir") assert.match(problem, /--force/);
  });
});

test("sameFileProblem: by path, and through links, for existing files", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "balloon-out-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const requests = join(dir, "requests.txt");
  writeFileSync(requests, "GET /\n");
  symlinkSync(requests, join(dir, "link.txt"));
  assert.equal(sameFileProblem([["--requests", requests], ["--record", join(dir, "a.jsonl")], ["--report", join(dir, "a.json")]]), null);
  assert.equal(sameFileProblem([["--requests", requests], ["--record", undefined], ["--report", join(dir, "link.txt")]]), `--requests and --report name the same file (${join(dir, "link.txt")})`);
  assert.match(sameFileProblem([["--record", join(dir, "new.json")], ["--report", join(dir, "sub", "..", "new.json")]]), /^--record and --report name the same file/);
});

test("writeFileAtomic: whole file or nothing, no temporary left, links written through", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "balloon-out-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "report.json");
  writeFileAtomic(path, "first\n");
  writeFileAtomic(path, "second\n");
  assert.equal(readFileSync(path, "utf8"), "second\n");
  assert.deepEqual(readdirSync(dir), ["report.json"]);

  const target = join(dir, "real.json");
  writeFileSync(target, "old");
  symlinkSync(target, join(dir, "link.json"));
  writeFileAtomic(join(dir, "link.json"), "through the link");
  assert.equal(readFileSync(target, "utf8"), "through the link");

  const folder = join(dir, "a-directory");
  mkdirSync(folder);
  writeFileSync(join(folder, "keep"), "x");
  assert.throws(() => writeFileAtomic(folder, "nope"));
  assert.deepEqual(readdirSync(dir).sort(), ["a-directory", "link.json", "real.json", "report.json"], "the temporary file is gone after a failure");
  assert.equal(readFileSync(join(folder, "keep"), "utf8"), "x");
});
