// Entry of the worker thread that runs one job (job-work.ts) and posts its result back.
import { parentPort, workerData } from "node:worker_threads";
import { runJob, type Job } from "./job-work";

const port = parentPort;
if (port) {
  runJob(workerData as Job).then(
    (result) => port.postMessage({ ok: true, result }),
    (error: unknown) => port.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) }),
  );
}
