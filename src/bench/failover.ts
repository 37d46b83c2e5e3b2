// Owns the `failover` benchmark: steady writes into a 3-member cluster, kill -9 the leader, and measure how long
// until a write succeeds again (and until the survivors report a new leader), against the election timeout.
import { randomBytes } from "node:crypto";
import type { Cluster } from "../testing/cluster_process.js";
import { Conns, errText, makeKey, put, putRequest } from "./conns.js";
import type { ClusterBenchSpec, Metric } from "./types.js";

const defaults = {
  clients: 20,
  warmupSeconds: 5,
  probeMs: 10,
  timeoutSeconds: 30,
  electionTimeoutMs: 1000,
};

/** Deadline for the cluster to agree on a leader before the kill. */
const LEADER_TIMEOUT_MS = 15_000;
/** A writer that got an error waits this long before its next put, so a dead member is not hammered. */
const ERROR_BACKOFF_MS = 10;
/** Probes outstanding at once; a probe to a member that still follows the dead leader hangs until it times out. */
const MAX_PROBES_IN_FLIGHT = 2_000;
/** The pre-kill write rate is measured over the warm-up's last this-many seconds. */
const RATE_WINDOW_SECONDS = 2;
/** How often the survivors' Status is polled for a new leader. */
const STATUS_POLL_MS = 20;
const now = (): number => performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const failoverBench: ClusterBenchSpec<typeof defaults> = {
  name: "failover",
  description:
    "kill -9 the leader of a 3-member cluster under steady writes: time until writes succeed again",
  defaults,
  help: {
    clients: "closed-loop writers, spread over every member, before and through the failover",
    warmupSeconds: "steady writes before the kill (the write rate is taken over its last 2 s)",
    probeMs:
      "after the kill, start a fresh put to each survivor this often (the first success is the measure)",
    timeoutSeconds: "give up if no write succeeds this long after the kill",
    electionTimeoutMs: "the members' --election-timeout (etcd's default 1000), for the ratio row",
  },
  members: 3,
  async runCluster(cluster, o, log) {
    const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
    const survivors = cluster.members.filter((m) => m.name !== leader.name).map((m) => m.name);
    const perMember = new Map(cluster.members.map((m) => [m.name, new Conns(m.endpoint, 1)]));
    await Promise.all([...perMember.values()].map((c) => c.ready()));
    const value = randomBytes(64);
    let stopping = false;
    let killAt = Number.POSITIVE_INFINITY;
    let written = 0;
    let errors = 0;
    let firstError = "";
    const writers = cluster.members.flatMap((m, mi) =>
      perMember
        .get(m.name)!
        .kv(
          Math.floor(o.clients / cluster.members.length) + (mi < o.clients % cluster.members.length ? 1 : 0),
        )
        .map(async (kv, ci) => {
          let i = 0;
          while (!stopping) {
            try {
              await put(kv, putRequest(makeKey(i++, 8, `failover/${mi}/${ci}/`), value));
              written++;
            } catch (err) {
              errors++;
              if (now() > killAt) firstError ||= `${m.name}: ${errText(err)}`;
              await sleep(ERROR_BACKOFF_MS);
            }
          }
        }),
    );
    try {
      // The rate is taken over the warm-up's last seconds: a fresh Node.js member is still compiling at first.
      const window = Math.min(RATE_WINDOW_SECONDS, o.warmupSeconds);
      await sleep((o.warmupSeconds - window) * 1000);
      const mark = written;
      await sleep(window * 1000);
      const steady = (written - mark) / window;
      log(`failover: ${written} writes in warm-up; killing leader ${leader.name} (term ${leader.term})`);
      killAt = now();
      const killed = cluster.kill(leader.name, "SIGKILL");
      const [firstWrite, newLeader] = await Promise.all([
        probeUntilWrite(perMember, survivors, o, killAt),
        pollNewLeader(cluster, leader.name, killAt, o.timeoutSeconds * 1000),
      ]);
      await killed;
      log(
        `failover: first write ${firstWrite.toFixed(0)} ms after the kill, new leader ${newLeader.name} ` +
          `seen after ${newLeader.ms.toFixed(0)} ms`,
      );
      const rows: Metric[] = [
        { name: "kill → first successful write", value: firstWrite, unit: "ms", better: "lower" },
        { name: "kill → new leader (Status)", value: newLeader.ms, unit: "ms", better: "lower" },
        {
          name: "first write / election timeout",
          value: firstWrite / o.electionTimeoutMs,
          unit: "×",
          better: "lower",
        },
        { name: "writes/s before the kill (last 2 s)", value: steady, unit: "req/s", better: "higher" },
        { name: "failed writes (all writers)", value: errors, unit: "req", note: firstError },
      ];
      return rows;
    } finally {
      stopping = true;
      // Writers stuck on a member that followed the dead leader finish when their put times out; don't wait.
      await Promise.race([Promise.all(writers), sleep(1_000)]);
      for (const c of perMember.values()) c.close();
    }
  },
};

/**
 * From the kill, starts a put to each survivor every `probeMs` (fresh requests, so none is stuck behind a put
 * that went to the dead leader) and resolves with the time from the kill to the first one that succeeds.
 */
async function probeUntilWrite(
  perMember: Map<string, Conns>,
  survivors: string[],
  o: typeof defaults,
  killAt: number,
): Promise<number> {
  const kvs = survivors.map((name) => perMember.get(name)!.kv(1)[0]!);
  const value = Buffer.from("probe");
  const deadline = killAt + o.timeoutSeconds * 1000;
  return new Promise((resolve, reject) => {
    let inFlight = 0;
    let seq = 0;
    let done = false;
    const tick = (): void => {
      if (done) return;
      if (now() > deadline) {
        done = true;
        reject(new Error(`no write succeeded within ${o.timeoutSeconds} s of the kill`));
        return;
      }
      for (const kv of kvs) {
        if (inFlight >= MAX_PROBES_IN_FLIGHT) break;
        inFlight++;
        put(kv, putRequest(makeKey(seq++, 8, "failover/probe/"), value)).then(
          () => {
            inFlight--;
            if (!done) {
              done = true;
              resolve(now() - killAt);
            }
          },
          () => {
            inFlight--;
          },
        );
      }
      setTimeout(tick, o.probeMs);
    };
    tick();
  });
}

async function pollNewLeader(
  cluster: Cluster,
  old: string,
  killAt: number,
  timeoutMs: number,
): Promise<{ name: string; ms: number }> {
  for (;;) {
    const l = await cluster.leader(500).catch(() => undefined);
    if (l && l.name !== old) return { name: l.name, ms: now() - killAt };
    if (now() - killAt > timeoutMs) throw new Error(`no new leader within ${timeoutMs} ms of the kill`);
    await sleep(STATUS_POLL_MS);
  }
}
