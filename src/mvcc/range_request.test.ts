// Specifies RangeRequest semantics as etcd 3.4 serves them: sort, filters, limit/more, count, keys/count only.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ErrCompacted, ErrFutureRev, ErrInvalidSortOption } from "./errors.js";
import { type RangeRequest, rangeRequest, SortOrder, SortTarget } from "./range_request.js";
import { b, putAll, s, TempStore } from "./test_util.js";

let t: TempStore;
before(() => {
  t = new TempStore();
  // a: create 2 mod 2 v1 "z" | b: create 3 mod 5 v2 "w" | c: create 4 mod 8 v3 "t" | d: create 6 mod 6 v1 "v"
  putAll(t.store, [
    ["a", "z"],
    ["b", "y"],
    ["c", "x"],
    ["b", "w"],
    ["d", "v"],
    ["c", "u"],
    ["c", "t"],
  ]);
});
after(() => t.cleanup());

const { ASCEND, DESCEND, NONE } = SortOrder;
const { KEY, VERSION, CREATE, MOD, VALUE } = SortTarget;

interface Case {
  name: string;
  req: Partial<RangeRequest>;
  keys: string;
  more?: boolean;
  count?: bigint;
}

const cases: Case[] = [
  { name: "no options: key order", req: {}, keys: "a b c d" },
  { name: "limit cuts and sets more", req: { limit: 2n }, keys: "a b", more: true },
  { name: "limit == size: no more", req: { limit: 4n }, keys: "a b c d" },
  { name: "limit > size", req: { limit: 5n }, keys: "a b c d" },
  { name: "negative limit = unlimited", req: { limit: -1n }, keys: "a b c d" },
  { name: "KEY DESCEND", req: { sortOrder: DESCEND, sortTarget: KEY }, keys: "d c b a" },
  { name: "KEY ASCEND", req: { sortOrder: ASCEND, sortTarget: KEY }, keys: "a b c d" },
  {
    name: "VERSION DESCEND (ties keep key order)",
    req: { sortOrder: DESCEND, sortTarget: VERSION },
    keys: "c b a d",
  },
  { name: "VERSION ASCEND", req: { sortOrder: ASCEND, sortTarget: VERSION }, keys: "a d b c" },
  { name: "CREATE DESCEND", req: { sortOrder: DESCEND, sortTarget: CREATE }, keys: "d c b a" },
  { name: "MOD ASCEND", req: { sortOrder: ASCEND, sortTarget: MOD }, keys: "a b d c" },
  {
    name: "VALUE with order NONE sorts ascending",
    req: { sortOrder: NONE, sortTarget: VALUE },
    keys: "c d b a",
  },
  {
    name: "quirk: target != KEY, order NONE, limit reads limit+1 keys in key order, then sorts",
    req: { sortTarget: VALUE, limit: 2n },
    keys: "c b",
    more: true,
  },
  {
    name: "explicit ASCEND with limit sorts the whole range first",
    req: { sortOrder: ASCEND, sortTarget: VALUE, limit: 2n },
    keys: "c d",
    more: true,
  },
  { name: "minModRevision", req: { minModRevision: 5n }, keys: "b c d" },
  { name: "maxModRevision", req: { maxModRevision: 5n }, keys: "a b" },
  { name: "create revision window", req: { minCreateRevision: 3n, maxCreateRevision: 4n }, keys: "b c" },
  {
    name: "filter then limit: more counts after filtering; count before filters",
    req: { minModRevision: 6n, limit: 1n },
    keys: "c",
    more: true,
    count: 4n,
  },
  {
    name: "filter leaving exactly limit: no more",
    req: { minModRevision: 8n, limit: 1n },
    keys: "c",
    more: false,
  },
  { name: "countOnly", req: { countOnly: true }, keys: "", count: 4n },
  { name: "countOnly ignores limit", req: { countOnly: true, limit: 1n }, keys: "", count: 4n, more: false },
  { name: "at an older revision", req: { revision: 4n }, keys: "a b c", count: 3n },
  { name: "single key", req: { key: b("b"), rangeEnd: Buffer.alloc(0) }, keys: "b", count: 1n },
  { name: "[b, d)", req: { key: b("b"), rangeEnd: b("d") }, keys: "b c", count: 2n },
  { name: "end <= key is empty", req: { key: b("c"), rangeEnd: b("b") }, keys: "", count: 0n },
];

describe("rangeRequest", () => {
  for (const c of cases) {
    test(c.name, () => {
      const res = rangeRequest(t.store, { key: b("a"), rangeEnd: b("\0"), ...c.req });
      assert.equal(res.kvs.map((kv) => s(kv.key)).join(" "), c.keys);
      assert.equal(res.more, c.more ?? false);
      assert.equal(res.count, c.count ?? 4n);
      assert.equal(res.revision, 8n, "header revision is the current revision");
    });
  }

  test("keysOnly drops values and keeps every other field", () => {
    const res = rangeRequest(t.store, { key: b("c"), keysOnly: true });
    assert.deepEqual(res.kvs, [
      { key: b("c"), value: Buffer.alloc(0), createRevision: 4n, modRevision: 8n, version: 3n, lease: 0n },
    ]);
    assert.equal(
      s(rangeRequest(t.store, { key: b("c") }).kvs[0]!.value),
      "t",
      "the stored value is untouched",
    );
  });

  test("historical values", () => {
    const res = rangeRequest(t.store, { key: b("c"), revision: 7n });
    assert.deepEqual([s(res.kvs[0]!.value), res.kvs[0]!.version], ["u", 2n]);
  });

  test("errors: invalid sort option, future and compacted revisions", () => {
    assert.throws(() => rangeRequest(t.store, { key: b("a"), sortOrder: 3 }), ErrInvalidSortOption);
    assert.throws(() => rangeRequest(t.store, { key: b("a"), sortTarget: 5 }), ErrInvalidSortOption);
    assert.throws(() => rangeRequest(t.store, { key: b("a"), revision: 9n }), ErrFutureRev);
  });

  test("compacted revision error; the compact revision itself is readable", async () => {
    const u = new TempStore();
    try {
      putAll(u.store, [
        ["a", "1"],
        ["a", "2"],
        ["a", "3"],
      ]);
      await u.store.compact(3n).done;
      assert.throws(() => rangeRequest(u.store, { key: b("a"), revision: 2n }), ErrCompacted);
      assert.equal(s(rangeRequest(u.store, { key: b("a"), revision: 3n }).kvs[0]!.value), "2");
    } finally {
      await u.cleanup();
    }
  });
});
