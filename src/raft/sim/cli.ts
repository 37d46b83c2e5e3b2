// Owns the `npm run sim` command line: run many seeds (in parallel with --jobs), or replay one seed with its trace.
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { replayHint, runOne, type SeedResult } from "./run.js";
import type { Chunk } from "./worker.js";
import type { Stats } from "./world.js";

/** Seeds a worker runs per request: small enough to balance, large enough to amortize messaging. */
const CHUNK = 25;
/** Failures reported as they happen; the summary groups all of them. */
const MAX_FAIL_LINES = 50;
/** Failure classes whose example seed is replayed into a trace file. */
const MAX_TRACE_FILES = 5;
const TRACE_DIR = ".sim-traces";

const USAGE = `usage: npm run sim -- [--seeds N] [--start S] [--jobs J]   run seeds S..S+N-1 (N defaults to SIM_SEEDS or 200)
       SIM_SEED=s npm run sim                            replay seed s, printing its trace
       npm run sim -- --seed s [--trace]                 replay seed s (trace with --trace)`;

interface Args {
  seeds: number;
  start: number;
  jobs: number;
  trace: boolean;
  seed: number | undefined;
}

function parseArgs(argv: string[]): Args {
  const env = process.env;
  const args: Args = {
    seeds: Number(env.SIM_SEEDS ?? 200),
    start: 1,
    jobs: availableParallelism(),
    trace: false,
    seed: env.SIM_SEED !== undefined && env.SIM_SEED !== "" ? Number(env.SIM_SEED) : undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === "--seeds") args.seeds = val();
    else if (a === "--start") args.start = val();
    else if (a === "--jobs") args.jobs = Math.max(1, val());
    else if (a === "--seed") args.seed = val();
    else if (a === "--trace") args.trace = true;
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return args;
}

/** Replay one seed, printing every step if `trace`. */
function replay(seed: number, trace: boolean): number {
  const buf: string[] = [];
  const flush = (): void => {
    if (buf.length > 0) process.stdout.write(`${buf.join("\n")}\n`);
    buf.length = 0;
  };
  const print = (line: string): void => {
    buf.push(line);
    if (buf.length >= 2000) flush();
  };
  const r = runOne(seed, trace ? { trace: print } : {});
  flush();
  if (r.ok) {
    console.log(`seed ${seed}: ok in ${r.ms.toFixed(1)} ms`);
    console.log(fmtStats(r.stats!));
    return 0;
  }
  console.log(`seed ${seed}: FAILED (${r.kind})\n${r.error}`);
  return 1;
}

async function runMany(args: Args): Promise<SeedResult[]> {
  const { start, seeds } = args;
  const jobs = Math.min(args.jobs, Math.ceil(seeds / CHUNK));
  const results: SeedResult[] = [];
  let shownFailures = 0;
  const t0 = performance.now();
  let lastPrint = t0;
  const progress = (force: boolean): void => {
    const now = performance.now();
    if (!force && now - lastPrint < 2000) return;
    lastPrint = now;
    const failed = results.filter((r) => !r.ok).length;
    const avg = results.reduce((s, r) => s + r.ms, 0) / Math.max(1, results.length);
    process.stdout.write(
      `sim: ${results.length}/${seeds} seeds, ${failed} failed, ${avg.toFixed(1)} ms/seed, ${((now - t0) / 1000).toFixed(1)} s\n`,
    );
  };
  const collect = (rs: SeedResult[]): void => {
    for (const r of rs) {
      results.push(r);
      if (!r.ok && ++shownFailures <= MAX_FAIL_LINES) {
        process.stdout.write(`FAIL seed ${r.seed} (${r.kind}): ${r.error?.split("\n")[0]}\n`);
      }
    }
    progress(false);
  };
  if (jobs <= 1) {
    for (let s = start; s < start + seeds; s++) collect([runOne(s)]);
    return results;
  }
  let next = start;
  const end = start + seeds;
  await Promise.all(
    Array.from({ length: jobs }, () => {
      const w = new Worker(new URL("./worker.js", import.meta.url));
      return new Promise<void>((resolve, reject) => {
        const feed = (): void => {
          if (next >= end) {
            void w.terminate().then(() => resolve());
            return;
          }
          const chunk: Chunk = { start: next, count: Math.min(CHUNK, end - next) };
          next += chunk.count;
          w.postMessage(chunk);
        };
        w.on("message", (rs: SeedResult[]) => {
          collect(rs);
          feed();
        });
        w.on("error", reject);
        feed();
      });
    }),
  );
  return results.sort((a, b) => a.seed - b.seed);
}

/** Replay a failing seed with its trace into .sim-traces/seed-<n>.log; returns the path. */
function writeTrace(seed: number): string {
  mkdirSync(TRACE_DIR, { recursive: true });
  const path = join(TRACE_DIR, `seed-${seed}.log`);
  const lines: string[] = [];
  const r = runOne(seed, { trace: (l) => lines.push(l) });
  lines.push(r.ok ? "(passed on replay?!)" : `FAILED (${r.kind}): ${r.error}`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

function fmtStats(s: Stats): string {
  return Object.entries(s)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

function summarize(results: SeedResult[], wallMs: number): number {
  const failed = results.filter((r) => !r.ok);
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const pct = (p: number): string => (ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? 0).toFixed(1);
  const total: Record<string, number> = {};
  for (const r of results) {
    for (const [k, v] of Object.entries(r.stats ?? {})) total[k] = (total[k] ?? 0) + v;
  }
  console.log(
    `\n=== ${results.length} seeds in ${(wallMs / 1000).toFixed(1)} s: ${failed.length} failed ===`,
  );
  console.log(
    `per seed: mean ${(ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length)).toFixed(1)} ms, p50 ${pct(0.5)}, p95 ${pct(0.95)}, max ${pct(1)}`,
  );
  console.log(
    `totals: ${Object.entries(total)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
  );
  // Group failures by their message with numbers blanked: one example (with replay hint) per class.
  const classes = new Map<string, SeedResult[]>();
  let traced = 0;
  for (const r of failed) {
    const key = `${r.kind}: ${(r.error ?? "").split("\n")[0]!.replace(/\d+/g, "#")}`;
    classes.set(key, [...(classes.get(key) ?? []), r]);
  }
  for (const [key, rs] of [...classes].sort((a, b) => b[1].length - a[1].length)) {
    const ex = rs[0]!;
    console.log(`\n${rs.length} × ${key}`);
    console.log(
      `  seeds: ${rs
        .map((r) => r.seed)
        .slice(0, 30)
        .join(" ")}${rs.length > 30 ? " ..." : ""}`,
    );
    console.log(`  e.g. seed ${ex.seed}: ${ex.error?.split("\n").join("\n    ")}`);
    console.log(`  replay: ${replayHint(ex.seed)}`);
    if (traced++ < MAX_TRACE_FILES) console.log(`  trace:  ${writeTrace(ex.seed)}`);
  }
  return failed.length === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  // SIM_SEED=s always traces; --seed s traces with --trace.
  if (args.seed !== undefined) return replay(args.seed, args.trace || process.env.SIM_SEED !== undefined);
  const t0 = performance.now();
  console.log(`sim: seeds ${args.start}..${args.start + args.seeds - 1}, ${args.jobs} jobs`);
  const results = await runMany(args);
  return summarize(results, performance.now() - t0);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  },
);
