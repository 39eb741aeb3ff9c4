// `balloon` command-line errors: exit code 2 for usage errors (with a usage line), 1 for the
// rest, and always one "balloon: ..." line saying what is wrong.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { faultsDir, killAll, python, runCli, scratchDir } from "./helpers/balloon.mjs";

after(killAll);

const app = ["--app", "app:application", "--cwd", faultsDir, "--python", python];

/** Lines of stderr that are errors ("balloon: ...") and usage hints. */
function errorLines(stderr) {
  const lines = stderr.split("\n").filter(Boolean);
  return { errors: lines.filter((l) => l.startsWith("balloon: ")), usage: lines.filter((l) => /^usage: balloon \S+ /.test(l)) };
}

function assertUsageError(result, message, command) {
  assert.equal(result.code, 2, `exit code (stderr: ${result.stderr})`);
  const { errors, usage } = errorLines(result.stderr);
  assert.equal(errors.length, 1, `one balloon: line in ${JSON.stringify(result.stderr)}`);
  assert.match(errors[0], message);
  assert.equal(usage.length, 1, `one usage line in ${JSON.stringify(result.stderr)}`);
  assert.match(usage[0], new RegExp(`^usage: balloon ${command} `));
  assert.doesNotMatch(result.stderr, /\n\s+at .*\.js:\d+/, "no stack trace");
}

describe("usage errors: exit 2, one error line, one usage line", () => {
  test("unknown option", async () => {
    assertUsageError(await runCli(["run", ...app, "--bogus"]), /unknown option '--bogus'/, "run");
  });

  test("missing --app", async () => {
    assertUsageError(await runCli(["run", "--port", "0"]), /missing --app/, "run");
  });

  test("bad --workers value", async () => {
    assertUsageError(await runCli(["run", ...app, "--port", "0", "--workers", "two"]), /--workers needs a whole number, got "two"/, "run");
    assertUsageError(await runCli(["run", ...app, "--port", "0", "--workers", "0"]), /--workers must be between 1 and 256/, "run");
  });

  test("missing requests file", async () => {
    const missing = path.join(scratchDir(), "nope.txt");
    assertUsageError(await runCli(["profile", ...app, "--requests", missing]), new RegExp(`--requests ${missing}: no such file`), "profile");
  });

  test("a requests file with a bad line names file:line", async () => {
    const file = path.join(scratchDir(), "requests.txt");
    writeFileSync(file, "# warm-up\nGET /ok x2\nFETCH /pid\n");
    const result = await runCli(["profile", ...app, "--requests", file]);
    assertUsageError(result, new RegExp(`${file}:3: unknown method "FETCH"`), "profile");
  });

  test("unknown command", async () => {
    const result = await runCli(["frobnicate"]);
    assert.equal(result.code, 2);
    const { errors, usage } = errorLines(result.stderr);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /unknown command 'frobnicate'/);
    assert.equal(usage.length, 1, `usage line in ${JSON.stringify(result.stderr)}`);
  });
});

describe("balloon report", () => {
  let recording;
  before(async () => {
    // A real recording of a short profile run: the planned calls only (no adaptive phase, which
    // would call /pid again), so the counts below are the file's.
    const dir = scratchDir();
    const requests = path.join(dir, "requests.txt");
    writeFileSync(requests, "GET /ok x3\nGET /pid x2\n");
    recording = path.join(dir, "run.jsonl");
    const result = await runCli(["profile", ...app, "--workers", "1", "--requests", requests, "--record", recording, "--no-adaptive"]);
    assert.equal(result.code, 0, result.stderr);
  });

  test("on a missing file: exit 1, one error line, no usage line", async () => {
    const missing = path.join(scratchDir(), "none.jsonl");
    const result = await runCli(["report", missing]);
    assert.equal(result.code, 1);
    const { errors, usage } = errorLines(result.stderr);
    assert.deepEqual(errors, [`balloon: no recording at ${missing}`]);
    assert.equal(usage.length, 0);
  });

  test("on a corrupt recording: a warning names the line, the table is still printed", async () => {
    const lines = readFileSync(recording, "utf8").split("\n");
    const corruptAt = lines.findIndex((l) => l.includes('"type":"request"'));
    assert.ok(corruptAt > 0, "the recording has request lines");
    lines[corruptAt] = lines[corruptAt].slice(0, 25); // a torn line in the middle
    const corrupt = path.join(scratchDir(), "corrupt.jsonl");
    writeFileSync(corrupt, lines.join("\n"));
    const result = await runCli(["report", corrupt]);
    // Exit 0: a recording cut short by a crash is normal input; the warning says what was skipped.
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`line ${corruptAt + 1}: invalid JSON`));
    assert.match(result.stdout, /│ \/ok\s+│ GET/);
    assert.match(result.stdout, /│ \/pid\s+│ GET/);
    assert.match(result.stdout, /4 requests/, "the other four requests are counted");
  });
});
