// Property test: the store against a reference model that keeps the whole keyspace at every revision, over
// random sequences of puts, deletes, multi-op txns, ranges at any revision, compactions and restarts.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ErrCompacted, ErrFutureRev } from "./errors.js";
import type { KeyValue } from "./kv.js";
import type { KVStore } from "./store.js";
import { TempStore } from "./test_util.js";

interface MKv {
  value: string;
  create: bigint;
  mod: bigint;
  version: bigint;
  lease: bigint;
}
type State = Map<string, MKv>; // hex key -> kv

type SubOp =
  | { t: "put"; k: string; v: string; lease: bigint }
  | { t: "del"; k: string; end: string | undefined }
  | { t: "range"; k: string; end: string | undefined };
type Op =
  | { t: "txn"; ops: SubOp[] }
  | { t: "range"; k: string; end: string | undefined; rev: number; limit: number }
  | { t: "compact"; back: number; wait: boolean }
  | { t: "restart" };

const KEYS = ["00", "61", "6161", "62", "63", "ff"]; // "\0", "a", "aa", "b", "c", "\xff" in hex
const key = fc.constantFrom(...KEYS);
const end = fc.option(fc.constantFrom(...KEYS, "00" /* from-key */, ""), { nil: undefined });
const subOp: fc.Arbitrary<SubOp> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("put" as const),
      k: key,
      v: fc.string({ maxLength: 3 }),
      lease: fc.constantFrom(0n, 1n, 2n),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("del" as const), k: key, end }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("range" as const), k: key, end }) },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant("txn" as const),
      ops: fc.array(subOp, { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("range" as const),
      k: key,
      end,
      rev: fc.integer({ min: -1, max: 40 }),
      limit: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("compact" as const),
      back: fc.integer({ min: -1, max: 6 }),
      wait: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("restart" as const) }) },
);

const buf = (hex: string) => Buffer.from(hex, "hex");
const endBuf = (e: string | undefined) => (e === undefined ? undefined : buf(e));

/** Keys of `state` inside etcd's range [k, end) (empty end: the key; "\0": from k). */
function inRange(state: State, k: string, e: string | undefined): string[] {
  const kb = buf(k);
  return [...state.keys()]
    .filter((h) => {
      const hb = buf(h);
      if (e === undefined || e === "") return h === k;
      if (e === "00") return Buffer.compare(hb, kb) >= 0;
      return Buffer.compare(hb, kb) >= 0 && Buffer.compare(hb, buf(e)) < 0;
    })
    .sort((x, y) => Buffer.compare(buf(x), buf(y)));
}

const show = (kvs: KeyValue[]) =>
  kvs.map(
    (kv) =>
      `${kv.key.toString("hex")}=${kv.value.toString()} c${kv.createRevision} m${kv.modRevision} v${kv.version} l${kv.lease}`,
  );
const showModel = (state: State, keys: string[]) =>
  keys.map((h) => {
    const m = state.get(h)!;
    return `${h}=${m.value} c${m.create} m${m.mod} v${m.version} l${m.lease}`;
  });

class Model {
  history: State[] = [new Map(), new Map()]; // index = revision; revision 1 is the empty store
  /** Every stored revision: [main, key] (puts and tombstones). */
  events: Array<[bigint, string]> = [];
  compactRev = -1n;

  get rev(): bigint {
    return BigInt(this.history.length - 1);
  }
  at(rev: bigint): State {
    return this.history[Number(rev)]!;
  }
  /** Key-bucket entries left after compaction at compactRev finished. */
  expectedStored(): number {
    if (this.compactRev < 0n) return this.events.length;
    const live = this.at(this.compactRev).size;
    return live + this.events.filter(([m]) => m > this.compactRev).length;
  }
}

