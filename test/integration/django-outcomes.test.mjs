// Outcomes and totals that hold on Django (issue 6, item 7). Django answers through an
// iterable response (not a list), so its body streams and its end-of-request frame follows the
// body: a client that has its whole response (Content-Length) and hangs up at once must not be
// recorded client-gone. Repeated many times, on fresh connections, with redirects (302) among
// them; then `balloon report` of the recording agrees with what the clients got.
import assert from "node:assert/strict";
import net from "node:net";
import path from "node:path";
import { after, test } from "node:test";
import { killAll, repoRoot, runCli, startBalloon, waitFor } from "./helpers/balloon.mjs";

const appDir = path.join(repoRoot, "test/fixtures/apps/decorated_django");
after(killAll);

/** One request on a fresh connection, closed the moment the whole body is in. */
function fetchAndHangUp(port, urlPath) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`GET ${urlPath} HTTP/1.1\r\nHost: x\r\n\r\n`));
    let data = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = data.subarray(0, end).toString("latin1");
      const declared = /\r\ncontent-length: *(\d+)/i.exec(head);
      // Without a Content-Length (no CommonMiddleware) the body is chunked: whole at its last chunk.
      const whole = declared ? data.length - end - 4 >= Number(declared[1]) : data.subarray(end + 4).includes("0\r\n\r\n");
      if (whole) {
        socket.destroy();
        resolve(Number(head.split(" ")[1]));
      }
    });
    socket.on("error", reject);
  });
}

test("40 Django responses, each hung up on as soon as it is whole: all ok, and the totals agree", async () => {
  const balloon = await startBalloon(["--workers", "2"], { app: ".", cwd: appDir });
  await balloon.waitForWorkers(2);
  const paths = ["/hello/", "/old-home/", "/go/home/", "/things/"];
  const statuses = [];
  for (let i = 0; i < 40; i++) statuses.push(await fetchAndHangUp(balloon.port, paths[i % paths.length]));
  assert.ok(statuses.includes(302), `redirects among them: ${[...new Set(statuses)]}`);
  const lines = await waitFor(() => {
    const found = balloon.requestLines();
    return found.length >= 40 ? found : null;
  }, { what: "40 request lines", timeoutMs: 15_000 });
  assert.deepEqual(lines.filter((l) => l.outcome !== "ok").map((l) => `${l.path} ${l.status} ${l.outcome} ${l.responseBytes}`), [], "no client-gone, no error");
  assert.deepEqual(lines.map((l) => l.status).sort(), [...statuses].sort(), "the recorded statuses are the ones the clients got");
  await balloon.stop();
  const report = JSON.parse((await runCli(["report", balloon.recordPath, "--json"])).stdout);
  assert.deepEqual([report.totals.requests, report.totals.errors], [40, 0]);
});
