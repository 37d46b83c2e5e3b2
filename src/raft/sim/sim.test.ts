// Specifies the whole-cluster simulation: SIM_SEEDS seeded runs (default 200) must all keep every invariant and converge.
import assert from "node:assert/strict";
import { test } from "node:test";
import { replayHint, runOne, type SeedResult } from "./run.js";
import { Simulation } from "./sim.js";
import type { Stats } from "./world.js";

const SEEDS = Number(process.env.SIM_SEEDS ?? 200);
const START = Number(process.env.SIM_START ?? 1);

function totals(results: SeedResult[]): Stats {
  const t: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.stats ?? {})) t[k] = (t[k] ?? 0) + v;
  return t as unknown as Stats;
}

test(`${SEEDS} seeded simulations keep every invariant and converge after healing`, () => {
  const results: SeedResult[] = [];
  for (let s = START; s < START + SEEDS; s++) results.push(runOne(s));
  const failed = results.filter((r) => !r.ok);
  const report = failed.map((r) => `seed ${r.seed} (${r.kind}): ${r.error}\n  replay: ${replayHint(r.seed)}`);
  assert.equal(failed.length, 0, report.join("\n\n"));
  // The runs must have exercised the faults, or passing proves little.
  const t = totals(results);
  if (SEEDS >= 100) {
    for (const k of [
      "crashes",
      "crashesUnsynced",
      "tornCrashes",
      "partitions",
      "dropped",
      "duplicated",
      "snapshotsSent",
      "confChanges",
      "transfers",
      "committed",
      "readsChecked",
    ] as const) {
      assert.ok(t[k] > 0, `no ${k} in ${SEEDS} seeds: ${JSON.stringify(t)}`);
    }
  }
});

test("a seed replays exactly: same trace, same stats", () => {
  const run = (): { lines: string[]; stats: Stats } => {
    const lines: string[] = [];
    const stats = new Simulation(7, { trace: (l) => lines.push(l) }).run();
    return { lines, stats };
  };
  const a = run();
  const b = run();
  assert.ok(a.lines.length > 1000, "the trace should describe every step");
  assert.deepEqual(a.stats, b.stats);
  assert.deepEqual(a.lines, b.lines);
  assert.deepEqual(runOne(7).stats, a.stats, "tracing must not change the run");
});

test("the checker catches a disk whose fsync loses acknowledged writes", () => {
  const results = Array.from({ length: 20 }, (_, i) => runOne(i + 1, { laggingFsync: true }));
  const caught = results.filter(
    (r) => !r.ok && (r.kind === "InvariantViolation" || r.kind === "AssertionError"),
  );
  assert.ok(caught.length >= 10, `only ${caught.length}/20 sabotaged runs were caught`);
});

test("a calm cluster (no faults) elects one leader and commits every proposal", () => {
  const stats = new Simulation(3, {
    tweak: (k) => {
      k.initialSize = 3;
      k.net = { dropRate: 0, dupRate: 0, minDelay: 1, jitter: 3, slowRate: 0, slowDelay: 0 };
      k.crashRate = 0;
      k.partitionRate = 0;
      k.confChangeRate = 0;
      k.transferRate = 0;
      k.readOnly = "Safe";
    },
  }).run();
  assert.equal(stats.leaders, 1);
  assert.equal(stats.crashes, 0);
  assert.ok(stats.committed > 50, `committed ${stats.committed}`);
  assert.ok(stats.readsChecked > 10, `reads ${stats.readsChecked}`);
});
