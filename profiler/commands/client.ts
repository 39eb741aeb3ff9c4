// Sends the planned requests to the supervisor over keep-alive connections, a few at a time.
import { Agent, request } from "node:http";

export interface SendResult {
  sent: number;
  /** Status code → count; 0 counts requests that got no response (connection cut). */
  statuses: Map<number, number>;
}

export async function sendRequests(
  port: number,
  requests: Array<{ method: string; path: string }>,
  concurrency: number,
  onProgress: (done: number, status: number) => void,
): Promise<SendResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses = new Map<number, number>();
  let next = 0;
  let done = 0;
  const one = (method: string, path: string): Promise<number> =>
    new Promise((resolve) => {
      const req = request({ host: "127.0.0.1", port, method, path, agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", () => resolve(0));
      });
      req.on("error", () => resolve(0));
      req.end();
    });
  const lane = async (): Promise<void> => {
    while (next < requests.length) {
      const { method, path } = requests[next++];
      const status = await one(method, path);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      onProgress(++done, status);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  } finally {
    agent.destroy();
  }
  return { sent: done, statuses };
}
