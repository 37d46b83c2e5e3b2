// Owns the worker-thread side of `runLoad`: runs one share of a closed-loop load and posts its result back.
import { parentPort, workerData } from "node:worker_threads";
import { type LoadJob, runJob } from "./load.js";

const job = workerData as LoadJob;
// Buffers arrive as Uint8Array after structured cloning.
if (job.op.kind === "range") job.op.key = Buffer.from(job.op.key);
parentPort!.postMessage(await runJob(job));
