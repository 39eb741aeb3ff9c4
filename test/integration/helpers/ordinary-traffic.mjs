// Ordinary traffic for latency figures: `lanes` keep-alive clients, each sending a request and
// pausing `pauseMs`, until stopped; and the p50/p99 of what they measured. Shared by
// deep-session.test.mjs and test/bench/deep-latency.mjs.
import http from "node:http";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function get(agent, port, urlPath) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, ms: performance.now() - started }));
    });
    req.on("error", reject);
  });
}

/** Sends `urlPath` until stop(), which resolves with every answer ({ status, ms }). */
export function ordinaryTraffic(port, { urlPath = "/hello", lanes = 2, pauseMs = 5 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: lanes });
  const answers = [];
  let running = true;
  const lane = async () => {
    while (running) {
      answers.push(await get(agent, port, urlPath));
      if (pauseMs > 0) await sleep(pauseMs);
    }
  };
  const all = Array.from({ length: lanes }, lane);
  return {
    async stop() {
      running = false;
      await Promise.all(all);
      agent.destroy();
      return answers;
    },
  };
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

export function latency(answers) {
  const sorted = answers.map((a) => a.ms).sort((a, b) => a - b);
  return { requests: answers.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}

export const latencyWords = ({ requests, p50, p99 }) => `${requests} requests, p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`;
