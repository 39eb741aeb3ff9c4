// Text from requests, the app and files reaches the terminal escaped: a path like
// /env%1B%5D0%3BPWNED%07%1B%5B2J must not retitle the window or clear the screen. Without a
// terminal there are no colours either, so stdout and stderr hold no escape character at all.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { before, after, describe, test } from "node:test";

import { faultsDir, killAll, python, runCli, scratchDir } from "./helpers/balloon.mjs";

after(killAll);

/** ESC, BEL and every other C0 control but tab and newline; DEL; C1 (U+0080–U+009F, CSI is U+009B); bidi controls. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function assertNoRawControls(text, what) {
  const found = RAW_CONTROL.exec(text);
  assert.equal(found, null, `${what} holds U+${found?.[0].charCodeAt(0).toString(16).padStart(4, "0")} at ${found?.index}: ${JSON.stringify(text.slice(Math.max(0, (found?.index ?? 0) - 40), (found?.index ?? 0) + 40))}`);
}

describe("a path full of terminal escapes", () => {
  let dir;
  let profiled;
  before(async () => {
    dir = scratchDir();
    const requests = path.join(dir, "requests.txt");
    // OSC title + BEL + clear screen; a bidi override (U+202E) in an exception; a one-character CSI (U+009B).
    writeFileSync(requests, "GET /env%1B%5D0%3BPWNED%07%1B%5B2J x2\nGET /raise%1B%5B2J%E2%80%AE\nGET /c1%C2%9B31m\n");
    profiled = await runCli(["profile", "--app", "echo_path:application", "--cwd", faultsDir, "--python", python, "--workers", "1",
      "--requests", requests, "--record", path.join(dir, "run.jsonl"), "--report", path.join(dir, "report.json")]);
    assert.equal(profiled.code, 0, profiled.stderr);
  });

  test("balloon profile: the route table, the app's output and its traceback carry no raw control character", () => {
    assertNoRawControls(profiled.stdout, "stdout");
    assertNoRawControls(profiled.stderr, "stderr");
    assert.match(profiled.stdout, /\/env\\x1b\]0;PWNED\\x07\\x1b\[2J/, "the route is shown, escaped");
    assert.match(profiled.stderr, /stdout saw \/env\\x1b\]0;PWNED\\x07\\x1b\[2J/, "the app's stdout, escaped");
    assert.match(profiled.stderr, /ValueError: bad path \/raise\\x1b\[2J/, "the traceback, escaped");
    assert.match(profiled.stderr, /\nTraceback|Traceback \(most recent call last\)/, "multi-line output keeps its lines");
  });

  test("the recording and the JSON report keep the exact path; printing them is safe", async () => {
    const record = readFileSync(path.join(dir, "run.jsonl"), "utf8");
    const routes = record.split("\n").filter(Boolean).map((line) => JSON.parse(line)).filter((line) => line.type === "request").map((line) => line.route);
    assert.ok(routes.includes("/env\u001b]0;PWNED\u0007\u001b[2J"), `recorded routes: ${JSON.stringify(routes)}`);
    const reportText = readFileSync(path.join(dir, "report.json"), "utf8");
    assertNoRawControls(reportText, "report.json");
    assert.ok(JSON.parse(reportText).routes.some((route) => route.route === "/env\u001b]0;PWNED\u0007\u001b[2J"));
    for (const args of [["report", path.join(dir, "run.jsonl")], ["report", path.join(dir, "run.jsonl"), "--json"]]) {
      const result = await runCli(args);
      assert.equal(result.code, 0, result.stderr);
      assertNoRawControls(result.stdout + result.stderr, args.join(" "));
    }
  });
});

describe("files and arguments with escapes", () => {
  test("balloon report of a binary recording: warnings name the lines, no raw byte is echoed", async () => {
    const dir = scratchDir();
    const file = path.join(dir, "binary.jsonl");
    const start = JSON.stringify({ type: "start", version: 1, t: 1, run: { target: "app:app", cwd: "/", python: "python3", framework: "wsgi" }, settings: {} });
    writeFileSync(file, Buffer.concat([Buffer.from(`${start}\n`), Buffer.from([0x1b, 0x5d, 0x30, 0x3b, 0x50, 0x07, 0x1b, 0x5b, 0x32, 0x4a, 0x9b, 0x0a]), Buffer.from('{"type":"\\u001b[2J"}\n')]));
    const result = await runCli(["report", file]);
    assert.equal(result.code, 0, result.stderr);
    assertNoRawControls(result.stdout + result.stderr, "report output");
    assert.match(result.stdout, /line 2: invalid JSON \(.*\\x1b/);
    assert.match(result.stdout, /line 3: unknown type "\\u001b\[2J"/);
  });

  test("an error that echoes the user's argument escapes it", async () => {
    const result = await runCli(["run", "--app", "\u001b]0;PWNED\u0007", "--port", "0"]);
    assert.equal(result.code, 2);
    assertNoRawControls(result.stderr, "stderr");
    assert.match(result.stderr, /--app \\x1b\]0;PWNED\\x07: expected module:callable/);
    const unknown = await runCli(["run", "--\u001b[2J"]);
    assert.equal(unknown.code, 2);
    assertNoRawControls(unknown.stderr, "stderr");
  });
});
