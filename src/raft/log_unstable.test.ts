// Specifies Unstable: first/last index and term lookups, stableTo, truncateAndAppend and in-progress tracking.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Unstable } from "./log_unstable.js";
import { entries, entry, snapshotOf } from "./testing/fixtures.js";
import type { Entry } from "./types.js";

function unstable(offset: number, ents: Entry[] = [], snapAt?: [number, number]): Unstable {
  const u = new Unstable(BigInt(offset));
  u.entries = ents;
  if (snapAt) u.snapshot = snapshotOf(snapAt[0], snapAt[1], [1]);
  return u;
}

const idxTerms = (u: Unstable): string => u.entries.map((e) => `${e.index}:${e.term}`).join(" ");

test("maybeFirstIndex is the index after a pending snapshot, else unknown", () => {
  assert.equal(unstable(5, [entry(5, 1)]).maybeFirstIndex(), undefined);
  assert.equal(unstable(5, [entry(5, 1)], [4, 1]).maybeFirstIndex(), 5n);
  assert.equal(unstable(5, [], [4, 1]).maybeFirstIndex(), 5n);
  assert.equal(unstable(0).maybeFirstIndex(), undefined);
});

test("maybeLastIndex is the last entry, else the snapshot, else unknown", () => {
  assert.equal(unstable(5, [entry(5, 1)]).maybeLastIndex(), 5n);
  assert.equal(unstable(5, [entry(5, 1)], [4, 1]).maybeLastIndex(), 5n);
  assert.equal(unstable(5, [], [4, 1]).maybeLastIndex(), 4n);
  assert.equal(unstable(0).maybeLastIndex(), undefined);
});

test("maybeTerm answers for unstable entries and the snapshot index only", () => {
  const cases: { u: Unstable; i: number; want: number | undefined }[] = [
    { u: unstable(5, [entry(5, 1)]), i: 5, want: 1 },
    { u: unstable(5, [entry(5, 1)]), i: 6, want: undefined },
    { u: unstable(5, [entry(5, 1)]), i: 4, want: undefined },
    { u: unstable(5, [entry(5, 1)], [4, 1]), i: 5, want: 1 },
    { u: unstable(5, [entry(5, 1)], [4, 1]), i: 6, want: undefined },
    { u: unstable(5, [entry(5, 1)], [4, 1]), i: 4, want: 1 },
    { u: unstable(5, [entry(5, 1)], [4, 1]), i: 3, want: undefined },
    { u: unstable(5, [], [4, 1]), i: 5, want: undefined },
    { u: unstable(5, [], [4, 1]), i: 4, want: 1 },
    { u: unstable(0), i: 5, want: undefined },
  ];
  for (const [n, c] of cases.entries()) {
    const want = c.want === undefined ? undefined : BigInt(c.want);
    assert.equal(c.u.maybeTerm(BigInt(c.i)), want, `case ${n}`);
  }
});

test("restore drops entries and makes the snapshot pending", () => {
  const u = unstable(5, [entry(5, 1)], [4, 1]);
  u.offsetInProgress = 6n;
  u.snapshotInProgress = true;
  u.restore(snapshotOf(6, 2, [1]));
  assert.equal(u.offset, 7n);
  assert.equal(u.offsetInProgress, 7n);
  assert.equal(u.entries.length, 0);
  assert.equal(u.snapshot?.metadata.index, 6n);
  assert.equal(u.snapshotInProgress, false);
  assert.equal(u.nextSnapshot()?.metadata.index, 6n);
});

test("nextEntries hands out only entries not already in progress", () => {
  const u = unstable(5, entries(5, 1, 1));
  assert.deepEqual(
    u.nextEntries().map((e) => e.index),
    [5n, 6n],
  );
  u.acceptInProgress();
  assert.equal(u.offsetInProgress, 7n);
  assert.deepEqual(u.nextEntries(), []);
  u.truncateAndAppend([entry(7, 1)]);
  assert.deepEqual(
    u.nextEntries().map((e) => e.index),
    [7n],
  );
});

test("a pending snapshot is handed out once, until persisted", () => {
  const u = unstable(5, [], [4, 1]);
  assert.ok(u.nextSnapshot());
  u.acceptInProgress();
  assert.equal(u.nextSnapshot(), undefined);
  u.stableSnapTo(3n); // not ours
  assert.ok(u.snapshot);
  u.stableSnapTo(4n);
  assert.equal(u.snapshot, undefined);
  assert.equal(u.snapshotInProgress, false);
});

