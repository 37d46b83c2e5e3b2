// Specifies the etcd checks on generated histories: a sequential run widened into overlapping intervals is
// always accepted (with and without lost responses), one corrupted output is almost always caught, and a
// 10,000-operation history checks quickly (timing printed, never asserted).
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { checkOperations } from "./checker.js";
import { checkEtcdHistory } from "./etcd_check.js";
import { resolvePendingWrites } from "./etcd_prepare.js";
import { etcdStoreModel } from "./etcd_store_model.js";
import { corruptOne, generateHistory, generateRun, seededRandom } from "./generate.js";
import { PENDING } from "./model.js";

const shape = fc.record({
  seed: fc.integer(),
  operations: fc.integer({ min: 1, max: 120 }),
  keys: fc.integer({ min: 1, max: 4 }),
  clients: fc.integer({ min: 1, max: 6 }),
});

test("a widened sequential run is linearizable for the per-key and whole-store models", () => {
  fc.assert(
    fc.property(shape, (s) => {
      const ops = generateHistory(seededRandom(s.seed), s);
      const res = checkEtcdHistory(ops, { store: true });
      assert.equal(res.result, "ok", res.explanation);
    }),
    { numRuns: 200 },
  );
});

test("lost responses (applied or not) are accepted either way", () => {
  fc.assert(
    fc.property(shape, fc.double({ min: 0.05, max: 0.4, noNaN: true }), (s, pendingRate) => {
      const { ops, events } = generateRun(seededRandom(s.seed), { ...s, pendingRate });
      const res = checkEtcdHistory(ops);
      assert.equal(res.result, "ok", res.explanation);
      // The whole-store model needs the committed events to settle lost responses in reasonable time.
      const resolved = resolvePendingWrites(ops, events, { complete: true });
      assert.ok(resolved.every((o) => o.return !== PENDING || o.input.op === "delete"));
      const store = checkEtcdHistory(resolved, { store: true });
      assert.equal(store.result, "ok", store.explanation);
    }),
    { numRuns: 200 },
  );
});

test("one corrupted output is caught almost always", () => {
  let runs = 0;
  let caughtPerKey = 0;
  let caughtStore = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const rand = seededRandom(seed);
    const ops = generateHistory(rand, { operations: 60, keys: 3, clients: 4 });
    const bad = corruptOne(ops, rand);
    if (!bad) continue;
    runs++;
    if (checkEtcdHistory(bad.ops).result === "illegal") caughtPerKey++;
    if (checkOperations(etcdStoreModel(), bad.ops).result === "illegal") caughtStore++;
  }
  console.log(
    `corruptions caught: per-key+order ${caughtPerKey}/${runs}, whole-store ${caughtStore}/${runs}`,
  );
  assert.ok(caughtPerKey >= runs * 0.85, `per-key caught only ${caughtPerKey}/${runs}`);
  assert.ok(caughtStore >= runs * 0.95, `whole-store caught only ${caughtStore}/${runs}`);
});

test("a read of a value never written is always caught", () => {
  fc.assert(
    fc.property(shape, (s) => {
      const ops = generateHistory(seededRandom(s.seed), s);
      const i = ops.findIndex((o) => o.output?.op === "get");
      fc.pre(i >= 0);
      const out = ops[i]!.output!;
      assert.ok(out.op === "get");
      ops[i] = { ...ops[i]!, output: { ...out, value: "never-written", modRevision: out.revision } };
      assert.equal(checkEtcdHistory(ops).result, "illegal");
    }),
    { numRuns: 100 },
  );
});

test("10,000 operations over 50 keys by 10 clients check quickly", () => {
  const ops = generateHistory(seededRandom(6), { operations: 10_000, keys: 50, clients: 10 });
  let t = performance.now();
  const ok = checkEtcdHistory(ops);
  const okMs = performance.now() - t;
  assert.equal(ok.result, "ok", ok.explanation);

  const lossy = generateHistory(seededRandom(7), {
    operations: 10_000,
    keys: 50,
    clients: 10,
    pendingRate: 0.05,
  });
  t = performance.now();
  const lossyRes = checkEtcdHistory(lossy);
  const lossyMs = performance.now() - t;
  assert.equal(lossyRes.result, "ok", lossyRes.explanation);

  const bad = corruptOne(ops, seededRandom(8))!;
  t = performance.now();
  const badRes = checkEtcdHistory(bad.ops);
  const badMs = performance.now() - t;

  const one = generateHistory(seededRandom(9), { operations: 2_000, keys: 5, clients: 8 });
  t = performance.now();
  const storeRes = checkEtcdHistory(one, { store: true });
  const storeMs = performance.now() - t;
  assert.equal(storeRes.result, "ok", storeRes.explanation);

  console.log(
    `linearizability timings: 10k ops/50 keys/10 clients ${okMs.toFixed(0)} ms; with 5% lost responses ` +
      `${lossyMs.toFixed(0)} ms; one corrupted (${badRes.result}) ${badMs.toFixed(0)} ms; ` +
      `2k ops/5 keys/8 clients with the whole-store model ${storeMs.toFixed(0)} ms`,
  );
});
