// Owns the `range` benchmark: single-key gets, linearizable and/or serializable (etcd benchmark range --consistency).
import { randomBytes } from "node:crypto";
import { Conns, makeKey, put, putRequest } from "./conns.js";
import { loadMetrics, runLoad } from "./load.js";
import type { BenchSpec, Metric } from "./types.js";

const defaults = {
  conns: 10,
  clients: 100,
  total: 10_000,
  consistency: "l,s",
  keySize: 8,
  valSize: 8,
  workers: 1,
  maxSeconds: 60,
};

export const rangeBench: BenchSpec<typeof defaults> = {
  name: "range",
  description: "single-key gets; throughput and latency per consistency",
  defaults,
  help: {
    conns: "gRPC connections",
    clients: "concurrent clients, spread over the connections",
    total: "gets per consistency",
    consistency: "l (linearizable), s (serializable) or both: l,s",
    keySize: "key size in bytes",
    valSize: "value size in bytes",
    workers: "load-generator threads sharing the connections and clients (1: this thread only)",
    maxSeconds: "stop issuing after this long (per consistency) even if total is not reached",
  },
  async run(endpoint, o) {
    const key = makeKey(0, o.keySize);
    const setup = new Conns(endpoint, 1);
    await setup.ready();
    await put(setup.kv(1)[0]!, putRequest(key, randomBytes(o.valSize)));
    setup.close();
    const out: Metric[] = [];
    for (const c of o.consistency.split(",")) {
      const serializable = c.trim() === "s";
      const op = { kind: "range" as const, key, serializable };
      const job = {
        endpoint,
        conns: o.conns,
        clients: o.clients,
        first: 0,
        total: o.total,
        maxSeconds: o.maxSeconds,
        op,
      };
      out.push(
        ...loadMetrics(serializable ? "serializable get" : "linearizable get", await runLoad(job, o.workers)),
      );
    }
    return out;
  },
};
