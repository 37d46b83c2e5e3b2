// Owns closed-loop load (put and range): clients issue their next request when the previous one answers, either
// in this thread or split over worker threads (--workers) so the load generator can use more than one core.
import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { RangeRequest } from "../proto/index.js";
import { Conns, errText, makeKey, put, putRequest, range } from "./conns.js";
import { latencyMetrics, Samples } from "./samples.js";
import type { Metric } from "./types.js";

export type Op =
  | { kind: "put"; keySize: number; valSize: number; keySpaceSize: number; sequentialKeys: boolean }
  | { kind: "range"; key: Buffer; serializable: boolean };

/** A share of the load, plain data so it can cross to a worker thread. */
export interface LoadJob {
  endpoint: string;
  conns: number;
  clients: number;
  /** Request indexes [first, first + total) (sequential keys continue across workers). */
  first: number;
  total: number;
  maxSeconds: number;
  op: Op;
}

/** What one share measured; times are absolute (timeOrigin + now) so threads can be merged. */
export interface LoadResult {
  latencies: Float64Array;
  errors: number;
  firstError: string;
  start: number;
  end: number;
}

const now = (): number => performance.timeOrigin + performance.now();

export async function runJob(job: LoadJob): Promise<LoadResult> {
  const conns = new Conns(job.endpoint, job.conns);
  await conns.ready();
  const clients = conns.kv(job.clients);
  const call = makeCall(job.op);
  const lat = new Samples();
  let next = job.first;
  const end = job.first + job.total;
  let errors = 0;
  let firstError = "";
  const start = now();
  const deadline = start + job.maxSeconds * 1000;
  await Promise.all(
    clients.map(async (kv) => {
      while (next < end && now() < deadline) {
        const i = next++;
        const t0 = performance.now();
        try {
          await call(kv, i);
          lat.add(performance.now() - t0);
        } catch (err) {
          errors++;
          firstError ||= errText(err);
        }
      }
    }),
  );
  const result = { latencies: lat.values(), errors, firstError, start, end: now() };
  conns.close();
  return result;
}

function makeCall(op: Op): (kv: ReturnType<Conns["kv"]>[number], i: number) => Promise<unknown> {
  if (op.kind === "put") {
    const value = randomBytes(op.valSize);
    return (kv, i) => {
      const k = op.sequentialKeys ? i % op.keySpaceSize : Math.floor(Math.random() * op.keySpaceSize);
      return put(kv, putRequest(makeKey(k, op.keySize), value));
    };
  }
  const req: RangeRequest = {
    key: Buffer.from(op.key),
    rangeEnd: Buffer.alloc(0),
    limit: 0n,
    revision: 0n,
    sortOrder: 0,
    sortTarget: 0,
    serializable: op.serializable,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0n,
    maxModRevision: 0n,
    minCreateRevision: 0n,
    maxCreateRevision: 0n,
  };
  return (kv) => range(kv, req);
}

/** Runs `job` split over `workers` threads (1: in this thread); connections and clients are divided among them. */
export async function runLoad(job: LoadJob, workers: number): Promise<LoadResult[]> {
  if (workers <= 1) return [await runJob(job)];
  const share = (n: number, w: number): number => Math.floor(n / workers) + (w < n % workers ? 1 : 0);
  let first = job.first;
  const jobs = Array.from({ length: workers }, (_, w) => {
    const j = { ...job, conns: Math.max(1, share(job.conns, w)), clients: share(job.clients, w), first };
    j.total = share(job.total, w);
    first += j.total;
    return j;
  });
  const url = new URL("./load_worker.js", import.meta.url);
  return Promise.all(
    jobs.map(
      (j) =>
        new Promise<LoadResult>((resolve, reject) => {
          const w = new Worker(url, { workerData: j });
          w.once("message", (r: LoadResult) => resolve(r));
          w.once("error", reject);
        }),
    ),
  );
}

/** Throughput over the first start → last end of all shares, and latency percentiles over every request. */
export function loadMetrics(prefix: string, results: LoadResult[]): Metric[] {
  const lat = new Samples();
  for (const r of results) for (const v of r.latencies) lat.add(v);
  const secs = (Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start))) / 1000;
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const firstError = results.find((r) => r.firstError)?.firstError;
  return [
    { name: `${prefix} throughput`, value: lat.count / secs, unit: "req/s", better: "higher" },
    ...latencyMetrics(`${prefix} latency`, lat),
    { name: `${prefix} completed`, value: lat.count, unit: "req" },
    { name: `${prefix} errors`, value: errors, unit: "req", better: "lower", note: firstError },
  ];
}
