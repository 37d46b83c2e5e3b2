// Specifies the search against brute force: on tiny histories (generated runs, corrupted runs, and random
// outputs), the checker with all its shortcuts (memo, pending-last order, interchangeable pending writes,
// narrowed and hidden values) gives exactly the verdict of trying every order and every subset.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { checkOperations } from "./checker.js";
import { etcdKeyModel } from "./etcd_key_model.js";
import { etcdStoreModel } from "./etcd_store_model.js";
import type { EtcdInput, EtcdOperation, EtcdOutput } from "./etcd_types.js";
import { corruptOne, generateHistory, seededRandom } from "./generate.js";
import { type Model, type Operation, PENDING } from "./model.js";

/** Every sequence of all completed and some pending operations that respects real time and the model. */
function bruteForce<S, I, O>(model: Model<S, I, O>, history: Operation<I, O>[]): boolean {
  const ops = history.filter(
    (o) => !model.ignore?.(o.input) && !(o.return === PENDING && model.isReadOnly?.(o.input)),
  );
  const done = new Array<boolean>(ops.length).fill(false);
  const required = ops.filter((o) => o.return !== PENDING).length;
  const search = (state: S, placed: number): boolean => {
    if (placed === required) return true;
    for (let i = 0; i < ops.length; i++) {
      if (done[i]) continue;
      const op = ops[i]!;
      // Every completed operation that returned before this call must already be placed.
      if (ops.some((p, j) => !done[j] && p.return < op.call)) continue;
      const next = model.step(state, op.input, op.output);
      if (next === undefined) continue;
      done[i] = true;
      const ok = search(next, placed + (op.return === PENDING ? 0 : 1));
      done[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return search(model.init("all"), 0);
}

/** The model without its history rewrites and partitions: what brute force checks against. */
function raw<S>(m: Model<S, EtcdInput, EtcdOutput>): Model<S, EtcdInput, EtcdOutput> {
  const { prepare: _p, partition: _q, ...rest } = m;
  return rest;
}

const verdict = (ok: boolean): string => (ok ? "ok" : "illegal");

function crossCheck(ops: EtcdOperation[], store: boolean): void {
  if (store) crossCheckWith(etcdStoreModel(), ops);
  else crossCheckWith(etcdKeyModel(), ops);
}

function crossCheckWith<S>(model: Model<S, EtcdInput, EtcdOutput>, ops: EtcdOperation[]): void {
  const got = checkOperations(model, ops).result;
  const want = verdict(bruteForce(raw(model), ops));
  assert.equal(
    got,
    want,
    JSON.stringify(ops, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)),
  );
}

test("generated and corrupted runs: the checker agrees with brute force", () => {
  fc.assert(
    fc.property(
      fc.integer(),
      fc.integer({ min: 1, max: 7 }),
      fc.integer({ min: 1, max: 4 }),
      fc.double({ min: 0, max: 0.6, noNaN: true }),
      fc.boolean(),
      fc.boolean(),
      (seed, operations, clients, pendingRate, corrupt, store) => {
        const rand = seededRandom(seed);
        let ops = generateHistory(rand, { operations, keys: store ? 2 : 1, clients, pendingRate, spread: 3 });
        if (corrupt) ops = corruptOne(ops, rand)?.ops ?? ops;
        crossCheck(ops, store);
      },
    ),
    { numRuns: 1500 },
  );
});

/** Random operations with outputs from small domains: mostly illegal, some legal by chance. */
const randomOp = (id: number): fc.Arbitrary<EtcdOperation> => {
  const value = fc.constantFrom("x", "y");
  const rev = fc.bigInt({ min: 0n, max: 4n });
  const opAndOut: fc.Arbitrary<[EtcdInput, EtcdOutput]> = fc.oneof(
    fc.tuple(value, rev).map(([v, r]): [EtcdInput, EtcdOutput] => [
      { op: "put", key: "k", value: v },
      { op: "put", revision: r },
    ]),
    fc.tuple(fc.option(value, { nil: null }), rev, rev).map(([v, m, r]): [EtcdInput, EtcdOutput] => [
      { op: "get", key: "k" },
      { op: "get", value: v, modRevision: v === null ? 0n : m, revision: r },
    ]),
    fc.tuple(fc.integer({ min: 0, max: 1 }), rev).map(([d, r]): [EtcdInput, EtcdOutput] => [
      { op: "delete", key: "k" },
      { op: "delete", deleted: d, revision: r },
    ]),
    fc.tuple(value, value, fc.boolean(), rev).map(([c, v, s, r]): [EtcdInput, EtcdOutput] => [
      { op: "cas", key: "k", compare: { target: "value", value: c }, value: v },
      { op: "cas", succeeded: s, revision: r },
    ]),
    fc.tuple(rev, value, fc.boolean(), rev).map(([m, v, s, r]): [EtcdInput, EtcdOutput] => [
      { op: "cas", key: "k", compare: { target: "mod", modRevision: m }, value: v },
      { op: "cas", succeeded: s, revision: r },
    ]),
  );
  return fc
    .tuple(opAndOut, fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 10 }), fc.boolean())
    .map(([[input, output], call, len, pending]) => ({
      id,
      clientId: id,
      call,
      return: pending && input.op !== "get" ? PENDING : call + len,
      input,
      output: pending && input.op !== "get" ? undefined : output,
    }));
};

test("random outputs: the checker agrees with brute force", () => {
  fc.assert(
    fc.property(
      fc
        .integer({ min: 1, max: 6 })
        .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => randomOp(i)))),
      fc.boolean(),
      (ops, store) => crossCheck(ops, store),
    ),
    { numRuns: 3000 },
  );
});
