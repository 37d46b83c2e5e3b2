// Owns the `cluster-put` benchmark: puts from many clients into a 3-member cluster for a fixed time, to the leader
// or spread over every member (followers forward proposals), so every write is replicated before it is answered.
import type { Cluster } from "../testing/cluster_process.js";
import { type LoadResult, loadMetrics, runLoad } from "./load.js";
import type { ClusterBenchSpec } from "./types.js";

const defaults = {
  conns: 10,
  clients: 100,
  seconds: 10,
  keySize: 8,
  valSize: 256,
  keySpaceSize: 100_000,
  to: "leader",
  workers: 1,
  warmupSeconds: 5,
};

/** Deadline for the cluster to agree on a leader before the load starts. */
const LEADER_TIMEOUT_MS = 15_000;

export const clusterPutBench: ClusterBenchSpec<typeof defaults> = {
  name: "cluster-put",
  description: "puts from many clients into a 3-member cluster for a fixed time; throughput and latency",
  defaults,
  help: {
    conns: "gRPC connections (split over the members with --to all)",
    clients: "concurrent clients, spread over the connections",
    seconds: "how long to write",
    keySize: "key size in bytes",
    valSize: "value size in bytes",
    keySpaceSize: "distinct keys, chosen at random",
    to: "leader: every client talks to the leader; all: clients spread over every member",
    workers: "load-generator threads per member written to (1: this thread only)",
    warmupSeconds: "the same load for this long before the measured part, not counted (0: none)",
  },
  members: 3,
  async warmCluster(cluster, o, log) {
    if (o.warmupSeconds <= 0) return;
    log(`cluster-put: warming up for ${o.warmupSeconds} s`);
    await putLoad(cluster, o, log, o.warmupSeconds);
  },
  async runCluster(cluster, o, log) {
    return loadMetrics("put", await putLoad(cluster, o, log, o.seconds));
  },
};

/** Puts for `seconds` from o.clients clients, to the leader or spread over every member. */
async function putLoad(
  cluster: Cluster,
  o: typeof defaults,
  log: (m: string) => void,
  seconds: number,
): Promise<LoadResult[]> {
  const endpoints = await targetEndpoints(cluster, o.to, log);
  const op = {
    kind: "put" as const,
    keySize: o.keySize,
    valSize: o.valSize,
    keySpaceSize: o.keySpaceSize,
    sequentialKeys: false,
  };
  const n = endpoints.length;
  const share = (x: number, i: number): number => Math.floor(x / n) + (i < x % n ? 1 : 0);
  const results: LoadResult[][] = await Promise.all(
    endpoints.map((endpoint, i) =>
      runLoad(
        {
          endpoint,
          conns: Math.max(1, share(o.conns, i)),
          clients: share(o.clients, i),
          first: 0,
          // Time-bound, not count-bound.
          total: Number.MAX_SAFE_INTEGER,
          maxSeconds: seconds,
          op,
        },
        o.workers,
      ),
    ),
  );
  return results.flat();
}

async function targetEndpoints(cluster: Cluster, to: string, log: (m: string) => void): Promise<string[]> {
  const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
  if (to === "all") return cluster.endpoints();
  if (to !== "leader") throw new Error(`--to ${to}: expected leader or all`);
  log(`cluster-put: leader is ${leader.name} (${cluster.member(leader.name).endpoint})`);
  return [cluster.member(leader.name).endpoint];
}
