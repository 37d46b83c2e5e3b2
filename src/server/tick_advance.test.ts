// Specifies --initial-election-tick-advance on 3-member clusters of processes: by default, once both other members
// are connected, each member fast-forwards its election clock by electionTicks - 2 ticks and logs it as etcd 3.4
// does (the same test runs against real etcd); with the flag off it waits a whole election timeout.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ClusterBinary, startCluster } from "../testing/cluster_process.js";
import { hasEtcd } from "../testing/etcdctl.js";

const ADVANCED = "initialized peer connections; fast-forwarding election ticks";
// 30 ticks: a member that advanced 28 of them campaigns 2 to 31 ticks later.
const TIMING = ["--heartbeat-interval=100", "--election-timeout=3000"];

const binaries: ClusterBinary[] = ["etcd-ts", ...(hasEtcd() ? (["etcd"] as const) : [])];

describe("--initial-election-tick-advance", { timeout: 120_000 }, () => {
  for (const binary of binaries) {
    test(`on by default: every member fast-forwards 28 of 30 ticks once its peers are connected (${binary})`, async () => {
      const cluster = await startCluster({ size: 3, binary, extraArgs: TIMING });
      try {
        await cluster.waitForLeader(20_000);
        for (const m of cluster.members) {
          // A member logs it once it sees both peers connected, which may be after the others elected a leader.
          let line: string | undefined;
          for (const deadline = Date.now() + 8_000; line === undefined && Date.now() < deadline; ) {
            line = cluster
              .logs(m.name, 1_000_000)
              .split("\n")
              .find((l) => l.includes(ADVANCED));
            if (line === undefined) await new Promise((r) => setTimeout(r, 100));
          }
          assert.ok(line, `${m.name} logs "${ADVANCED}"`);
          const j = JSON.parse(line) as Record<string, unknown>;
          assert.equal(j["forward-ticks"], 28);
          assert.equal(j["election-ticks"], 30);
          assert.equal(j["active-remote-members"], 2);
        }
      } finally {
        await cluster.stop();
      }
    });
  }

  test("=false: no member fast-forwards (etcd-ts)", async () => {
    const cluster = await startCluster({
      size: 3,
      binary: "etcd-ts",
      extraArgs: [...TIMING, "--initial-election-tick-advance=false"],
    });
    try {
      await cluster.waitForLeader(20_000);
      for (const m of cluster.members) assert.ok(!cluster.logs(m.name, 1_000_000).includes(ADVANCED), m.name);
    } finally {
      await cluster.stop();
    }
  });
});
