// Which Body frame size (BODY_CHUNK_BYTES in shim-protocol.ts and protocol.py) moves a big
// response body from a worker to the supervisor fastest, and what it costs the supervisor to
// hold. A Python sender uses the shim's own framing (wire.body_frame_header + send_parts: one
// sendmsg per frame, the body never copied) to send a 64 MiB body over a Unix socket; a Node
// receiver decodes the frames in linear time (a frame's pieces are joined once, when it is
// complete) and writes each payload to a discarding stream, as the supervisor passes Body
// frames on to the client. Rounds alternate the sizes.
//
// Run: node test/bench/body-chunks.mjs [rounds] (default 5). Prints wall time from the first
// byte to the last, the receiver's CPU, and the most bytes it held undecoded.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BODY_MIB = 64;
const SIZES_KIB = [64, 256, 1024, 4096];
const ROUNDS = Number(process.argv[2] ?? 5);

const SENDER = `
import socket, sys, time
sys.path.insert(0, ${JSON.stringify(path.join(root, "profiler/shim"))})
from balloon_shim.wire import body_frame_header, send_parts
path, chunk, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body = b"x" * size
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(path)
view = memoryview(body)
for offset in range(0, size, chunk):
    part = view[offset:offset + chunk]
    send_parts(sock, [body_frame_header(1, len(part)), part])
sock.close()
`;

/** Receives frames until the sender closes: { ms, frames, bytes, maxHeldBytes }. */
function receive(socketPath, bodyBytes, chunkBytes) {
  return new Promise((resolve, reject) => {
    const sink = new Writable({ write: (_chunk, _encoding, done) => done(), highWaterMark: 1 << 20 });
    let pending = [];
    let pendingBytes = 0;
    let need = 0; // bytes of the current frame (header included), 0 until its length is known
    let frames = 0;
    let bytes = 0;
    let maxHeld = 0;
    let started = 0;
    let cpu = null;
    const server = net.createServer((socket) => {
      socket.on("data", (chunk) => {
        if (!started) {
          started = performance.now();
          cpu = process.cpuUsage();
        }
        pending.push(chunk);
        pendingBytes += chunk.length;
        maxHeld = Math.max(maxHeld, pendingBytes);
        for (;;) {
          if (need === 0) {
            if (pendingBytes < 4) break;
            const head = pending[0].length >= 4 ? pending[0] : Buffer.concat(pending);
            need = 4 + head.readUInt32BE(0);
          }
          if (pendingBytes < need) break;
          const all = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
          sink.write(all.subarray(9, need));
          frames += 1;
          bytes += need - 9;
          const rest = all.subarray(need);
          pending = rest.length ? [rest] : [];
          pendingBytes = rest.length;
          need = 0;
        }
      });
      socket.on("end", () => {
        const ms = performance.now() - started;
        const used = process.cpuUsage(cpu);
        const cpuMs = (used.user + used.system) / 1000;
        server.close();
        if (bytes !== bodyBytes) reject(new Error(`got ${bytes} of ${bodyBytes} bytes`));
        else resolve({ ms, cpuMs, frames, maxHeldBytes: maxHeld, chunkBytes });
      });
    });
    server.listen(socketPath, () => {
      const child = spawn("/usr/bin/python3", ["-c", SENDER, socketPath, String(chunkBytes), String(bodyBytes)], { stdio: "inherit" });
      child.on("exit", (code) => code !== 0 && reject(new Error(`sender exited ${code}`)));
    });
  });
}

const dir = mkdtempSync(path.join(tmpdir(), "balloon-chunks-"));
const results = new Map(SIZES_KIB.map((kib) => [kib, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const kib of SIZES_KIB) {
      const r = await receive(path.join(dir, `s${round}-${kib}`), BODY_MIB << 20, kib << 10);
      results.get(kib).push(r);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`${BODY_MIB} MiB body, Body frames over a Unix socket, ${ROUNDS} rounds (median; all rounds)`);
for (const [kib, runs] of results) {
  const ms = runs.map((r) => r.ms);
  const held = median(runs.map((r) => r.maxHeldBytes)) / (1 << 20);
  const cpuMs = median(runs.map((r) => r.cpuMs));
  console.log(`${String(kib).padStart(5)} KiB frames: ${median(ms).toFixed(1)} ms (${ms.map((x) => x.toFixed(0)).join(" ")}), ` +
    `${runs[0].frames} frames, receiver CPU ${cpuMs.toFixed(1)} ms, held at most ${held.toFixed(2)} MiB`);
}
