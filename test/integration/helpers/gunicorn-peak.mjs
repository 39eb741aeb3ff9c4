// Independent ground truth for the fixture apps: run an app under gunicorn (1 sync worker) and
// read the worker's memory around each request straight from /proc, with no Balloon code involved.
// Per request: reset the high-water mark (clear_refs 5), read VmRSS, send the request, read
// VmHWM (peak) and VmRSS after. Linux only.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";

const BOOT_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 60_000;
// The client can see the response a moment before the worker has finished closing the request.
const SETTLE_MS = 50;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads `Key:   1234 kB` fields from /proc/<pid>/status, in KiB. */
export function readStatusKiB(pid, keys = ["VmRSS", "VmHWM", "VmSize"]) {
  const out = {};
  for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (m && keys.includes(m[1])) out[m[1]] = Number(m[2]);
  }
  return out;
}

function childPids(pid) {
  const kids = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text) kids.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // The arbiter is gone or /proc/<pid>/task/*/children is unavailable: fall back to ppid scan.
  }
  if (kids.length) return kids;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === pid) kids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return kids;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function send(port, { method = "GET", path, body }) {
  return new Promise((resolve, reject) => {
    const headers = { Connection: "close", ...(body ? { "Content-Length": String(body.length) } : {}) };
    const req = http.request(
      { host: "127.0.0.1", port, method, path, headers, agent: false },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Runs `target` under gunicorn in `appDir` and measures each request.
 * @param {object} o
 * @param {string} o.appDir working directory (for Django: the project dir, target `mysite.wsgi:application`)
 * @param {string} o.target WSGI target, e.g. `app:app`
 * @param {{method?: string, path: string, body?: Buffer}[]} o.requests measured requests, in order
 * @param {{method?: string, path: string}[]} [o.warmup] unmeasured requests sent first; the first one
 *   also waits for the worker to have imported the app (default: one request to a 404 path)
 * @param {number} [o.stackKiB] if set, `ulimit -s` for gunicorn (thread stack size)
 * @param {string} [o.python]
 * @returns {Promise<{path: string, method: string, status: number, body: string,
 *   rssBeforeKiB: number, peakKiB: number, rssAfterKiB: number, workerPid: number}[]>}
 */
export async function measureUnderGunicorn({
  appDir,
  target,
  requests,
  warmup = [{ method: "GET", path: "/__balloon_warmup__" }],
  stackKiB,
  python = "/usr/bin/python3",
}) {
  const port = await freePort();
  const argv = [python, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
    "--bind", `127.0.0.1:${port}`, "--timeout", "120", target];
  const [cmd, args] = stackKiB
    ? ["/bin/sh", ["-c", `ulimit -s ${Number(stackKiB)} && exec "$@"`, "sh", ...argv]]
    : [argv[0], argv.slice(1)];
  // Own process group, so the finally below can end gunicorn and its worker together.
  const child = spawn(cmd, args, {
    cwd: appDir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  let exited = null;
  const exit = new Promise((resolve) => child.on("exit", (code, signal) => resolve((exited = { code, signal }))));
  const fail = (msg) => new Error(`${msg}\n--- gunicorn log (${target} in ${appDir}) ---\n${log}`);

  try {
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    let workerPid;
    while (!workerPid) {
      if (exited) throw fail(`gunicorn exited early (${JSON.stringify(exited)})`);
      if (Date.now() > deadline) throw fail("no gunicorn worker appeared");
      [workerPid] = childPids(child.pid);
      if (!workerPid) await sleep(50);
    }
    for (const r of warmup) await send(port, r);
    await sleep(SETTLE_MS);

    const results = [];
    for (const r of requests) {
      if (exited) throw fail(`gunicorn exited (${JSON.stringify(exited)})`);
      const [now] = childPids(child.pid);
      if (now !== workerPid) throw fail(`worker changed from ${workerPid} to ${now} (crash or timeout?)`);
      writeFileSync(`/proc/${workerPid}/clear_refs`, "5");
      const before = readStatusKiB(workerPid);
      const res = await send(port, r);
      await sleep(SETTLE_MS);
      const after = readStatusKiB(workerPid);
      results.push({
        method: r.method ?? "GET",
        path: r.path,
        status: res.status,
        body: res.body,
        rssBeforeKiB: before.VmRSS,
        peakKiB: after.VmHWM,
        rssAfterKiB: after.VmRSS,
        workerPid,
      });
    }
    return results;
  } finally {
    if (!exited) {
      try { process.kill(-child.pid, "SIGTERM"); } catch { /* already gone */ }
      const timer = sleep(5000).then(() => "timeout");
      if ((await Promise.race([exit, timer])) === "timeout") {
        try { process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
        await exit;
      }
    }
    // A worker that outlived its arbiter would still be in the group.
    try { process.kill(-child.pid, "SIGKILL"); } catch { /* group is empty */ }
  }
}
