// Owns the fault schedule: a scenario's faults as a list of named steps run one after another while the
// workload runs (pick the leader, kill it, wait, restart it, partition, heal, …), with a timeline of when each
// step ran and named instants on the history's clock for measurements.
import type { Cluster, MemberSignal } from "../cluster_process.js";

/** Deadline for a leader to emerge or a member to restart; generous for a loaded 2-core machine. */
export const FAULT_DEADLINE_MS = 30_000;

export interface FaultContext {
  readonly cluster: Cluster;
  /** Seeded: scenarios draw their timings from it, so FAULT_ROUNDS varies them. */
  readonly rand: () => number;
  /** The history's clock (ns). */
  now(): number;
  /** Member names remembered by role ("victim", "oldLeader"). */
  readonly refs: Map<string, string>;
  /** Named instants on the history's clock (ns): `mark("kill")`. */
  readonly marks: Map<string, number>;
  /** Scenario-specific results (what a disk-full member did, …), printed and checked by the scenario. */
  readonly facts: Record<string, unknown>;
}

export interface FaultStep {
  describe: string;
  run(ctx: FaultContext): Promise<void>;
}

export interface TimelineEntry {
  step: string;
  /** ms on the history's clock (since the recorder was made). */
  startMs: number;
  endMs: number;
  error?: string;
}

/** A member name remembered under `ref`. */
export function ref(ctx: FaultContext, name: string): string {
  const m = ctx.refs.get(name);
  if (m === undefined) throw new Error(`no member remembered as ${JSON.stringify(name)}`);
  return m;
}

/** Runs the steps in order; a failing step ends the schedule (its error is in the timeline and rethrown). */
export async function runSchedule(ctx: FaultContext, steps: FaultStep[]): Promise<TimelineEntry[]> {
  const ms = (): number => Math.round(ctx.now() / 1e6);
  const timeline: TimelineEntry[] = [];
  for (const s of steps) {
    const e: TimelineEntry = { step: s.describe, startMs: ms(), endMs: 0 };
    timeline.push(e);
    try {
      await s.run(ctx);
      e.endMs = ms();
    } catch (err) {
      e.endMs = ms();
      e.error = err instanceof Error ? err.message.split("\n")[0]! : String(err);
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), { timeline });
    }
  }
  return timeline;
}

const network = (ctx: FaultContext) => {
  const n = ctx.cluster.network;
  if (!n) throw new Error("this step needs a cluster started with proxies: true");
  return n;
};

