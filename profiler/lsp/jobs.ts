// Runs a job (job-work.ts) in its own worker thread: the server's loop only waits for the answer.
// The worker is the bundle's dist/jobs-worker.js, next to dist/cli.js.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { Job, JobResult } from "./job-work";

type Reply = { ok: true; result: unknown } | { ok: false; message: string };

export const JOBS_WORKER_FILE = join(__dirname, "jobs-worker.js");

export function runInWorker<J extends Job>(job: J, workerFile = JOBS_WORKER_FILE): Promise<JobResult<J>> {
  if (!existsSync(workerFile)) return Promise.reject(new Error(`no ${workerFile}: build Balloon (npm run build)`));
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerFile, { workerData: job });
    let settled = false;
    worker.once("message", (reply: Reply) => {
      settled = true;
      if (reply.ok) resolve(reply.result as JobResult<J>);
      else reject(new Error(reply.message));
      void worker.terminate();
    });
    worker.once("error", (error) => {
      settled = true;
      reject(error);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`the ${job.kind} job's worker thread exited with code ${code}`));
    });
  });
}
