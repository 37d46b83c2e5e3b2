// Owns running one benchmark against each target in turn: a fresh server each, the load, and the context figures
// recorded with every result (load average before, client and server CPU, server RSS at the end).
import { loadavg } from "node:os";
import { cpuSeconds, type LaunchOptions, rssMiB, startTarget, type TargetSpec } from "./targets.js";
import type { BenchSpec, Metric, OptionValue } from "./types.js";

export interface TargetResult {
  label: string;
  /** 1-based; servers alternate within a round (etcd-ts, etcd, etcd-ts, etcd, …). */
  round: number;
  /** 1, 5 and 15 minute load averages just before the load started. */
  loadBefore: number[];
  metrics: Metric[];
  error?: string;
}

export async function runBench<O extends Record<string, OptionValue>>(
  spec: BenchSpec<O>,
  opts: O,
  targets: TargetSpec[],
  launch: LaunchOptions,
  log: (msg: string) => void,
  rounds = 1,
): Promise<TargetResult[]> {
  const results: TargetResult[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const t of targets) results.push(await runOnce(spec, opts, t, launch, log, round));
  }
  return results;
}

async function runOnce<O extends Record<string, OptionValue>>(
  spec: BenchSpec<O>,
  opts: O,
  t: TargetSpec,
  launch: LaunchOptions,
  log: (msg: string) => void,
  round: number,
): Promise<TargetResult> {
  log(`${spec.name}: round ${round}: starting ${t.label}`);
  const target = await startTarget(t, launch);
  const loadBefore = loadavg();
  const client0 = process.cpuUsage();
  const server0 = cpuSeconds(target.pid);
  const wall0 = performance.now();
  log(`${spec.name}: running against ${t.label} at ${target.endpoint} (load ${fmtLoad(loadBefore)})`);
  let metrics: Metric[] = [];
  let error: string | undefined;
  try {
    metrics = await spec.run(target.endpoint, opts, log);
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    log(`${spec.name}: ${t.label} failed: ${error}`);
  }
  const wall = (performance.now() - wall0) / 1000;
  const client = process.cpuUsage(client0);
  const server1 = cpuSeconds(target.pid);
  const rss = rssMiB(target.pid);
  metrics.push(
    { name: "wall time (whole run)", value: wall, unit: "s" },
    {
      name: "load generator CPU",
      value: ((client.user + client.system) / 1e6 / wall) * 100,
      unit: "% of 1 core",
    },
  );
  if (server0 !== undefined && server1 !== undefined)
    metrics.push({ name: "server CPU", value: ((server1 - server0) / wall) * 100, unit: "% of 1 core" });
  if (rss !== undefined) metrics.push({ name: "server RSS at end", value: rss, unit: "MiB" });
  await target.stop();
  return { label: t.label, round, loadBefore, metrics, ...(error ? { error } : {}) };
}

export const fmtLoad = (l: number[]): string => l.map((x) => x.toFixed(2)).join(" ");