test("stableTo drops persisted entries unless the term no longer matches", () => {
  const cases: { u: Unstable; index: number; term: number; offset: number; len: number }[] = [
    { u: unstable(0), index: 5, term: 1, offset: 0, len: 0 },
    { u: unstable(5, [entry(5, 1)]), index: 5, term: 1, offset: 6, len: 0 },
    { u: unstable(5, entries(5, 1, 1)), index: 5, term: 1, offset: 6, len: 1 },
    { u: unstable(6, [entry(6, 2)]), index: 6, term: 1, offset: 6, len: 1 }, // replaced by a newer term
    { u: unstable(5, [entry(5, 1)]), index: 4, term: 1, offset: 5, len: 1 }, // already stable
    { u: unstable(5, [entry(5, 1)]), index: 4, term: 2, offset: 5, len: 1 },
    { u: unstable(5, [entry(5, 1)], [4, 1]), index: 5, term: 1, offset: 6, len: 0 },
    { u: unstable(5, entries(5, 1, 1), [4, 1]), index: 5, term: 1, offset: 6, len: 1 },
    { u: unstable(6, [entry(6, 2)], [5, 1]), index: 6, term: 1, offset: 6, len: 1 },
    { u: unstable(5, [entry(5, 1)], [4, 1]), index: 4, term: 1, offset: 5, len: 1 }, // the snapshot's index
    { u: unstable(5, [entry(5, 2)], [4, 2]), index: 4, term: 1, offset: 5, len: 1 },
  ];
  for (const [n, c] of cases.entries()) {
    c.u.stableTo(BigInt(c.index), BigInt(c.term));
    assert.equal(c.u.offset, BigInt(c.offset), `case ${n} offset`);
    assert.equal(c.u.entries.length, c.len, `case ${n} len`);
  }
});

test("stableTo keeps offsetInProgress at or after the new offset", () => {
  const u = unstable(5, entries(5, 1, 1, 1));
  u.acceptInProgress(); // 5..7 in progress
  u.stableTo(5n, 1n);
  assert.equal(u.offset, 6n);
  assert.equal(u.offsetInProgress, 8n);
  const v = unstable(5, entries(5, 1, 1));
  v.stableTo(6n, 1n);
  assert.equal(v.offsetInProgress, 7n, "offsetInProgress catches up with offset");
});

test("truncateAndAppend appends, replaces or truncates the unstable tail", () => {
  const cases: { name: string; u: () => Unstable; append: Entry[]; offset: number; want: string }[] = [
    {
      name: "append at end",
      u: () => unstable(5, [entry(5, 1)]),
      append: entries(6, 1, 1),
      offset: 5,
      want: "5:1 6:1 7:1",
    },
    {
      name: "replace all",
      u: () => unstable(5, [entry(5, 1)]),
      append: entries(5, 2, 2),
      offset: 5,
      want: "5:2 6:2",
    },
    {
      name: "replace from before offset",
      u: () => unstable(5, [entry(5, 1)]),
      append: entries(4, 2, 2, 2),
      offset: 4,
      want: "4:2 5:2 6:2",
    },
    {
      name: "truncate at 6",
      u: () => unstable(5, entries(5, 1, 1, 1)),
      append: [entry(6, 2)],
      offset: 5,
      want: "5:1 6:2",
    },
    {
      name: "truncate at 7",
      u: () => unstable(5, entries(5, 1, 1, 1)),
      append: entries(7, 2, 2),
      offset: 5,
      want: "5:1 6:1 7:2 8:2",
    },
  ];
  for (const c of cases) {
    const u = c.u();
    u.truncateAndAppend(c.append);
    assert.equal(u.offset, BigInt(c.offset), c.name);
    assert.equal(idxTerms(u), c.want, c.name);
  }
});

test("truncateAndAppend pulls offsetInProgress back to the first rewritten entry", () => {
  const cases: { append: Entry[]; want: number }[] = [
    { append: [entry(8, 2)], want: 8 }, // appended after what is in progress
    { append: [entry(6, 2)], want: 6 },
    { append: [entry(5, 2)], want: 5 },
    { append: [entry(4, 2)], want: 4 },
  ];
  for (const c of cases) {
    const u = unstable(5, entries(5, 1, 1, 1));
    u.acceptInProgress();
    u.truncateAndAppend(c.append);
    assert.equal(u.offsetInProgress, BigInt(c.want), `append at ${c.append[0]!.index}`);
  }
});

test("slice outside [offset, offset+len] is a bug", () => {
  const u = unstable(5, entries(5, 1, 1));
  assert.equal(u.slice(5n, 7n).length, 2);
  assert.throws(() => u.slice(4n, 6n));
  assert.throws(() => u.slice(5n, 8n));
  assert.throws(() => u.slice(6n, 5n));
});
