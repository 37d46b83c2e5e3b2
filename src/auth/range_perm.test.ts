// Specifies range-permission coverage as etcd's range_perm_cache_test.go does: a key needs one interval holding
// it, a range needs its overlapping intervals to cover it without a gap, "\0" as range_end is open-ended.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Permission, Permission_Type } from "../proto/index.js";
import { MergedPermissions } from "./range_perm.js";

const b = (s: string) => Buffer.from(s, "latin1");
const perm = (key: string, rangeEnd: string, permType = Permission_Type.READ): Permission => ({
  permType,
  key: b(key),
  rangeEnd: b(rangeEnd),
});

const CASES: { perms: Permission[]; key: string; end: string; want: boolean }[] = [
  // etcd's TestRangePermission
  { perms: [perm("a", "c"), perm("x", "z")], key: "a", end: "z", want: false },
  { perms: [perm("a", "f"), perm("c", "d"), perm("f", "z")], key: "a", end: "z", want: true },
  { perms: [perm("a", "d"), perm("a", "b"), perm("c", "f")], key: "a", end: "f", want: true },
  { perms: [perm("a", "d"), perm("a", "b"), perm("c", "f")], key: "a", end: "g", want: false },
  // single keys
  { perms: [perm("a", "c")], key: "b", end: "", want: true },
  { perms: [perm("a", "c")], key: "c", end: "", want: false },
  { perms: [perm("k", "")], key: "k", end: "", want: true },
  { perms: [perm("k", "")], key: "k", end: "k\x00", want: true },
  { perms: [perm("k", "")], key: "k\x00", end: "", want: false },
  // open-ended with "\0"
  { perms: [perm("a", "\x00")], key: "zzz", end: "", want: true },
  { perms: [perm("a", "\x00")], key: "b", end: "\x00", want: true },
  { perms: [perm("a", "z")], key: "b", end: "\x00", want: false },
  { perms: [perm("b", "\x00")], key: "a", end: "\x00", want: false },
  // prefix
  { perms: [perm("pub/", "pub0")], key: "pub/x", end: "pub/y", want: true },
  { perms: [perm("pub/", "pub0")], key: "pua", end: "pub/b", want: false },
  { perms: [], key: "a", end: "", want: false },
];

test("read coverage follows etcd's interval-tree rules", () => {
  for (const c of CASES) {
    const m = new MergedPermissions(c.perms);
    assert.equal(m.permits("read", b(c.key), b(c.end)), c.want, JSON.stringify(c));
    assert.equal(m.permits("write", b(c.key), b(c.end)), false, "READ grants no write");
  }
});

test("READWRITE counts for both types, WRITE only for writes", () => {
  const m = new MergedPermissions([
    perm("a", "b", Permission_Type.READWRITE),
    perm("w", "", Permission_Type.WRITE),
  ]);
  assert.ok(m.permits("read", b("a"), b("")));
  assert.ok(m.permits("write", b("a"), b("")));
  assert.ok(m.permits("write", b("w"), b("")));
  assert.ok(!m.permits("read", b("w"), b("")));
});
