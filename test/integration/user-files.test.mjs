// Balloon touches only its own files: in $TMPDIR it removes only stale directories it provably
// made, and --record/--report never replace a file that is not a Balloon recording or report.
import assert from "node:assert/strict";
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";

import { faultsDir, killAll, python, runCli, scratchDir, startBalloon, waitFor } from "./helpers/balloon.mjs";

after(killAll);

const app = ["--app", "app:application", "--cwd", faultsDir, "--python", python, "--workers", "1"];

function requestsFile(dir) {
  const file = path.join(dir, "requests.txt");
  writeFileSync(file, "GET /ok x2\n");
  return file;
}

describe("$TMPDIR: only our own stale directories are removed", () => {
  test("a look-alike folder survives, a SIGKILLed run's directory is cleared, a link is not followed, another user's is skipped", async () => {
    const tmp = scratchDir();
    const env = { TMPDIR: tmp };
    // The user's own folder, named like ours, with a pid that is not running.
    const lookAlike = path.join(tmp, "balloon-99999-my-results");
    mkdirSync(lookAlike);
    writeFileSync(path.join(lookAlike, "important.txt"), "keep me\n");
    // A real stale directory of ours: a supervisor killed with SIGKILL leaves it behind.
    const killed = await startBalloon(["--workers", "1"], { env });
    await killed.waitForWorkers(1);
    killed.kill();
    await killed.exited;
    const stale = readdirSync(tmp).filter((name) => name.startsWith(`balloon-${killed.pid}-`));
    assert.equal(stale.length, 1, `the killed run's directory: ${readdirSync(tmp)}`);
    // A link named like ours, to a copy of that stale directory's marker next to user data.
    const victim = path.join(tmp, "victim");
    mkdirSync(victim, { mode: 0o700 });
    writeFileSync(path.join(victim, ".balloon-owner.json"), readFileSync(path.join(tmp, stale[0], ".balloon-owner.json")));
    writeFileSync(path.join(victim, "data.txt"), "mine\n");
    const link = `balloon-${killed.pid}-link`;
    symlinkSync(victim, path.join(tmp, link));
    // Another user's stale directory (as root we can make one): skipped without a word.
    const foreign = path.join(tmp, "balloon-99998-foreign");
    if (process.getuid() === 0) {
      mkdirSync(foreign, { mode: 0o700 });
      chownSync(foreign, 65534, 65534);
    }

    const result = await runCli(["profile", ...app, "--requests", requestsFile(scratchDir())], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(path.join(lookAlike, "important.txt"), "utf8"), "keep me\n");
    assert.ok(!existsSync(path.join(tmp, stale[0])), "the stale directory of ours is removed");
    assert.ok(existsSync(path.join(tmp, link)), "the link stays");
    assert.deepEqual(readdirSync(victim).sort(), [".balloon-owner.json", "data.txt"], "nothing behind the link is touched");
    if (process.getuid() === 0) assert.ok(existsSync(foreign), "another user's directory stays");
    assert.doesNotMatch(result.stderr, /EACCES|EPERM|balloon-9999/);
    const expected = [...(process.getuid() === 0 ? ["balloon-99998-foreign"] : []), "balloon-99999-my-results", link].sort();
    assert.deepEqual(readdirSync(tmp).filter((name) => name.startsWith("balloon-")).sort(), expected, "and our own run cleaned up after itself");
  });
});

describe("--record and --report never replace a file that is not Balloon's", () => {
  const refused = (result, option, file) => {
    assert.equal(result.code, 2, result.stderr);
    const errors = result.stderr.split("\n").filter((line) => line.startsWith("balloon: "));
    assert.equal(errors.length, 1, result.stderr);
    assert.ok(errors[0].includes(`${option} ${file} exists and is not a Balloon`), errors[0]);
    assert.match(errors[0], /--force/);
  };

  test("--record over a Python file is refused and the file is intact; --force replaces it", async () => {
    const dir = scratchDir();
    const source = path.join(dir, "hello_copy.py");
    const code = readFileSync(path.join(faultsDir, "app.py"), "utf8");
    writeFileSync(source, code);
    const requests = requestsFile(dir);
    refused(await runCli(["profile", ...app, "--requests", requests, "--record", source]), "--record", source);
    assert.equal(readFileSync(source, "utf8"), code);
    refused(await runCli(["run", ...app, "--port", "0", "--record", source]), "--record", source);
    assert.equal(readFileSync(source, "utf8"), code);

    const forced = await runCli(["profile", ...app, "--requests", requests, "--record", source, "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(readFileSync(source, "utf8"), /^\{"type":"start"/);
  });

  test("--report over the requests file or another file is refused; --force replaces; two files named alike are refused", async () => {
    const dir = scratchDir();
    const requests = requestsFile(dir);
    const before = readFileSync(requests, "utf8");
    const sameFile = await runCli(["profile", ...app, "--requests", requests, "--report", requests]);
    assert.equal(sameFile.code, 2);
    assert.match(sameFile.stderr, new RegExp(`^balloon: --requests and --report name the same file \\(${requests}\\)$`, "m"));
    assert.equal(readFileSync(requests, "utf8"), before);

    const notes = path.join(dir, "notes.json");
    writeFileSync(notes, '{"name": "my notes", "version": "1"}\n');
    refused(await runCli(["profile", ...app, "--requests", requests, "--report", notes]), "--report", notes);
    assert.equal(readFileSync(notes, "utf8"), '{"name": "my notes", "version": "1"}\n');
    const both = path.join(dir, "out.json");
    const clash = await runCli(["profile", ...app, "--requests", requests, "--report", both, "--record", both]);
    assert.equal(clash.code, 2);
    assert.match(clash.stderr, /^balloon: --record and --report name the same file/m);

    const forced = await runCli(["profile", ...app, "--requests", requests, "--report", notes, "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    const written = JSON.parse(readFileSync(notes, "utf8"));
    assert.ok(typeof written.version === "number" && Array.isArray(written.routes), "a Balloon report now");
  });

  test("running the same command again replaces its own recording and report, whole", async () => {
    const dir = scratchDir();
    const requests = requestsFile(dir);
    const record = path.join(dir, "run.jsonl");
    const report = path.join(dir, "report.json");
    const args = ["profile", ...app, "--requests", requests, "--record", record, "--report", report, "--no-adaptive"];
    assert.equal((await runCli(args)).code, 0);
    const first = readFileSync(record, "utf8");
    const again = await runCli(args);
    assert.equal(again.code, 0, again.stderr);
    const second = readFileSync(record, "utf8");
    assert.notEqual(second, first);
    assert.equal(second.split("\n").filter((line) => line.includes('"type":"start"')).length, 1, "a new recording, not two runs in one file");
    assert.equal(JSON.parse(readFileSync(report, "utf8")).totals.requests, 2);
    await waitFor(() => readdirSync(dir).every((name) => !name.endsWith(".tmp")), { what: "no temporary file left" });
    assert.deepEqual(readdirSync(dir).sort(), ["report.json", "requests.txt", "run.jsonl"]);
  });
});
