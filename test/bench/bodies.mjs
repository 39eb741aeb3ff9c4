// `npm run bench:bodies`: big bodies through Balloon against gunicorn sync, in one run.
//
// - GET of a 64 MiB response and POST of a 64 MiB upload (test/fixtures/apps/bodies), each
//   timed end to end from a Node client on loopback; median of BENCH_ROUNDS, peers
//   interleaved (gunicorn, Balloon, gunicorn, Balloon, ...). Target: Balloon within 1.5x.
// - A reader of a 200 MiB stream at 2 MiB/s for BENCH_SLOW_SEC seconds: growth of the front
//   process's RSS (Balloon's Node supervisor; gunicorn's master for comparison). Target: under
//   16 MiB (backpressure: the worker waits in its write, nobody buffers the body), measured
//   after 100 MiB of the stream at full speed (the step a fresh front takes, printed too).
// Measured, not asserted: the exit code is non-zero only when a peer fails or a body is wrong.
import { request } from "node:http";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { rssKiB, sleep, startPeer, stopPeer } from "./lib/peers.mjs";
import { fmt, median, table } from "./lib/table.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const appDir = join(root, "test/fixtures/apps/bodies");
const PYTHON = "/usr/bin/python3";
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const SLOW_SEC = Number(process.env.BENCH_SLOW_SEC || 6);
const MIB = 1 << 20;

const PEERS = [
  {
    id: "gunicorn",
    label: "gunicorn sync, 2 workers",
    needsPort: true,
    command: (port) => [PYTHON, ["-m", "gunicorn", "-w", "2", "-k", "sync", "--timeout", "120", "--bind", `127.0.0.1:${port}`, "--log-level", "warning", "--chdir", appDir, "app:application"]],
    stopSignal: "SIGTERM",
  },
  {
    id: "balloon",
    label: "Balloon, 2 workers",
    command: () => [process.execPath, [join(root, "bin/balloon.js"), "run", "--app", "app:application", "--cwd", appDir, "--python", PYTHON,
      "--workers", "2", "--port", "0", "--max-body", "100", "--timeout", "120"]],
    stopSignal: "SIGINT",
  },
].map((peer) => ({ ...peer, cwd: appDir, probePath: "/hello" }));

/** One request; resolves { ms, bytes, status }. */
function timed(port, method, path, body) {
  return new Promise((resolveRun, reject) => {
    const startedAt = performance.now();
    const req = request({ host: "127.0.0.1", port, method, path, agent: false, headers: body ? { "Content-Length": body.length } : {} }, (res) => {
      let bytes = 0;
      res.on("data", (chunk) => (bytes += chunk.length));
      res.on("end", () => resolveRun({ ms: performance.now() - startedAt, bytes, status: res.statusCode }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Reads /stream?mib=200 at `rate` bytes/s for `seconds`; returns the front's RSS growth, MiB. */
async function slowReader(port, frontPid, rate, seconds) {
  const before = rssKiB(frontPid);
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((r) => socket.once("connect", r));
  socket.write("GET /stream?mib=200&kib=256 HTTP/1.1\r\nHost: bench\r\n\r\n");
  let received = 0;
  let peak = before;
  const startedAt = performance.now();
  socket.on("data", (chunk) => {
    received += chunk.length;
    // Pause until the average rate is back at `rate`.
    const due = (received / rate) * 1000 - (performance.now() - startedAt);
    if (due > 0) {
      socket.pause();
      setTimeout(() => socket.resume(), due);
    }
  });
  while (performance.now() - startedAt < seconds * 1000) {
    await sleep(100);
    peak = Math.max(peak, rssKiB(frontPid));
  }
  socket.destroy();
  return { growthMiB: (peak - before) / 1024, receivedMiB: received / MIB };
}

async function main() {
  const upload = Buffer.alloc(64 * MIB, 7);
  const samples = { gunicorn: { get: [], post: [] }, balloon: { get: [], post: [] } };
  const slow = {};
  let failed = false;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const peer of PEERS) {
      const proc = await startPeer(peer);
      try {
        // The slow reader after 100 MiB of the same stream read at full speed: a fresh front's
        // RSS takes a step with its first streamed MiB (+38 MiB over the first 100, then +1 over
        // 500 more, measured), which is the allocator keeping freed buffers, not the reader's.
        if (round === 1) {
          const fresh = rssKiB(proc.child.pid);
          await timed(proc.port, "GET", "/stream?mib=100&kib=256");
          const warmMiB = (rssKiB(proc.child.pid) - fresh) / 1024;
          slow[peer.id] = { ...(await slowReader(proc.port, proc.child.pid, 2 * MIB, SLOW_SEC)), warmMiB };
        }
        const get = await timed(proc.port, "GET", "/bytes?mib=64");
        const post = await timed(proc.port, "POST", "/upload", upload);
        if (get.status !== 200 || get.bytes !== 64 * MIB || post.status !== 200) {
          failed = true;
          process.stderr.write(`bench: ${peer.id}: GET ${get.status} ${get.bytes} bytes, POST ${post.status}\n`);
        }
        samples[peer.id].get.push(get.ms);
        samples[peer.id].post.push(post.ms);
        process.stderr.write(`bench: round ${round} ${peer.id.padEnd(9)} GET 64 MiB ${fmt(get.ms, 1)} ms, POST 64 MiB ${fmt(post.ms, 1)} ms\n`);
      } finally {
        await stopPeer(proc);
      }
    }
  }
  const rows = [["peer", "GET 64 MiB ms", "POST 64 MiB ms", "front RSS step, first 100 MiB streamed", `then growth under a 2 MiB/s reader, ${SLOW_SEC} s`]];
  for (const peer of PEERS) {
    const s = samples[peer.id];
    rows.push([peer.label, fmt(median(s.get), 1), fmt(median(s.post), 1), `${fmt(slow[peer.id]?.warmMiB, 1)} MiB`, `${fmt(slow[peer.id]?.growthMiB, 1)} MiB (read ${fmt(slow[peer.id]?.receivedMiB, 1)} MiB)`]);
  }
  process.stdout.write(`\nmedian of ${ROUNDS} round(s)\n${table(rows)}\n\n`);
  const ratio = (what) => median(samples.balloon[what]) / median(samples.gunicorn[what]);
  process.stdout.write(`Balloon / gunicorn time: GET ${fmt(ratio("get"), 2)}x, POST ${fmt(ratio("post"), 2)}x (target ≤ 1.5x)\n`);
  process.stdout.write(`Balloon supervisor RSS growth under the slow reader: ${fmt(slow.balloon?.growthMiB, 1)} MiB (target < 16 MiB)\n`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
