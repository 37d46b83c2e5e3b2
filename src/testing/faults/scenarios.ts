// Owns the fault scenarios (issue 6's "proof under faults"): which faults, in which order, against 3 and 5
// members, and what each expects beyond the common checks. Timings are drawn from the round's seed.
import { Client } from "../../client/index.js";
import { fillDisk, freeDisk } from "./disk.js";
import { completedWrite, type ScenarioRun, type ScenarioSpec, timeToFirstWrite } from "./scenario.js";
import { ref, steps } from "./schedule.js";

/** The full-disk member's tmpfs: room for two preallocated 64 MB WAL segments and the backend, then filled. */
export const DISK_MB = 192;
/** How long the full-disk member gets to fail or refuse a write. */
const DISK_FAIL_DEADLINE_MS = 20_000;
const DISK_PROBE_TIMEOUT_MS = 2_000;

/** "fault → new leader, first write" for the mark `name`, as a line to print. */
function firstWrite(run: ScenarioRun, name: string, what: string): string[] {
  const at = run.ctx.marks.get(name);
  const leader = run.ctx.marks.get("newLeader");
  const write = timeToFirstWrite(run, name);
  const f = (ms: number | undefined): string => (ms === undefined ? "never" : `${ms.toFixed(0)} ms`);
  const seen =
    at !== undefined && leader !== undefined ? `a new leader seen after ${f((leader - at) / 1e6)}, ` : "";
  return [`${what} → ${seen}the first write issued after it acknowledged after ${f(write)}`];
}

/** Writes acknowledged with both call and return between two marks. */
function writesBetween(run: ScenarioRun, from: string, to: string): number {
  const a = run.ctx.marks.get(from);
  const b = run.ctx.marks.get(to);
  if (a === undefined || b === undefined) return 0;
  return run.operations.filter((o) => completedWrite(o) && o.call >= a && o.return <= b).length;
}

const leaderKill: ScenarioSpec = {
  name: "3 members: leader kill -9, then restarted",
  size: 3,
  faults: [
    steps.leader("victim"),
    steps.signal("victim", "SIGKILL", "fault"),
    steps.waitForLeader({ exclude: ["victim"] }),
    steps.wait([1_500, 3_000]),
    steps.restart("victim"),
  ],
  measure: (run) => firstWrite(run, "fault", "kill -9 of the leader"),
};

const followerKill: ScenarioSpec = {
  name: "3 members: follower kill -9, then restarted",
  size: 3,
  faults: [
    steps.follower("victim"),
    steps.signal("victim", "SIGKILL", "fault"),
    steps.wait([2_000, 4_000]),
    steps.restart("victim"),
  ],
};

const leaderPause: ScenarioSpec = {
  name: "3 members: leader SIGSTOP past the election timeout, then SIGCONT",
  size: 3,
  faults: [
    steps.leader("victim"),
    steps.signal("victim", "SIGSTOP", "fault"),
    steps.waitForLeader({ exclude: ["victim"] }),
    steps.wait([1_000, 2_500]),
    steps.signal("victim", "SIGCONT"),
    steps.waitForLeader(),
  ],
  measure: (run) => firstWrite(run, "fault", "SIGSTOP of the leader"),
};

const leaderPartition = (size: 3 | 5): ScenarioSpec => ({
  name: `${size} members: leader partitioned from the majority, then healed`,
  size,
  proxies: true,
  faults: [
    steps.leader("victim"),
    steps.isolate("victim", "fault"),
    steps.waitForLeader({ exclude: ["victim"] }),
    steps.wait([1_500, 3_000]),
    steps.heal(),
    steps.waitForLeader(),
  ],
  measure: (run) => firstWrite(run, "fault", "isolation of the leader"),
});

const oneWay: ScenarioSpec = {
  name: "3 members: one-way partition, leader → followers lost, then healed",
  size: 3,
  proxies: true,
  faults: [
    steps.leader("victim"),
    steps.blackholeFrom("victim", "fault"),
    steps.waitForLeader({ exclude: ["victim"] }),
    steps.wait([1_500, 3_000]),
    steps.heal(),
    steps.waitForLeader(),
  ],
  measure: (run) => firstWrite(run, "fault", "leader's outgoing messages lost"),
};

const restartAll: ScenarioSpec = {
  name: "3 members: every member kill -9'd at once, then all started",
  size: 3,
  faults: [steps.killAll("fault"), steps.wait([500, 1_500]), steps.restartAll(), steps.waitForLeader()],
  measure: (run) => firstWrite(run, "fault", "kill -9 of every member"),
};

