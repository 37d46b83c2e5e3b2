// Specifies the interval tree against a brute-force list: random inserts, replaces and deletes, then stabbing
// queries at every interesting point must find exactly the intervals that contain it.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { IntervalTree } from "./interval_tree.js";

const KEYS = ["\0", "a", "a\0", "aa", "ab", "b", "ba", "c", "\xff", "\xff\xff"];
const key = fc.constantFrom(...KEYS);

type Op = { t: "set"; s: string; e: string | null; v: number } | { t: "del"; s: string; e: string | null };
const interval = fc
  .tuple(key, fc.option(key, { nil: null }))
  .filter(([s, e]) => e === null || e > s)
  .map(([s, e]) => ({ s, e }));
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ i: interval, v: fc.nat() }).map(({ i, v }) => ({ t: "set" as const, ...i, v })),
  },
  { weight: 1, arbitrary: interval.map((i) => ({ t: "del" as const, ...i })) },
);

describe("IntervalTree", () => {
  test("matches a brute-force model under random operations", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const tree = new IntervalTree<number>();
        const model = new Map<string, { s: string; e: string | null; v: number }>();
        const id = (s: string, e: string | null) => JSON.stringify([s, e]);
        for (const o of ops) {
          if (o.t === "set") {
            tree.set(o.s, o.e, o.v);
            model.set(id(o.s, o.e), { s: o.s, e: o.e, v: o.v });
          } else {
            assert.equal(tree.delete(o.s, o.e), model.delete(id(o.s, o.e)));
          }
          assert.equal(tree.size, model.size);
        }
        for (const p of [...KEYS, "", "a\0\0", "zz"]) {
          const got: number[] = [];
          tree.stab(p, (v) => got.push(v));
          const want = [...model.values()]
            .filter((m) => m.s <= p && (m.e === null || p < m.e))
            .map((m) => m.v);
          assert.deepEqual(got.sort(), want.sort(), `stab(${JSON.stringify(p)})`);
        }
        for (const m of model.values()) assert.equal(tree.get(m.s, m.e), m.v);
      }),
      { numRuns: 500 },
    );
  });

  test("entries come out in interval order", () => {
    const t = new IntervalTree<number>();
    t.set("b", null, 1);
    t.set("a", "c", 2);
    t.set("a", null, 3);
    t.set("a", "b", 4);
    assert.deepEqual(
      t.entries().map(([s, e]) => [s, e]),
      [
        ["a", "b"],
        ["a", "c"],
        ["a", null],
        ["b", null],
      ],
    );
  });

  test("refuses an empty interval", () => {
    assert.throws(() => new IntervalTree<number>().set("b", "a", 1), /empty interval/);
    assert.throws(() => new IntervalTree<number>().set("b", "b", 1), /empty interval/);
  });

  test("stays shallow with 100,000 sorted inserts and answers stabs quickly", () => {
    const t = new IntervalTree<number>();
    const n = 100_000;
    const k = (i: number) => `k${String(i).padStart(6, "0")}`;
    for (let i = 0; i < n; i++) t.set(k(i), k(i + 1), i); // sorted order: the worst case for a plain BST
    assert.equal(t.size, n);
    for (const i of [0, 1, 4242, n - 1]) {
      const got: number[] = [];
      t.stab(k(i), (v) => got.push(v));
      assert.deepEqual(got, [i]);
    }
    for (let i = 0; i < n; i += 2) assert.ok(t.delete(k(i), k(i + 1)));
    assert.equal(t.size, n / 2);
  });
});