async function run(ops: Op[]): Promise<void> {
  const t = new TempStore({ compactionSleepMs: 0, compactionBatchLimit: 2 });
  const m = new Model();
  try {
    for (const o of ops) {
      const store: KVStore = t.store;
      switch (o.t) {
        case "txn": {
          const w = store.write();
          const work: State = new Map(m.at(m.rev));
          const main = m.rev + 1n;
          let changed = false;
          const events: string[] = [];
          for (const so of o.ops) {
            if (so.t === "put") {
              w.put(buf(so.k), Buffer.from(so.v), so.lease);
              const prev = work.get(so.k);
              work.set(so.k, {
                value: so.v,
                create: prev ? prev.create : main,
                mod: main,
                version: prev ? prev.version + 1n : 1n,
                lease: so.lease,
              });
              m.events.push([main, so.k]);
              const kv = work.get(so.k)!;
              events.push(`PUT ${so.k} c${kv.create} m${main} v${kv.version} l${so.lease}`);
              changed = true;
            } else if (so.t === "del") {
              const doomed = inRange(work, so.k, so.end);
              assert.equal(w.deleteRange(buf(so.k), endBuf(so.end)), doomed.length);
              for (const h of doomed) {
                work.delete(h);
                m.events.push([main, h]);
                events.push(`DELETE ${h} c0 m${main} v0 l0`);
              }
              changed ||= doomed.length > 0;
            } else {
              const r = w.range(buf(so.k), endBuf(so.end));
              assert.deepEqual(show(r.kvs), showModel(work, inRange(work, so.k, so.end)), "read-your-writes");
            }
          }
          const res = w.end();
          const got = res.changes.map(
            (e) =>
              `${e.type} ${e.kv.key.toString("hex")} c${e.kv.createRevision} m${e.kv.modRevision} v${e.kv.version} l${e.kv.lease}`,
          );
          assert.deepEqual(got, events, "txn events");
          if (changed) m.history.push(work);
          assert.equal(res.revision, m.rev);
          assert.equal(store.revision, m.rev);
          break;
        }
        case "range": {
          const rev = BigInt(o.rev);
          const opts = { rev, limit: o.limit };
          if (rev > m.rev) {
            assert.throws(() => store.range(buf(o.k), endBuf(o.end), opts), ErrFutureRev);
          } else if (rev > 0n && rev < m.compactRev) {
            assert.throws(() => store.range(buf(o.k), endBuf(o.end), opts), ErrCompacted);
          } else {
            const at = rev <= 0n ? m.rev : rev;
            const state = m.at(at);
            const keys = inRange(state, o.k, o.end);
            const r = store.range(buf(o.k), endBuf(o.end), opts);
            assert.equal(r.count, keys.length);
            assert.equal(r.rev, m.rev);
            assert.deepEqual(show(r.kvs), showModel(state, o.limit > 0 ? keys.slice(0, o.limit) : keys));
          }
          break;
        }
        case "compact": {
          const rev = m.rev - BigInt(o.back);
          if (rev > m.rev) assert.throws(() => store.compact(rev), ErrFutureRev);
          else if (rev <= m.compactRev) assert.throws(() => store.compact(rev), ErrCompacted);
          else {
            const { done } = store.compact(rev);
            m.compactRev = rev;
            if (o.wait) {
              await done;
              assert.equal(
                [...store.keyBucket.scan(Buffer.alloc(1))].length,
                m.expectedStored(),
                "physically compacted",
              );
            }
          }
          break;
        }
        case "restart": {
          await t.store.compactionsIdle().catch(() => undefined);
          const h = t.store.compactRevision === m.compactRev ? await t.store.hashKV(0n) : undefined;
          await t.reopen();
          assert.equal(t.store.revision, m.rev);
          assert.equal(t.store.compactRevision, m.compactRev);
          await t.store.compactionsIdle();
          if (h) assert.deepEqual(await t.store.hashKV(0n), h, "hashKV survives restart");
          break;
        }
      }
    }
    // Final: every readable revision matches the model.
    await t.store.compactionsIdle();
    const from = m.compactRev > 1n ? m.compactRev : 1n;
    for (let rev = from; rev <= m.rev; rev++) {
      const state = m.at(rev);
      const r = t.store.range(buf("00"), buf("00"), { rev });
      assert.deepEqual(show(r.kvs), showModel(state, inRange(state, "00", "00")), `state at ${rev}`);
    }
    assert.equal([...t.store.keyBucket.scan(Buffer.alloc(1))].length, m.expectedStored());
  } finally {
    await t.cleanup();
  }
}

describe("KVStore vs reference model", () => {
  test("random operation sequences with compaction and restarts", async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 60, size: "max" }), run), {
      numRuns: 200,
    });
  });
});
