// Owns running one fault scenario end to end: start a cluster, start the workload, let it warm up, kill the
// lease holders meant to die, run the fault schedule, let the workload go on, stop it, bring every member back,
// gather the final evidence (lease keys, final reads, a sentinel write every watcher must reach, each member's
// copy), check it, and on failure keep the history, the cluster's report and its logs.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../client/index.js";
import { type Cluster, type ClusterBinary, startCluster } from "../cluster_process.js";
import { type EtcdOperation, PENDING, RecordingKv, seededRandom } from "../linearizability/index.js";
import { type CheckReport, checkRun, type FinalRead, type ReplicaState, type RunEvidence } from "./checks.js";
import { mountTmpfs, unmount } from "./disk.js";
import {
  FAULT_DEADLINE_MS,
  type FaultContext,
  type FaultStep,
  runSchedule,
  type TimelineEntry,
} from "./schedule.js";
import {
  DEFAULT_WORKLOAD,
  KV_PREFIX,
  LOCK_COUNTER,
  PREFIX,
  SENTINEL_KEY,
  Workload,
  type WorkloadOptions,
} from "./workload.js";

export interface ScenarioSpec {
  /** Short, unique: also the test's name. */
  name: string;
  size: 3 | 5;
  /** Peer proxies (needed for partitions). */
  proxies?: boolean;
  snapshotCount?: number;
  /** Mount a tmpfs of `sizeMb` MiB as `member`'s data dir (the full-disk scenario). */
  tmpfs?: { member: string; sizeMb: number };
  /** Workload before the first fault (default 2 s) and after the last (default 2 s). */
  warmupMs?: number;
  cooldownMs?: number;
  workload?: Partial<Omit<WorkloadOptions, "seed">>;
  faults: FaultStep[];
  /** The scenario's own expectations on the finished run; returns problems. */
  expect?(run: ScenarioRun): string[];
  /** Measurements to print. */
  measure?(run: ScenarioRun): string[];
  /** Whether member `name` may exit on its own at `at` (ms since the epoch), e.g. when its disk is full. */
  mayExit?(name: string, at: number, ctx: FaultContext): boolean;
}

export interface ScenarioRun {
  ctx: FaultContext;
  operations: EtcdOperation[];
  timeline: TimelineEntry[];
  /** The history's clock when the workload had started (ns): what came before is setup. */
  workloadStarted: number;
}

export interface ScenarioResult {
  problems: string[];
  /** What to print: the workload, the timeline, the checks, the measurements. */
  summary: string[];
  /** Where the history, the report and the logs were kept (failures, or every run with FAULT_KEEP=1). */
  failureDir?: string;
  durationMs: number;
}

/** How long the end of a run may wait for recovery, expiry, watchers and replicas, each. */
const FINAL_DEADLINE_MS = 30_000;
/** After the last fault, the cluster must acknowledge a write within this. */
const RECOVERY_DEADLINE_MS = 20_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const msg = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Polls `probe` until it returns a value other than undefined; undefined after the deadline. */
async function poll<T>(probe: () => Promise<T | undefined>, deadlineMs: number): Promise<T | undefined> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined || Date.now() > until) return v;
    await sleep(100);
  }
}

/** Whether `op` is a write the cluster answered (it went through consensus). */
export function completedWrite(o: EtcdOperation): boolean {
  return o.return !== PENDING && o.output !== undefined && o.input.op !== "get";
}

/**
 * Milliseconds from mark `name` to the first acknowledgement of a write issued after it: how long clients
 * could not write (it includes the time a client spends on a member that cannot answer before moving on).
 */
export function timeToFirstWrite(run: ScenarioRun, name: string): number | undefined {
  const at = run.ctx.marks.get(name);
  if (at === undefined) return undefined;
  const returns = run.operations.filter((o) => completedWrite(o) && o.call >= at).map((o) => o.return);
  return returns.length > 0 ? (Math.min(...returns) - at) / 1e6 : undefined;
}

