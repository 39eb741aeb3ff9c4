// Inside code-server's extension host, with the real API: the commands are registered, bad
// settings are refused with a message naming the setting, the panel's page has its strict CSP,
// and the language client's lifecycle holds: a restart gives a new server, a killed server is
// restarted by the client, and the app it ran does not outlive it.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const vscode = require("vscode");

const COMMANDS = ["balloon.run", "balloon.stop", "balloon.showPanel", "balloon.profileRequests", "balloon.exportSettings", "balloon.openRecord"];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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
    for (const key of ["workers", "stackKiB", "timeoutSec", "port", "diagnostics.severity"]) await config().update(key, undefined, vscode.ConfigurationTarget.Workspace);
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
