// Running wrk and reading its report.
import { spawn } from "node:child_process";

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function toMs(text) {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2]] : Number.NaN;
}

export function parseWrk(text) {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const requests = /(\d+) requests in/.exec(text);
  const p50 = /^\s+50%\s+(\S+)/m.exec(text);
  const p99 = /^\s+99%\s+(\S+)/m.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const socketErrors = socket ? { connect: +socket[1], read: +socket[2], write: +socket[3], timeout: +socket[4] } : null;
  return {
    rps: rps ? Number(rps[1]) : Number.NaN,
    requests: requests ? Number(requests[1]) : 0,
    p50Ms: p50 ? toMs(p50[1]) : Number.NaN,
    p99Ms: p99 ? toMs(p99[1]) : Number.NaN,
    socketErrors,
    socketErrorCount: socketErrors ? socketErrors.connect + socketErrors.read + socketErrors.write + socketErrors.timeout : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

/** Runs wrk against http://127.0.0.1:port/path; resolves with its text report. */
export function wrk(port, { seconds, threads = 1, connections, path = "/" }) {
  return new Promise((resolveRun, reject) => {
    const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--latency", `http://127.0.0.1:${port}${path}`];
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`wrk ${args.join(" ")} exited ${code}:\n${out}`));
      else resolveRun(out);
    });
  });
}
