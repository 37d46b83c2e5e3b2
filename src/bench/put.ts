// Owns the `put` benchmark: N clients over C connections put `total` keys as fast as they can (etcd benchmark put).
import { loadMetrics, runLoad } from "./load.js";
import type { BenchSpec } from "./types.js";

const defaults = {
  conns: 10,
  clients: 100,
  total: 10_000,
  keySize: 8,
  valSize: 8,
  keySpaceSize: 1,
  sequentialKeys: false,
  workers: 1,
  maxSeconds: 60,
};

export const putBench: BenchSpec<typeof defaults> = {
  name: "put",
  description: "puts from many clients; throughput and latency",
  defaults,
  help: {
    conns: "gRPC connections",
    clients: "concurrent clients, spread over the connections",
    total: "total puts",
    keySize: "key size in bytes",
    valSize: "value size in bytes",
    keySpaceSize: "distinct keys (1: every put writes the same key, as etcd benchmark's default)",
    sequentialKeys: "keys 0,1,2,… instead of random within the key space",
    workers: "load-generator threads sharing the connections and clients (1: this thread only)",
    maxSeconds: "stop issuing after this long even if total is not reached",
  },
  async run(endpoint, o) {
    const { keySize, valSize, keySpaceSize, sequentialKeys } = o;
    const op = { kind: "put" as const, keySize, valSize, keySpaceSize, sequentialKeys };
    const results = await runLoad(
      {
        endpoint,
        conns: o.conns,
        clients: o.clients,
        first: 0,
        total: o.total,
        maxSeconds: o.maxSeconds,
        op,
      },
      o.workers,
    );
    return loadMetrics("put", results);
  },
};
