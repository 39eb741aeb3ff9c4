// Inside code-server's extension host, with the real API: the commands are registered, bad
// settings are refused with a message naming the setting, the panel's page has its strict CSP,
// a deep dive on the workspace's running app names the planted line (and without a running app
// says how to get one), and the language client's lifecycle holds: a restart gives a new server,
// a killed server is restarted by the client, and the app it ran does not outlive it.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const http = require("node:http");
const vscode = require("vscode");

const COMMANDS = ["balloon.run", "balloon.stop", "balloon.showPanel", "balloon.profileRequests", "balloon.deepDive", "balloon.exportSettings", "balloon.openRecord"];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** GET url's status (the body read and dropped). */
const get = (url) => new Promise((resolve, reject) => {
  http.get(url, (response) => {
    response.resume();
    response.on("end", () => resolve(response.statusCode));
  }).on("error", reject);
});

async function until(check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]);
  } catch {
    return false;
  }
}

/** The app's processes (python -m balloon_shim) under a pid. */
function shimProcessesUnder(root) {
  const children = new Map();
  for (const entry of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found = [];
  const stack = [root];
  while (stack.length > 0) {
    for (const child of children.get(stack.pop()) ?? []) {
      stack.push(child);
      try {
        if (fs.readFileSync(`/proc/${child}/cmdline`, "latin1").includes("balloon_shim")) found.push(child);
      } catch {
        // gone meanwhile
      }
    }
  }
  return found;
}

describe("Balloon in the extension host", function () {
  let ctx;
  const config = () => vscode.workspace.getConfiguration("balloon");

  before(async function () {
    const extension = vscode.extensions.getExtension("balloon.balloon");
    assert.ok(extension, "the extension is loaded");
    ctx = (await extension.activate()).ctx;
    await until(() => ctx.clientState === "running", "the language client");
  });

  afterEach(async function () {
    for (const key of ["workers", "stackKiB", "timeoutSec", "port", "diagnostics.severity", "deepDive.calls", "deepDive.frames"]) await config().update(key, undefined, vscode.ConfigurationTarget.Workspace);
  });

  it("registers every command under its fixed id", async function () {
    const all = await vscode.commands.getCommands(true);
    for (const id of COMMANDS) assert.ok(all.includes(id), `${id} is registered`);
  });

  it("refuses bad settings, naming the setting, what it takes and what it got", async function () {
    const cases = [
      ["workers", 0, "balloon.workers must be a whole number from 1 to 256, got 0"],
      ["stackKiB", 32, "balloon.stackKiB must be a whole number from 64 to 1048576 (or 0 to leave it alone), got 32"],
      ["timeoutSec", -1, "balloon.timeoutSec must be a number from 0 to 86400, got -1"],
      ["port", 70000, "balloon.port must be a whole number from 0 to 65535, got 70000"],
      ["diagnostics.severity", "loud", 'balloon.diagnostics.severity must be one of error, warning, information, hint, got "loud"'],
    ];
    for (const [key, value, message] of cases) {
      await config().update(key, value, vscode.ConfigurationTarget.Workspace);
      const outcome = await vscode.commands.executeCommand("balloon.run");
      assert.equal(outcome.ok, false, `${key} = ${value} is refused`);
      assert.ok(outcome.message.includes(message), `"${outcome.message}" says "${message}"`);
      await config().update(key, undefined, vscode.ConfigurationTarget.Workspace);
    }
    assert.deepEqual(ctx.config().errors, []);
  });

  it("loads the panel with a fresh nonce and a strict CSP each time", async function () {
    await vscode.commands.executeCommand("balloon.showPanel");
    const first = ctx.panelIfOpen.htmlNow;
    const csp = /content="default-src 'none'; img-src ([^;]+) data:; style-src \1; font-src \1; script-src 'nonce-([^']+)'"/.exec(first);
    assert.ok(csp, "the CSP allows nothing but the nonce'd script and the extension's own styles, fonts and images");
    assert.ok(first.includes(`<script nonce="${csp[2]}"`));
    ctx.panelIfOpen.dispose();
    await vscode.commands.executeCommand("balloon.showPanel");
    const again = /'nonce-([^']+)'/.exec(ctx.panelIfOpen.htmlNow)[1];
    assert.notEqual(again, csp[2], "a new nonce per load");
    ctx.panelIfOpen.dispose();
  });

  it("deep dive: refused with what to do while no app runs; on the running app, the planted line first", async function () {
    this.timeout(120_000);
    const refused = await vscode.commands.executeCommand("balloon.deepDive", { method: "GET", route: "/export" });
    assert.equal(refused.ok, false);
    assert.match(refused.message, /^Balloon: no app is running\. A deep dive replays a route's calls in the running app: start it with "Balloon: Run App with Balloon"/);
    await config().update("deepDive.calls", 0, vscode.ConfigurationTarget.Workspace);
    const badSetting = await vscode.commands.executeCommand("balloon.deepDive", { method: "GET", route: "/export" });
    assert.ok(!badSetting.ok && badSetting.message.includes("balloon.deepDive.calls must be a whole number from 1 to 100, got 0"), badSetting.message);
    // 2 calls, 8 frames: the planted line allocates in app.py's own frame, and tracemalloc's cost
    // grows with the frames it keeps (40 by default: ~30 s for this call's 300k strings here).
    await config().update("deepDive.calls", 2, vscode.ConfigurationTarget.Workspace);
    await config().update("deepDive.frames", 8, vscode.ConfigurationTarget.Workspace);

    const started = await vscode.commands.executeCommand("balloon.run");
    assert.equal(started.ok, true, started.message);
    const running = await until(() => ctx.current?.state === "running" && ctx.current, "the app running", 60_000);
    for (let i = 0; i < 12; i++) assert.equal(await get(`${running.url}/export`), 200);
    await until(async () => (await ctx.request("balloon/routes", { sessionId: running.sessionId })).routes.some((r) => r.route === "/export" && r.flags.includes("inflates")),
      "GET /export flagged as inflating");

    const workspace = vscode.workspace.workspaceFolders[0].uri.fsPath;
    const source = fs.readFileSync(`${workspace}/app.py`, "utf8").split("\n");
    const allocating = source.findIndex((line) => line.includes("_export_cache.extend(")) + 1;
    const ended = [];
    const listening = ctx.onDeepDiveCall((call) => ended.push(call));
    const diving = vscode.commands.executeCommand("balloon.deepDive", { sessionId: running.sessionId, method: "GET", route: "/export" });
    assert.deepEqual(await until(() => ctx.deepDiveRunning, "the dive under way"), { method: "GET", route: "/export", calls: 2 });
    const dive = await diving;
    listening.dispose();
    assert.deepEqual(ended.map((call) => [call.done, call.total, call.status]), [[1, 2, 200], [2, 2, 200]], "each call told as it ended (the progress notification)");
    assert.equal(dive.ok, true, dive.message);
    assert.deepEqual([dive.value.route, dive.value.calls, dive.value.frames, dive.value.orderedBy], ["/export", 2, 8, "retained"]);
    assert.deepEqual([dive.value.top[0].file, dive.value.top[0].line], ["app.py", allocating], JSON.stringify(dive.value.top[0]));
    assert.ok(ctx.panelIfOpen, "the panel is open (on its Deep dive tab)");
    assert.equal(ctx.deepDiveRunning, null, "the panel no longer shows it running");
    const stopped = await vscode.commands.executeCommand("balloon.stop");
    assert.equal(stopped.ok, true, stopped.message);
  });

  it("restarts the language server on request", async function () {
    const before = ctx.serverPid;
    assert.ok(before);
    await vscode.commands.executeCommand("balloon.restartServer");
    await until(() => ctx.clientState === "running" && ctx.serverPid && ctx.serverPid !== before, "a new server");
    assert.equal(alive(before), false, "the old server exited");
    assert.deepEqual(await ctx.request("balloon/status", {}), []);
  });

  it("survives a killed server: the client starts a new one and the app it ran is gone", async function () {
    this.timeout(120_000);
    const outcome = await vscode.commands.executeCommand("balloon.run");
    assert.equal(outcome.ok, true, outcome.message);
    await until(() => ctx.current && ctx.current.state === "running", "the app running");
    const server = ctx.serverPid;
    const app = await until(() => {
      const found = shimProcessesUnder(server);
      return found.length >= 3 && found;
    }, "the master and 2 workers");
    process.kill(server, "SIGKILL");
    await until(() => ctx.clientState === "running" && ctx.serverPid && ctx.serverPid !== server, "the client's new server", 60_000);
    assert.equal(ctx.current, null, "the sessions of the dead server are forgotten");
    await until(() => app.every((pid) => !alive(pid)), "the app's processes gone with their server");
    assert.deepEqual(await ctx.request("balloon/status", {}), []);
  });
});
