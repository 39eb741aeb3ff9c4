// Big bodies both ways, slow readers, load, and HTTP edge cases, on real `balloon run`
// processes serving test/fixtures/apps/bodies. Timing is measured by test/bench/bodies.mjs;
// here only what must hold: whole bodies, bounded supervisor memory, the right statuses.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { spawnSync } from "node:child_process";

import { killAll, rawExchange, repoRoot, runCli, sleep, startBalloon, waitFor } from "./helpers/balloon.mjs";

const bodiesDir = path.join(repoRoot, "test/fixtures/apps/bodies");
after(killAll);

/** The fixture's byte pattern: 0..255 repeated. */
function pattern(size) {
  const block = Buffer.alloc(256 * 4096);
  for (let i = 0; i < block.length; i++) block[i] = i & 0xff;
  const out = Buffer.alloc(size);
  for (let offset = 0; offset < size; offset += block.length) block.copy(out, offset, 0, Math.min(block.length, size - offset));
  return out;
}

const sha256 = (data) => createHash("sha256").update(data).digest("hex");

function vmRssKiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line.split(/\s+/)[1]);
}

/** GET with the raw response body as a Buffer. */
function getBuffer(port, urlPath) {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: urlPath, agent: false }, (res) => {
      const parts = [];
      res.on("data", (chunk) => parts.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

describe("big bodies", () => {
  let balloon;
  before(async () => {
    balloon = await startBalloon(["--workers", "2", "--max-body", "100", "--timeout", "120"], { cwd: bodiesDir });
    await balloon.waitForWorkers(2);
  });

  test("a 64 MiB response arrives whole and byte-exact", async () => {
    const res = await getBuffer(balloon.port, "/bytes?mib=64");
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 64 << 20);
    assert.equal(sha256(res.body), sha256(pattern(64 << 20)));
    const line = await waitFor(() => balloon.requestLines().find((l) => l.path === "/bytes"), { what: "the /bytes line" });
    assert.equal(line.responseBytes, 64 << 20, "the recording has the response size");
  });

  test("a 64 MiB upload reaches the app whole", async () => {
    const body = pattern(64 << 20);
    const res = await balloon.get("/upload", { method: "POST", body, headers: { "Content-Type": "application/octet-stream" } });
    assert.equal(res.status, 200);
    assert.equal(res.body, `${body.length} ${sha256(body)}`);
    const line = await waitFor(() => balloon.requestLines().find((l) => l.path === "/upload"), { what: "the /upload line" });
    assert.equal(line.requestBytes, body.length);
  });

  test("a stalled reader of a 200 MiB stream pauses the worker: the supervisor holds under 16 MiB more", async () => {
    const before = vmRssKiB(balloon.pid);
    const socket = net.connect(balloon.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write("GET /stream?mib=200&kib=64 HTTP/1.1\r\nHost: x\r\n\r\n");
    let received = 0;
    socket.on("data", (chunk) => {
      received += chunk.length;
      socket.pause(); // read one chunk, then stop reading: the kernel buffers fill, then ours must not
      setTimeout(() => socket.resume(), 200); // ~64 KiB per 200 ms: far slower than the worker writes
    });
    let peak = before;
    for (let i = 0; i < 30; i++) {
      await sleep(100);
      peak = Math.max(peak, vmRssKiB(balloon.pid));
    }
    socket.destroy();
    const growthMiB = (peak - before) / 1024;
    assert.ok(received > 0 && received < 100 << 20, `the client read ${received} bytes of 200 MiB`);
    assert.ok(growthMiB < 16, `supervisor RSS grew ${growthMiB.toFixed(1)} MiB under a stalled reader`);
    // The worker was blocked writing; with the client gone it finishes and serves again.
    await waitFor(async () => (await balloon.get("/hello")).status === 200, { what: "a worker free again", timeoutMs: 20_000 });
  });
});

describe("HTTP edge cases", () => {
  let balloon;
  before(async () => {
    balloon = await startBalloon(["--workers", "1", "--max-body", "1", "--header-timeout", "1"], { cwd: bodiesDir });
    await balloon.waitForWorkers(1);
  });

  test("Expect: 100-continue with a body over --max-body gets 413, not an invitation", async () => {
    const answer = await rawExchange(balloon.port, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 52428800\r\nExpect: 100-continue\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(answer, /100 Continue/);
    const small = await rawExchange(balloon.port, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhello");
    assert.match(small, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /, "a body that fits is invited");
    const line = await waitFor(() => balloon.requestLines().find((l) => l.status === 413), { what: "the 413 line" });
    assert.equal(line.outcome, "rejected");
    assert.equal(line.worker, 0, "answered by the supervisor");
  });

  test("--max-body above the frame limit is a usage error", async () => {
    const result = await runCli(["run", "--app", "app:application", "--cwd", bodiesDir, "--max-body", "300"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--max-body must be between 0 and 255/);
  });

  test("the app's hop-by-hop headers are dropped; its Connection: close is honoured", async () => {
    const answer = await rawExchange(balloon.port, "GET /hop HTTP/1.1\r\nHost: x\r\n\r\n");
    const [head, body] = answer.split("\r\n\r\n");
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.match(head, /\r\nContent-Length: 3(\r\n|$)/i);
    assert.doesNotMatch(head, /Transfer-Encoding|Keep-Alive: timeout=99|Upgrade/i);
    assert.match(head, /\r\nConnection: close/i, "closed as the app asked (rawExchange resolved on close)");
    assert.equal(body, "hop");
  });

  test("a header with CR/LF gets 502 and is recorded as an invalid response", async () => {
    const res = await balloon.get("/crlf");
    assert.equal(res.status, 502);
    assert.match(res.body, /invalid response/);
    assert.equal(res.headers["set-cookie"], undefined, "nothing injected");
    const line = await waitFor(() => balloon.requestLines().find((l) => l.path === "/crlf"), { what: "the /crlf line" });
    assert.equal(line.outcome, "invalid-response");
    assert.equal(line.status, 502);
  });

  test("a request head that trickles in gets 408 after --header-timeout", async () => {
    const startedAt = performance.now();
    const answer = await new Promise((resolve) => {
      const socket = net.connect(balloon.port, "127.0.0.1", () => socket.write("GET /hello HTTP/1.1\r\nHost: x\r\n"));
      let text = "";
      socket.on("data", (chunk) => (text += chunk));
      socket.on("close", () => resolve(text));
      socket.on("error", () => undefined);
      setTimeout(() => socket.destroy(), 8000);
    });
    const ms = performance.now() - startedAt;
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /--header-timeout/);
    assert.ok(ms < 5000, `408 after ${Math.round(ms)} ms (limit 1 s, checked every second)`);
    assert.equal((await balloon.get("/hello")).status, 200);
  });

  test("the client closing right after its whole body is not client-gone, 30 times over", async () => {
    for (let i = 0; i < 30; i++) {
      // /late-end sends all 1000 bytes (Content-Length), then the worker pauses before it ends.
      const text = await new Promise((resolve, reject) => {
        const socket = net.connect(balloon.port, "127.0.0.1", () => socket.write(`GET /late-end?ms=50&i=${i} HTTP/1.1\r\nHost: x\r\n\r\n`));
        let got = "";
        socket.on("data", (chunk) => {
          got += chunk;
          if (got.endsWith("x".repeat(1000))) {
            socket.destroy();
            resolve(got);
          }
        });
        socket.on("error", reject);
      });
      assert.match(text, /^HTTP\/1\.1 200 /);
    }
    const lines = await waitFor(() => {
      const found = balloon.requestLines().filter((l) => l.path === "/late-end");
      return found.length === 30 ? found : null;
    }, { what: "30 /late-end lines", timeoutMs: 15_000 });
    assert.deepEqual([...new Set(lines.map((l) => l.outcome))], ["ok"]);
  });
});

describe("load and the memory budget", () => {
  test("wrk -c256 on 2 workers: every response is 200 (the queue holds what gunicorn's backlog would)", async () => {
    const balloon = await startBalloon(["--workers", "2"], { cwd: bodiesDir, record: false });
    await balloon.waitForWorkers(2).catch(() => undefined);
    await sleep(300);
    const wrk = spawnSync("wrk", ["-t2", "-c256", "-d3s", `http://127.0.0.1:${balloon.port}/hello`], { encoding: "utf8" });
    assert.equal(wrk.status, 0, wrk.stderr);
    assert.match(wrk.stdout, /requests in/);
    assert.doesNotMatch(wrk.stdout, /Non-2xx or 3xx responses/, wrk.stdout);
    assert.doesNotMatch(wrk.stdout, /Socket errors/, wrk.stdout);
    await balloon.stop();
  });

  test("a request holding 300 MiB does not make the idle worker recycle for the budget", async () => {
    const balloon = await startBalloon(["--workers", "2", "--memory-budget", "150"], { cwd: bodiesDir });
    await balloon.waitForWorkers(2);
    const hold = balloon.get("/hold?mib=300&ms=2500");
    const latencies = [];
    for (let i = 0; i < 20; i++) {
      await sleep(100);
      const res = await balloon.get("/hello");
      assert.equal(res.status, 200);
      latencies.push(res.ms);
    }
    assert.equal((await hold).status, 200);
    await sleep(500);
    const budgetRecycles = balloon.workerEvents("recycle").filter((l) => l.reason === "budget");
    assert.deepEqual(budgetRecycles, [], "the idle worker cannot bring the total under the budget; the big one gave its memory back");
    assert.equal(balloon.workerEvents("spawn").length, 2, "no worker was replaced");
  });

  test("a budget below workers × baseline RSS is refused at start with the numbers", async () => {
    const result = await runCli(["profile", "--app", "app:application", "--cwd", bodiesDir, "--python", "/usr/bin/python3",
      "--workers", "2", "--memory-budget", "8", "--requests", path.join(bodiesDir, "requests.txt")]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /--memory-budget 8 MiB cannot hold 2 idle workers: each starts at \d+\.\d MiB/);
  });
});