const diskFull: ScenarioSpec = {
  name: "3 members: a member's disk fills up, then is freed and the member restarted",
  size: 3,
  tmpfs: { member: "m2", sizeMb: DISK_MB },
  faults: [
    steps.custom("fill the disk member's data dir", async (ctx) => {
      ctx.marks.set("fault", ctx.now());
      ctx.facts.filledAt = Date.now();
      ctx.facts.filledBytes = fillDisk(ctx.cluster.member(ref(ctx, "disk")).dataDir);
    }),
    steps.custom("wait until the disk member fails or refuses a write", async (ctx) => {
      const name = ref(ctx, "disk");
      ctx.facts.diskOutcome = await diskOutcome(ctx.cluster, name);
      ctx.facts.diskLog = lastLines(
        ctx.cluster.logs(name),
        /no space|ENOSPC|fatal|panic|raft loop failed|stopping member/i,
        3,
      );
      ctx.marks.set("diskFailed", ctx.now());
    }),
    steps.wait([1_500, 2_500]),
    steps.custom("free the disk", async (ctx) => {
      ctx.marks.set("freed", ctx.now());
      freeDisk(ctx.cluster.member(ref(ctx, "disk")).dataDir);
    }),
    steps.restart("disk"),
    steps.waitForLeader(),
  ],
  // Exiting is what etcd does when it cannot write (fatal "no space left on device").
  mayExit: (name, at, ctx) => name === ctx.refs.get("disk") && at >= Number(ctx.facts.filledAt ?? Infinity),
  expect(run) {
    const problems: string[] = [];
    const outcome = String(run.ctx.facts.diskOutcome ?? "");
    if (!/^(exited|refused)/.test(outcome))
      problems.push(`the member with a full disk neither failed nor refused writes: ${outcome}`);
    if (writesBetween(run, "diskFailed", "freed") === 0)
      problems.push("the other two members acknowledged no write while the third's disk was full");
    return problems;
  },
};

const fiveKill: ScenarioSpec = {
  name: "5 members: a follower then the leader kill -9'd (3 of 5 left), then both restarted",
  size: 5,
  faults: [
    steps.follower("follower"),
    steps.signal("follower", "SIGKILL"),
    steps.wait([1_000, 2_000]),
    steps.leader("victim"),
    steps.signal("victim", "SIGKILL", "fault"),
    steps.waitForLeader({ exclude: ["victim", "follower"] }),
    steps.wait([1_500, 3_000]),
    steps.restart("follower"),
    steps.restart("victim"),
  ],
  measure: (run) => firstWrite(run, "fault", "kill -9 of the leader (second member down)"),
};

export const SCENARIOS: ScenarioSpec[] = [
  leaderKill,
  followerKill,
  leaderPause,
  leaderPartition(3),
  oneWay,
  restartAll,
  diskFull,
  fiveKill,
  leaderPartition(5),
];

/**
 * Testing the tests: the leader partition with reads served from each member's own state but recorded as
 * linearizable. The isolated member answers reads with values the majority has since overwritten, so the run
 * must fail its checks — if it passes, the workload or the checks are blind.
 */
export const STALE_READS_SELF_CHECK: ScenarioSpec = {
  ...leaderPartition(3),
  name: "self-check: serializable (possibly stale) reads recorded as linearizable fail the checks",
  workload: { staleReads: true },
};

/** What the full-disk member did: exited, refused a write through it, or kept serving until the deadline. */
async function diskOutcome(cluster: import("../cluster_process.js").Cluster, name: string): Promise<string> {
  const member = cluster.member(name);
  const c = new Client({
    endpoints: [member.endpoint],
    dialTimeoutMs: 1_000,
    callTimeoutMs: DISK_PROBE_TIMEOUT_MS,
  });
  const until = Date.now() + DISK_FAIL_DEADLINE_MS;
  const t0 = Date.now();
  try {
    for (let i = 0; Date.now() < until; i++) {
      if (isStopped(member)) return `exited after ${Date.now() - t0} ms`;
      try {
        // Outside the KV prefix: for the checks it is one of the "other" writes, like the lock's.
        await c.kv.put(`faults/probe/${i}`, "x");
      } catch (err) {
        await new Promise((r) => setTimeout(r, 200));
        if (isStopped(member)) return `exited after ${Date.now() - t0} ms`;
        return `refused a write after ${Date.now() - t0} ms: ${err instanceof Error ? err.message : String(err)}`;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    return `kept serving writes for ${DISK_FAIL_DEADLINE_MS} ms`;
  } finally {
    await c.close();
  }
}

/** Reads the state afresh (TypeScript would narrow it from an earlier check). */
const isStopped = (m: { readonly state: string }): boolean => m.state === "stopped";

/** The last `n` lines of `log` matching `re`. */
function lastLines(log: string, re: RegExp, n: number): string[] {
  return log
    .split("\n")
    .filter((l) => re.test(l))
    .slice(-n)
    .map((l) => l.slice(0, 300));
}
