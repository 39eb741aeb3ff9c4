// The fixture apps of numbers-real-apps.test.mjs: profiled by real `balloon profile` (or, for a
// route that needs a request body, `balloon run` fed by this client), measured the same way
// under gunicorn, and the per-call figures of both side by side.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";

import { balloonBin, python, readRecord, repoRoot, startBalloon } from "./balloon.mjs";
import { median } from "./fixture-apps.mjs";

export const appsDir = path.join(repoRoot, "test/fixtures/apps");
const MiB = 1024; // KiB

export const readManifest = (app) => JSON.parse(readFileSync(path.join(appsDir, app.name, "manifest.json"), "utf8"));

/** The requests file's lines, in order: [{method, path}]. */
export function readPlan(app) {
  const text = readFileSync(path.join(appsDir, app.name, "requests.txt"), "utf8");
  return text.split("\n").map((line) => line.replace(/#.*/, "").trim()).filter(Boolean).map((line) => {
    const [method, urlPath] = line.split(/\s+/);
    return { method, path: urlPath };
  });
}

/** The plan with each request's body (bodyMiB in the manifest), for the client and gunicorn. */
export function withBodies(plan, manifest) {
  const bodies = new Map(manifest.filter((e) => e.bodyMiB).map((e) => [`${e.method} ${e.path}`, Buffer.alloc(e.bodyMiB << 20, "u")]));
  return plan.map((r) => ({ ...r, body: bodies.get(`${r.method} ${r.path}`) }));
}

function runNode(args, { env = process.env, timeoutMs = 300_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [balloonBin, ...args], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * `balloon profile` of a fixture: { report, calls (the recording's request lines), stderr }.
 * `app.python` null: let Balloon choose (env may move PATH); `app.cwd` overrides the app dir.
 */
export async function profileApp(app, { workers, threads = 1, concurrency, env } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "balloon-numbers-"));
  try {
    const reportPath = path.join(dir, "report.json");
    const recordPath = path.join(dir, "record.jsonl");
    const args = [
      "profile", "--app", app.target, "--cwd", app.cwd ?? path.join(appsDir, app.name),
      "--requests", path.join(appsDir, app.name, "requests.txt"), "--report", reportPath, "--record", recordPath,
      "--workers", String(workers), "--threads", String(threads), ...(concurrency ? ["--concurrency", String(concurrency)] : []),
      ...(app.python === null ? [] : ["--python", python]),
    ];
    const result = await runNode(args, { env });
    if (result.code !== 0) throw new Error(`balloon profile ${app.name} exited ${result.code ?? result.signal}:\n${result.stderr}`);
    return { report: JSON.parse(readFileSync(reportPath, "utf8")), calls: readRecord(recordPath).filter((l) => l.type === "request"), stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function send(port, agent, { method, path: urlPath, body }) {
  return new Promise((resolve, reject) => {
    const headers = body ? { "Content-Length": String(body.length) } : {};
    const req = http.request({ host: "127.0.0.1", port, method, path: urlPath, agent, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** `balloon run` fed the plan (bodies included) by `workers × threads` keep-alive lanes, as
 * profile does; then `balloon report --json` of its recording. */
export async function runApp(app, plan, { workers, threads = 1 }) {
  const balloon = await startBalloon(["--workers", String(workers), "--threads", String(threads), "--max-body", "64"], { app: app.target, cwd: path.join(appsDir, app.name) });
  try {
    await balloon.waitForWorkers(workers);
    const agent = new http.Agent({ keepAlive: true, maxSockets: workers * threads });
    let next = 0;
    const lane = async () => {
      while (next < plan.length) await send(balloon.port, agent, plan[next++]);
    };
    await Promise.all(Array.from({ length: workers * threads }, lane));
    agent.destroy();
  } finally {
    await balloon.stop();
  }
  const result = await runNode(["report", balloon.recordPath, "--json"]);
  if (result.code !== 0) throw new Error(`balloon report exited ${result.code}:\n${result.stderr}`);
  return { report: JSON.parse(result.stdout), calls: balloon.requestLines(), stderr: balloon.stderr };
}

/** Per-call figures in MiB, from a recording's request lines or gunicorn's results. */
export const figures = (call) => ({
  peak: (call.peakKiB - call.rssBeforeKiB) / MiB,
  retained: (call.rssAfterKiB - call.rssBeforeKiB) / MiB,
});

const matches = (entry) => (call) => call.method === entry.method && call.route === entry.route;

/** gunicorn's results with the route Balloon gave each path (one template for /items/3 and /items/42). */
export function withRoutes(results, balloonCalls) {
  const routeOf = new Map(balloonCalls.map((c) => [`${c.method} ${c.path}`, c.route]));
  return results.map((r) => ({ ...r, route: routeOf.get(`${r.method} ${r.path}`), pid: r.workerPid }));
}

/** The figure a route is compared on: the first call of each worker for an inflation (median
 * over workers), else the median over calls; Balloon's calls only when alone (concurrent 1),
 * a worker's first call left out when it was shared. */
export function routeFigure(entry, calls) {
  const ok = calls.filter(matches(entry)).filter((c) => (c.outcome ?? "ok") === "ok");
  let chosen = ok;
  if (entry.flags.includes("inflates")) {
    const firsts = new Map();
    for (const call of ok) if (!firsts.has(call.pid)) firsts.set(call.pid, call);
    chosen = [...firsts.values()];
  }
  const solo = chosen.filter((c) => (c.concurrent ?? 1) === 1).map(figures);
  if (solo.length === 0) return null;
  return { peak: median(solo.map((f) => f.peak)), retained: median(solo.map((f) => f.retained)), calls: solo.length };
}

/** Every solo call of an entry, as figures. */
export const soloCalls = (entry, calls) => calls.filter(matches(entry)).filter((c) => (c.concurrent ?? 1) === 1).map(figures);
