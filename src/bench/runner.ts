// Owns running one benchmark against each target in turn: a fresh server (or cluster) each, the load, and the
// context figures recorded with every result (load average before, client and server CPU, server RSS at the end).
import { loadavg } from "node:os";
import {
  cpuSeconds,
  type LaunchOptions,
  rssMiB,
  startClusterTarget,
  startTarget,
  type Target,
  type TargetSpec,
} from "./targets.js";
import { type AnyBenchSpec, isClusterBench, type Metric, type OptionValue } from "./types.js";

export interface TargetResult {
  label: string;
  /** 1-based; servers alternate within a round (etcd-ts, etcd, etcd-ts, etcd, …). */
  round: number;
  /** 1, 5 and 15 minute load averages just before the load started. */
  loadBefore: number[];
  metrics: Metric[];
  error?: string;
  /** Why this target was not measured (e.g. etcd-ts cannot form a cluster yet); not a failure. */
  skipped?: string;
}

export async function runBench<O extends Record<string, OptionValue>>(
  spec: AnyBenchSpec<O>,
  opts: O,
  targets: TargetSpec[],
  launch: LaunchOptions,
  log: (msg: string) => void,
  rounds = 1,
): Promise<TargetResult[]> {
  const results: TargetResult[] = [];
  /** A target that could not start is not retried in later rounds. */
  const skipped = new Map<string, string>();
  for (let round = 1; round <= rounds; round++) {
    for (const t of targets) {
      const why = skipped.get(t.label);
      const r = why
        ? {
            label: t.label,
            round,
            loadBefore: loadavg(),
            metrics: [],
            skipped: `as in an earlier round: ${why}`,
          }
        : await runOnce(spec, opts, t, launch, log, round);
      if (r.skipped && !why) skipped.set(t.label, r.skipped);
      results.push(r);
    }
  }
  return results;
}

async function runOnce<O extends Record<string, OptionValue>>(
  spec: AnyBenchSpec<O>,
  opts: O,
  t: TargetSpec,
  launch: LaunchOptions,
  log: (msg: string) => void,
  round: number,
): Promise<TargetResult> {
  log(
    `${spec.name}: round ${round}: starting ${t.label}${isClusterBench(spec) ? ` (${spec.members} members)` : ""}`,
  );
  let target: Target;
  try {
    target = isClusterBench(spec)
      ? await startClusterTarget(t, spec.members, launch)
      : await startTarget(t, launch);
  } catch (err) {
    // etcd-ts's members may not form a cluster yet: say so and go on with the other servers.
    if (!isClusterBench(spec) || t.kind !== "etcd-ts") throw err;
    const why = `etcd-ts could not form a ${spec.members}-member cluster: ${firstLine(err)}`;
    log(`${spec.name}: SKIPPING ${t.label}: ${why}`);
    return { label: t.label, round, loadBefore: loadavg(), metrics: [], skipped: why };
  }
  if (isClusterBench(spec) && spec.warmCluster) {
    try {
      await spec.warmCluster(target.cluster!, opts, log);
    } catch (err) {
      log(`${spec.name}: warm-up against ${t.label} failed: ${firstLine(err)}`);
    }
  }
  const pids = serverPids(target);
  const loadBefore = loadavg();
  const client0 = process.cpuUsage();
  const server0 = pids.map(cpuSeconds);
  const wall0 = performance.now();
  log(`${spec.name}: running against ${t.label} at ${target.endpoint} (load ${fmtLoad(loadBefore)})`);
  let metrics: Metric[] = [];
  let error: string | undefined;
  try {
    metrics = isClusterBench(spec)
      ? await spec.runCluster(target.cluster!, opts, log)
      : await spec.run(target.endpoint, opts, log);
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    log(`${spec.name}: ${t.label} failed: ${error}`);
  }
  const wall = (performance.now() - wall0) / 1000;
  const client = process.cpuUsage(client0);
  // Members restarted or killed during the run (their pid changed) are left out of the server figures.
  const same = serverPids(target).filter((pid) => pids.includes(pid));
  const server = same.map((pid) => {
    const before = server0[pids.indexOf(pid)];
    const after = cpuSeconds(pid);
    return before !== undefined && after !== undefined ? after - before : undefined;
  });
  const rss = same.map(rssMiB);
  const sum = (xs: (number | undefined)[]): number | undefined =>
    xs.length > 0 && xs.every((x) => x !== undefined) ? xs.reduce((a: number, x) => a + x!, 0) : undefined;
  const members = target.cluster ? ` (sum over ${same.length} members)` : "";
  metrics.push(
    { name: "wall time (whole run)", value: wall, unit: "s" },
    {
      name: "load generator CPU",
      value: ((client.user + client.system) / 1e6 / wall) * 100,
      unit: "% of 1 core",
    },
  );
  const serverCpu = sum(server);
  if (serverCpu !== undefined)
    metrics.push({ name: `server CPU${members}`, value: (serverCpu / wall) * 100, unit: "% of 1 core" });
  const serverRss = sum(rss);
  if (serverRss !== undefined)
    metrics.push({ name: `server RSS at end${members}`, value: serverRss, unit: "MiB" });
  await target.stop();
  return { label: t.label, round, loadBefore, metrics, ...(error ? { error } : {}) };
}

function serverPids(t: Target): number[] {
  if (t.cluster) return t.cluster.members.flatMap((m) => (m.pid !== undefined ? [m.pid] : []));
  return t.pid !== undefined ? [t.pid] : [];
}

const firstLine = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).split("\n")[0]!;

export const fmtLoad = (l: number[]): string => l.map((x) => x.toFixed(2)).join(" ");
