// Specifies a cluster as correct under faults (issue 6): for each scenario of scenarios.ts, clients write,
// read, watch, hold leases and locks while members are killed, paused, partitioned or run out of disk, and
// every history is checked (see README.md here). The members are etcd-ts unless ETCD_TS_CLUSTER_TEST_BINARY=etcd;
// FAULT_ROUNDS repeats each scenario with other seeds (FAULT_SEED moves them all), FAULT_SCENARIOS=<substring>
// picks scenarios.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ClusterBinary } from "../cluster_process.js";
import { mountSupport } from "./disk.js";
import { runScenario } from "./scenario.js";
import { SCENARIOS, STALE_READS_SELF_CHECK } from "./scenarios.js";

const BINARY = (process.env.ETCD_TS_CLUSTER_TEST_BINARY ?? "etcd-ts") as ClusterBinary;
const ROUNDS = Math.max(1, Number(process.env.FAULT_ROUNDS ?? 1));
const BASE_SEED = Number(process.env.FAULT_SEED ?? 1);
const PICK = process.env.FAULT_SCENARIOS;
/**
 * Per scenario: a bounded workload, faults, recovery and checks take 10–25 s; a failing one waits out its
 * deadlines (30 s each) to gather evidence before it reports, so the bound is generous.
 */
const SCENARIO_TIMEOUT_MS = 240_000;

/**
 * Scenarios etcd-ts fails today because of a server bug, by binary: the reason points at FINDINGS.md. They run
 * (and print what failed) but do not fail the suite.
 */
const KNOWN_FAILURES: Partial<Record<ClusterBinary, Record<string, string>>> = {
  "etcd-ts": {},
};

const mount = mountSupport();

describe(`fault scenarios against ${BINARY}`, () => {
  if (!PICK || STALE_READS_SELF_CHECK.name.includes(PICK)) {
    it(STALE_READS_SELF_CHECK.name, { timeout: SCENARIO_TIMEOUT_MS }, async () => {
      const result = await runScenario(STALE_READS_SELF_CHECK, {
        binary: BINARY,
        seed: BASE_SEED * 1_000 + 999,
        keepFailure: false,
      });
      console.log(result.summary.map((l) => `# ${l}`).join("\n"));
      assert.ok(
        result.problems.some((p) => /^history is illegal/.test(p)),
        `stale reads went unnoticed; problems: ${JSON.stringify(result.problems)}`,
      );
    });
  }

  SCENARIOS.forEach((spec, index) => {
    if (PICK && !spec.name.includes(PICK)) return;
    for (let round = 0; round < ROUNDS; round++) {
      const seed = BASE_SEED * 1_000 + index * 10 + round;
      const todo = KNOWN_FAILURES[BINARY]?.[spec.name];
      const skip = spec.tmpfs && mount ? `needs a tmpfs: ${mount}` : undefined;
      it(`${spec.name}${ROUNDS > 1 ? ` (round ${round + 1}, seed ${seed})` : ""}`, {
        timeout: SCENARIO_TIMEOUT_MS,
        ...(todo ? { todo } : {}),
        ...(skip ? { skip } : {}),
      }, async () => {
        const result = await runScenario(spec, { binary: BINARY, seed });
        console.log(result.summary.map((l) => `# ${l}`).join("\n"));
        assert.deepEqual(
          result.problems,
          [],
          `${spec.name} [${BINARY}, seed ${seed}] failed; history, report and logs in ${result.failureDir}`,
        );
      });
    }
  });
});
