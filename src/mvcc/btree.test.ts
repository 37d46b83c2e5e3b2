// Specifies the byte-keyed B+tree against a sorted-array model: get/set/delete and range scans.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { BTree, bytesKey } from "./btree.js";

type Op =
  | { t: "set"; k: Buffer; v: number }
  | { t: "del"; k: Buffer }
  | { t: "scan"; from: Buffer; to: Buffer | undefined; stopAfter: number };

// Few distinct short keys so sets, deletes and scans collide often; byte values cover 0x00 and 0xff.
const key = fc
  .uint8Array({ minLength: 0, maxLength: 3 })
  .map((a) => Buffer.from(a.map((x) => [0, 1, 0x7f, 0xff][x % 4]!)));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant("set" as const), k: key, v: fc.integer() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("del" as const), k: key }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("scan" as const),
      from: key,
      to: fc.option(key, { nil: undefined }),
      stopAfter: fc.integer({ min: 1, max: 50 }),
    }),
  },
);

function check(ops: Op[]): void {
  const tree = new BTree<number>();
  const model = new Map<string, number>();
  const hex = (k: Buffer) => k.toString("hex");
  for (const o of ops) {
    if (o.t === "set") {
      tree.set(bytesKey(o.k), o.v);
      model.set(hex(o.k), o.v);
    } else if (o.t === "del") {
      assert.equal(tree.delete(bytesKey(o.k)), model.delete(hex(o.k)));
    } else {
      const got: string[] = [];
      tree.scan(bytesKey(o.from), o.to && bytesKey(o.to), (k, v) => {
        got.push(`${Buffer.from(k, "latin1").toString("hex")}=${v}`);
        return got.length < o.stopAfter;
      });
      const want = [...model.entries()]
        .map(([k, v]) => [Buffer.from(k, "hex"), v] as const)
        .filter(
          ([k]) => Buffer.compare(k, o.from) >= 0 && (o.to === undefined || Buffer.compare(k, o.to) < 0),
        )
        .sort((a, c) => Buffer.compare(a[0], c[0]))
        .slice(0, o.stopAfter)
        .map(([k, v]) => `${k.toString("hex")}=${v}`);
      assert.deepEqual(got, want);
    }
    assert.equal(tree.size, model.size);
  }
  for (const [k, v] of model) assert.equal(tree.get(bytesKey(Buffer.from(k, "hex"))), v);
}

describe("BTree", () => {
  test("bytesKey: string order is byte order, one char per byte", () => {
    const bytes = fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a));
    fc.assert(
      fc.property(bytes, bytes, (x, y) => {
        const [sx, sy] = [bytesKey(x), bytesKey(y)];
        assert.equal(Math.sign(sx < sy ? -1 : sx > sy ? 1 : 0), Math.sign(Buffer.compare(x, y)));
        assert.deepEqual(Buffer.from(sx, "latin1"), x);
        assert.equal(sx.length, x.length);
      }),
    );
  });

  test("matches a sorted-map model over random operations", () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), check), { numRuns: 300 });
  });

  test("large trees: splits, merges on delete, ordered full scan", () => {
    const tree = new BTree<number>();
    const n = 20_000;
    const keyOf = (i: number) => `k${String((i * 7919) % n).padStart(6, "0")}`;
    for (let i = 0; i < n; i++) tree.set(keyOf(i), i);
    assert.equal(tree.size, n);
    for (let i = 0; i < n; i++) if (i % 10 !== 0) assert.ok(tree.delete(keyOf(i)));
    assert.equal(tree.size, n / 10);
    const seen: string[] = [];
    tree.scan("", undefined, (k) => {
      seen.push(k);
    });
    assert.equal(seen.length, n / 10);
    assert.deepEqual(seen, [...seen].sort());
    for (let i = 0; i < n; i += 10) assert.equal(tree.get(keyOf(i)), i);
    for (let i = 0; i < n; i += 10) tree.delete(keyOf(i));
    assert.equal(tree.size, 0);
    tree.set("again", 1);
    assert.equal(tree.get("again"), 1);
  });
});
