// Real servers (gunicorn, uWSGI, Apache) run from exported files: each started in its own
// process group with its whole output kept, waited for until it answers, stopped with its own
// signal, and checked to have left no process behind; stopAllServers() (call it in `after`)
// SIGKILLs whatever is left. The exporters themselves come from the TypeScript sources,
// bundled once per test file.
import { spawn } from "node:child_process";
import { build } from "esbuild";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { processTree } from "../../bench/lib/peers.mjs";
import { repoRoot, request, sleep, waitFor } from "./balloon.mjs";

export { freePort } from "../../bench/lib/peers.mjs";

const running = new Set();

/** profiler/recommend/exporters/index.ts, bundled (with `yaml`) and imported. */
export async function loadExporters() {
  const dir = mkdtempSync(path.join(tmpdir(), "balloon-exporters-"));
  const outfile = path.join(dir, "exporters.cjs");
  await build({
    entryPoints: [path.join(repoRoot, "profiler/recommend/exporters/index.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    logLevel: "warning",
  });
  const module = await import(pathToFileURL(outfile).href);
  rmSync(dir, { recursive: true, force: true });
  return module;
}

/** Is this exact process (pid and start time) still there, and not a zombie? */
function stillThere({ pid, startTicks }) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] === startTicks && fields[0] !== "Z";
  } catch {
    return false;
  }
}

class Server {
  constructor(label, child, port) {
    this.label = label;
    this.child = child;
    this.port = port;
    this.output = "";
    this.exit = null;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve((this.exit = { code, signal })));
      // Not installed: spawn fails, and the test fails saying so.
      child.once("error", (error) => resolve((this.exit = { code: null, signal: null, error: `${error.message}; is it installed? npm test installs it` })));
    });
    /** Every process seen in its tree, as {pid, startTicks}: checked after the stop. */
    this.seen = [];
    child.stdout.on("data", (chunk) => (this.output += chunk));
    child.stderr.on("data", (chunk) => (this.output += chunk));
  }

  /** Notes its process tree now (workers come and go: call it after each change). */
  notice() {
    for (const p of processTree(this.child.pid)) if (!this.seen.some((s) => s.pid === p.pid && s.startTicks === p.startTicks)) this.seen.push(p);
    return processTree(this.child.pid).map((p) => p.pid);
  }

  /** Pids of the leader's children. */
  children() {
    return processTree(this.child.pid).filter((p) => p.ppid === this.child.pid).map((p) => p.pid);
  }

  get(urlPath, options) {
    return request(this.port, urlPath, options);
  }

  fail(what) {
    return new Error(`${this.label} ${what}${this.exit ? ` (exit ${this.exit.code ?? this.exit.signal ?? this.exit.error})` : ""}\n--- its output ---\n${this.output.slice(-6000)}`);
  }

  /** Its own stop signal, then the processes it left: {exit, left} (left: pids still running after `graceMs`). */
  async stop(signal = "SIGTERM", graceMs = 15_000) {
    this.notice();
    if (!this.exit) process.kill(this.child.pid, signal);
    const gone = () => this.exit !== null && this.seen.every((p) => !stillThere(p));
    await waitFor(gone, { timeoutMs: graceMs, what: "its processes to end" }).catch(() => null);
    const left = this.seen.filter(stillThere).map((p) => p.pid);
    this.kill();
    running.delete(this);
    return { exit: this.exit, left };
  }

  kill() {
    try {
      process.kill(-this.child.pid, "SIGKILL");
    } catch {
      // the group is empty
    }
    for (const p of this.seen.filter(stillThere)) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}

/**
 * Starts `command args` in its own process group and waits until GET `probePath` on 127.0.0.1:`port`
 * answers 200; throws with the server's output when it exits or does not answer in time.
 */
export async function startServer({ label, command, args, cwd, port, probePath = "/hello", timeoutMs = 30_000, env = {} }) {
  const child = spawn(command, args, { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", ...env } });
  const server = new Server(label, child, port);
  running.add(server);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.exit) throw server.fail("exited before answering");
    const answer = await server.get(probePath, { timeoutMs: 2000 }).catch(() => null);
    if (answer?.status === 200) break;
    if (answer && answer.status >= 500) throw server.fail(`answered ${probePath} with ${answer.status}: ${answer.body.slice(0, 300)}`);
    if (Date.now() > deadline) throw server.fail(`did not answer ${probePath} with 200 within ${timeoutMs} ms`);
    await sleep(100);
  }
  server.notice();
  return server;
}

/** SIGKILLs every server still running (use in `after`, so a failed test leaks nothing). */
export function stopAllServers() {
  for (const server of running) server.kill();
  running.clear();
}

process.on("exit", stopAllServers);