/** Step builders. Member arguments are refs (names remembered by `leader`/`follower`). */
export const steps = {
  /** Waits `ms`, or a random time in [lo, hi]. */
  wait(ms: number | [number, number]): FaultStep {
    return {
      describe: `wait ${Array.isArray(ms) ? `${ms[0]}-${ms[1]}` : ms} ms`,
      run: (ctx) => {
        const t = Array.isArray(ms) ? ms[0] + ctx.rand() * (ms[1] - ms[0]) : ms;
        return new Promise((r) => setTimeout(r, t));
      },
    };
  },

  /** Remembers the current leader (as a quorum sees it) as `as`. */
  leader(as: string, opts: { exclude?: string[] } = {}): FaultStep {
    return {
      describe: `remember the leader as ${as}`,
      run: async (ctx) => {
        const exclude = (opts.exclude ?? []).map((r) => ref(ctx, r));
        ctx.refs.set(as, (await ctx.cluster.waitForLeader(FAULT_DEADLINE_MS, { exclude })).name);
      },
    };
  },

  /** Remembers a running member that is not the leader (nor one of `exclude`) as `as`. */
  follower(as: string, opts: { exclude?: string[] } = {}): FaultStep {
    return {
      describe: `remember a follower as ${as}`,
      run: async (ctx) => {
        const leader = (await ctx.cluster.waitForLeader(FAULT_DEADLINE_MS)).name;
        const exclude = new Set([leader, ...(opts.exclude ?? []).map((r) => ref(ctx, r))]);
        const candidates = ctx.cluster.members.filter((m) => m.state === "running" && !exclude.has(m.name));
        if (candidates.length === 0) throw new Error("no follower to pick");
        ctx.refs.set(as, candidates[Math.floor(ctx.rand() * candidates.length)]!.name);
      },
    };
  },

  /** Sends a signal to a member (SIGKILL/SIGTERM wait for it to exit); marks `<signal>:<ref>` and `mark`. */
  signal(who: string, signal: MemberSignal, mark?: string): FaultStep {
    return {
      describe: `${signal} ${who}`,
      run: async (ctx) => {
        const name = ref(ctx, who);
        ctx.marks.set(`${signal}:${who}`, ctx.now());
        if (mark) ctx.marks.set(mark, ctx.now());
        await ctx.cluster.kill(name, signal);
      },
    };
  },

  /** Starts a stopped member again (same data dir) and waits until it serves clients. */
  restart(who: string): FaultStep {
    return {
      describe: `restart ${who}`,
      run: async (ctx) => {
        await ctx.cluster.restart(ref(ctx, who), { timeoutMs: FAULT_DEADLINE_MS });
        ctx.marks.set(`restarted:${who}`, ctx.now());
      },
    };
  },

  /** SIGKILLs every member at once. */
  killAll(mark?: string): FaultStep {
    return {
      describe: "SIGKILL every member",
      run: async (ctx) => {
        if (mark) ctx.marks.set(mark, ctx.now());
        await Promise.all(ctx.cluster.members.map((m) => ctx.cluster.kill(m.name, "SIGKILL")));
      },
    };
  },

  /** Starts every stopped member at once (a restarted member serves clients only once a quorum is back). */
  restartAll(): FaultStep {
    return {
      describe: "start every member",
      run: async (ctx) => {
        const stopped = ctx.cluster.members.filter((m) => m.state === "stopped");
        await Promise.all(stopped.map((m) => ctx.cluster.restart(m.name, { timeoutMs: FAULT_DEADLINE_MS })));
      },
    };
  },

  /** Cuts a member off from every peer, both ways. */
  isolate(who: string, mark?: string): FaultStep {
    return {
      describe: `isolate ${who}`,
      run: async (ctx) => {
        if (mark) ctx.marks.set(mark, ctx.now());
        network(ctx).isolate(ref(ctx, who));
      },
    };
  },

  /** Loses every message from `who` to its peers; messages to it still arrive. */
  blackholeFrom(who: string, mark?: string): FaultStep {
    return {
      describe: `blackhole ${who} → every peer`,
      run: async (ctx) => {
        if (mark) ctx.marks.set(mark, ctx.now());
        const from = ref(ctx, who);
        for (const m of ctx.cluster.members) if (m.name !== from) network(ctx).blackhole(from, m.name);
      },
    };
  },

  heal(): FaultStep {
    return {
      describe: "heal the network",
      run: async (ctx) => {
        network(ctx).heal();
        ctx.marks.set("healed", ctx.now());
      },
    };
  },

  /** Waits for a leader a quorum agrees on, other than the `exclude` refs. */
  waitForLeader(opts: { exclude?: string[] } = {}): FaultStep {
    return {
      describe: `wait for a leader${opts.exclude ? ` other than ${opts.exclude.join(", ")}` : ""}`,
      run: async (ctx) => {
        const exclude = (opts.exclude ?? []).map((r) => ref(ctx, r));
        await ctx.cluster.waitForLeader(FAULT_DEADLINE_MS, { exclude });
        // The first leader that replaced an excluded one: when the cluster was writable again, as seen by polling.
        if (exclude.length > 0 && !ctx.marks.has("newLeader")) ctx.marks.set("newLeader", ctx.now());
      },
    };
  },

  /** Anything else, e.g. the disk steps. */
  custom(describe: string, run: (ctx: FaultContext) => Promise<void>): FaultStep {
    return { describe, run };
  },
};