export async function runScenario(
  spec: ScenarioSpec,
  opts: {
    binary: ClusterBinary;
    seed: number;
    /** Keep the history, report and logs of a failure (default true). */
    keepFailure?: boolean;
  },
): Promise<ScenarioResult> {
  const started = Date.now();
  const title = `${spec.name} [${opts.binary}, seed ${opts.seed}]`;
  const problems: string[] = [];
  const summary: string[] = [];
  const mounts: { member: string; dir: string }[] = [];
  let cluster: Cluster | undefined;
  let workload: Workload | undefined;
  let ctx: FaultContext | undefined;
  let timeline: TimelineEntry[] = [];
  let report: CheckReport | undefined;
  let evidence: RunEvidence | undefined;
  let failureDir: string | undefined;
  // FAULT_SNAPSHOT_COUNT overrides every scenario's --snapshot-count (snapshots and WAL release under faults).
  const snapshotCount = process.env.FAULT_SNAPSHOT_COUNT
    ? Number(process.env.FAULT_SNAPSHOT_COUNT)
    : spec.snapshotCount;
  try {
    cluster = await startCluster({
      size: spec.size,
      binary: opts.binary,
      proxies: spec.proxies ?? false,
      // A build of etcd-ts elsewhere (e.g. instrumented); default: this repo's dist/cmd/etcd-ts.js.
      ...(process.env.ETCD_TS_ENTRY ? { etcdTsEntry: process.env.ETCD_TS_ENTRY } : {}),
      ...(snapshotCount !== undefined ? { snapshotCount } : {}),
      ...(spec.tmpfs
        ? {
            prepareDataDir: (name: string, dir: string) => {
              if (name !== spec.tmpfs!.member) return;
              mountTmpfs(dir, spec.tmpfs!.sizeMb);
              mounts.push({ member: name, dir });
            },
          }
        : {}),
    });
    await cluster.waitForLeader(FAULT_DEADLINE_MS);
    workload = new Workload(
      cluster.endpoints(),
      { ...DEFAULT_WORKLOAD, ...spec.workload, seed: opts.seed },
      title,
    );
    await workload.start();
    const w = workload;
    const workloadStarted = w.now();
    ctx = {
      cluster,
      rand: seededRandom(opts.seed * 31 + 7),
      now: () => w.now(),
      refs: new Map(mounts.map((m) => ["disk", m.member])),
      marks: new Map(),
      facts: {},
    };
    await sleep(spec.warmupMs ?? 2_000);
    await w.killLeaseHolders();
    ctx.marks.set("faults", w.now());
    try {
      timeline = await runSchedule(ctx, spec.faults);
    } catch (err) {
      timeline = (err as { timeline?: TimelineEntry[] }).timeline ?? [];
      problems.push(`fault schedule failed: ${msg(err)}`);
    }
    ctx.marks.set("faultsEnd", w.now());
    await sleep(spec.cooldownMs ?? 2_000);
    const end = ctx.marks.get("faultsEnd")!;
    const recovered = await poll(
      async () =>
        w.recorder.operations().some((o) => completedWrite(o) && o.call >= end) ? true : undefined,
      RECOVERY_DEADLINE_MS,
    );
    if (!recovered)
      problems.push(`no write was acknowledged within ${RECOVERY_DEADLINE_MS} ms after the last fault`);
    await w.stopTraffic();
    await restoreCluster(cluster, problems);
    evidence = await gatherEvidence(cluster, w);
    report = checkRun(evidence);
    problems.push(...report.problems);
    const run: ScenarioRun = { ctx, operations: evidence.operations, timeline, workloadStarted };
    problems.push(...(spec.expect?.(run) ?? []));

    const locks = w.lockContenders.map((c) => c.stats);
    summary.push(
      `${title}: ${w.stats.ok} KV calls ok, ${w.stats.failed} failed; ${locks.reduce((a, s) => a + s.acquisitions, 0)} ` +
        `lock acquisitions; watchers resumed ${[...w.prefixWatchers, ...w.storeWatchers].reduce((a, x) => a + x.errors.length, 0)} times`,
      `timeline (ms on the history's clock; workload started at ${Math.round(workloadStarted / 1e6)}): ${timeline.map((t) => `[${t.startMs}-${t.endMs}] ${t.step}${t.error ? ` FAILED: ${t.error}` : ""}`).join("; ")}`,
      ...(Object.keys(ctx.facts).length > 0 ? [`facts: ${JSON.stringify(ctx.facts)}`] : []),
      ...report.summary,
      ...(spec.measure?.(run) ?? []),
    );
  } catch (err) {
    problems.push(`run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await workload?.close().catch((err) => problems.push(`closing the workload: ${msg(err)}`));
    if (cluster) problems.push(...unrequestedExits(cluster, spec, ctx));
    const keep = (problems.length > 0 && opts.keepFailure !== false) || process.env.FAULT_KEEP === "1";
    if (keep) {
      failureDir = keepRun(title, problems, summary, {
        cluster,
        workload,
        ctx,
        timeline,
        report,
        evidence,
      });
    }
    for (const m of mounts) {
      if (cluster && cluster.member(m.member).state !== "stopped")
        await cluster.kill(m.member, "SIGKILL").catch(() => {});
      unmount(m.dir);
    }
    await cluster?.stop({ keep });
  }
  const durationMs = Date.now() - started;
  summary.push(
    `${title}: ${problems.length === 0 ? "passed" : `${problems.length} problem(s)`} in ${(durationMs / 1000).toFixed(1)} s`,
  );
  return failureDir ? { problems, summary, failureDir, durationMs } : { problems, summary, durationMs };
}

/** Heals the network, resumes paused members and restarts stopped ones (together: each needs a quorum to serve). */
async function restoreCluster(cluster: Cluster, problems: string[]): Promise<void> {
  cluster.network?.heal();
  await Promise.all(
    cluster.members.map(async (m) => {
      try {
        if (m.state === "paused") await cluster.kill(m.name, "SIGCONT");
        if (m.state === "stopped") {
          problems.push(`${m.name} was still stopped after the schedule (restarted for the final checks)`);
          await cluster.restart(m.name, { timeoutMs: FAULT_DEADLINE_MS });
        }
      } catch (err) {
        problems.push(`${m.name} could not be brought back: ${msg(err).split("\n")[0]}`);
      }
    }),
  );
  await cluster.waitForLeader(FAULT_DEADLINE_MS);
}

/** Members that exited without the schedule asking (a crash, or a kill from outside the test), as problems. */
function unrequestedExits(cluster: Cluster, spec: ScenarioSpec, ctx: FaultContext | undefined): string[] {
  const out: string[] = [];
  for (const m of cluster.members) {
    for (const e of m.exits) {
      if (e.requested || (ctx && spec.mayExit?.(m.name, e.at, ctx))) continue;
      out.push(
        `${m.name} exited without being asked to at ${new Date(e.at).toISOString()} (${e.signal ?? `exit code ${e.code}`}): ` +
          `a crash if its log says so (${m.logFile}), else something outside the test killed it`,
      );
    }
  }
  return out;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString();

/** Final reads, the sentinel, watchers caught up, each member's copy, and everything the workload recorded. */
async function gatherEvidence(cluster: Cluster, w: Workload): Promise<RunEvidence> {
  const c = await w.client(0, 5_000);
  const readKey = async (key: string): Promise<FinalRead | { error: string }> => {
    let last: unknown;
    for (let i = 0; i < 5; i++) {
      try {
        const r = await c.kv.get(key);
        const kv = r.kvs[0];
        return kv
          ? { value: text(kv.value), modRevision: kv.modRevision, lease: kv.lease }
          : { value: null, modRevision: 0n };
      } catch (err) {
        last = err;
        await sleep(200);
      }
    }
    return { error: msg(last) };
  };

  // Keys of killed holders (or whose keepalive gave up) must expire; wait before the sentinel, so the deletes are
  // in the history the watchers are checked up to.
  for (const h of w.leaseHolders.filter((x) => x.gone)) {
    await poll(async () => ((await c.kv.get(h.key)).kvs.length === 0 ? true : undefined), FINAL_DEADLINE_MS);
  }
  const leaseKeys = new Map<string, FinalRead | { error: string }>();
  for (const h of w.leaseHolders) leaseKeys.set(h.key, await readKey(h.key));

  // The final reads are recorded: they are part of the checked history.
  const kv = new RecordingKv(c, w.recorder, "final");
  const finalReads = new Map<string, FinalRead | { error: string }>();
  for (const key of [...w.keysUsed].sort()) {
    let result: FinalRead | { error: string } = { error: "not read" };
    for (let i = 0; i < 5; i++) {
      try {
        const out = await kv.get(key);
        if (out.op === "get") result = { value: out.value, modRevision: out.modRevision };
        break;
      } catch (err) {
        result = { error: msg(err) };
        await sleep(200);
      }
    }
    finalReads.set(key, result);
  }
  let untilRevision = 0n;
  for (let i = 0; untilRevision === 0n; i++) {
    try {
      const out = await kv.put(SENTINEL_KEY, `end-${i}`);
      if (out.op === "put") untilRevision = out.revision;
    } catch (err) {
      if (i >= 5) throw new Error(`the sentinel write failed: ${msg(err)}`);
      await sleep(200);
    }
  }
  const counterRead = await readKey(LOCK_COUNTER);
  const final =
    "error" in counterRead ? counterRead : counterRead.value === null ? 0 : Number(counterRead.value);

  const watchers = [...w.prefixWatchers, ...w.storeWatchers];
  // Bounded: a watcher that never gets there fails the watch check with what it missed.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(watchers.map((x) => x.reached(untilRevision))),
    new Promise((r) => {
      timer = setTimeout(r, FINAL_DEADLINE_MS);
    }),
  ]);
  clearTimeout(timer);
  const replicas = await Promise.all(
    cluster.members.map((m) => replicaState(m.name, m.endpoint, untilRevision)),
  );

  const inc = w.lockContenders.map((x) => x.increments());
  return {
    operations: w.recorder.operations(),
    kvPrefix: KV_PREFIX,
    untilRevision,
    prefixWatchers: w.prefixWatchers.map((x) => x.record(untilRevision)),
    storeWatchers: w.storeWatchers.map((x) => x.record(untilRevision)),
    finalReads,
    replicas,
    tenures: w.lockContenders.flatMap((x) => x.tenures),
    counter: {
      acknowledged: inc.reduce((a, x) => a + x.acknowledged, 0),
      unknown: inc.reduce((a, x) => a + x.unknown, 0),
      final,
    },
    leaseHolders: w.leaseHolders.map((h) => h.state()),
    leaseKeys,
  };
}

/** One member's keys under PREFIX at `revision`, read from that member alone (serializable), once it has it. */
async function replicaState(member: string, endpoint: string, revision: bigint): Promise<ReplicaState> {
  const c = new Client({ endpoints: [endpoint], dialTimeoutMs: 2_000, callTimeoutMs: 2_000 });
  let last: unknown;
  try {
    const kvs = await poll(async () => {
      try {
        const r = await c.kv.get(PREFIX, { prefix: true, revision, serializable: true });
        return JSON.stringify(
          r.kvs.map((kv) => [
            text(kv.key),
            text(kv.value),
            kv.createRevision,
            kv.modRevision,
            kv.version,
            kv.lease,
          ]),
          (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
        );
      } catch (err) {
        last = err;
        return undefined;
      }
    }, FINAL_DEADLINE_MS);
    return kvs !== undefined ? { member, kvs } : { member, error: msg(last) };
  } finally {
    await c.close();
  }
}

/** Writes the history (with everything else observed) and the cluster's report; returns the directory. */
function keepRun(
  title: string,
  problems: string[],
  summary: string[],
  run: {
    cluster: Cluster | undefined;
    workload: Workload | undefined;
    ctx: FaultContext | undefined;
    timeline: TimelineEntry[];
    report: CheckReport | undefined;
    evidence: RunEvidence | undefined;
  },
): string {
  const dir = mkdtempSync(
    join(tmpdir(), `etcd-ts-faults-${title.replace(/[^A-Za-z0-9]+/g, "-").slice(0, 60)}-`),
  );
  const lines = [
    `# ${title}: ${problems.length > 0 ? "FAILED" : "passed (FAULT_KEEP=1)"}`,
    `# kept in ${dir}`,
  ];
  try {
    const e = run.evidence;
    const notes: Record<string, unknown> = {
      // Member logs have wall-clock times: this is the history clock's 0 on that clock.
      historyClockZero: run.workload
        ? new Date(Date.now() - run.workload.now() / 1e6).toISOString()
        : undefined,
      problems,
      summary,
      timeline: run.timeline,
      marks: Object.fromEntries(run.ctx?.marks ?? []),
      refs: Object.fromEntries(run.ctx?.refs ?? []),
      facts: run.ctx?.facts,
    };
    if (e) {
      Object.assign(notes, {
        untilRevision: e.untilRevision,
        watchers: [...e.prefixWatchers, ...e.storeWatchers],
        finalReads: Object.fromEntries(e.finalReads),
        replicas: e.replicas,
        tenures: e.tenures,
        counter: e.counter,
        leaseHolders: e.leaseHolders,
        leaseKeys: Object.fromEntries(e.leaseKeys),
      });
    }
    if (run.workload) {
      notes.watcherErrors = Object.fromEntries(
        [...run.workload.prefixWatchers, ...run.workload.storeWatchers].map((x) => [x.id, x.errors]),
      );
      lines.push(`# history: ${run.workload.recorder.writeFile(dir, notes)}`);
    }
    if (run.report?.storeHistory) {
      writeFileSync(
        join(dir, "store-history.json"),
        JSON.stringify(
          run.report.storeHistory,
          (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
          1,
        ),
      );
      lines.push(`# whole-store history as checked (renumbered): ${join(dir, "store-history.json")}`);
    }
    if (run.cluster) {
      writeFileSync(join(dir, "cluster-report.txt"), run.cluster.report(20_000));
      lines.push(
        `# cluster report: ${join(dir, "cluster-report.txt")}`,
        `# member logs: ${run.cluster.rootDir}/m*.log`,
      );
    }
  } catch (err) {
    lines.push(`# could not write everything: ${msg(err)}`);
  }
  writeFileSync(join(dir, "problems.txt"), `${problems.join("\n\n")}\n`);
  console.error(lines.join("\n"));
  return dir;
}
