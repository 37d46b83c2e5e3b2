// Owns the worker-thread side of `npm run sim --jobs J`: runs the chunks of seeds the main thread hands it.
import { parentPort } from "node:worker_threads";
import { runOne, type SeedResult } from "./run.js";

export interface Chunk {
  start: number;
  count: number;
}

const port = parentPort;
if (port === null) throw new Error("worker.ts must run in a worker thread");
port.on("message", (chunk: Chunk) => {
  const results: SeedResult[] = [];
  for (let s = chunk.start; s < chunk.start + chunk.count; s++) results.push(runOne(s));
  port.postMessage(results);
});
