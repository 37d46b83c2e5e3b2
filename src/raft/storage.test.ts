// Specifies MemoryStorage: term/entries bounds, size limits, compaction, snapshots and append truncation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AssertionError } from "./assert.js";
import { CompactedError, limitSize, MemoryStorage, SnapOutOfDateError, UnavailableError } from "./storage.js";
import { enc, entries, entry } from "./testing/fixtures.js";
import type { Entry } from "./types.js";

/** A storage whose first (dummy) entry is ents[0], like etcd's MemoryStorage{ents: ents}. */
function storageWith(ents: Entry[]): MemoryStorage {
  const s = new MemoryStorage();
  const head = ents[0]!;
  s.applySnapshot({
    data: new Uint8Array(0),
    metadata: { index: head.index, term: head.term, confState: { voters: [1n], learners: [] } },
  });
  s.append(ents.slice(1));
  return s;
}

const pairs = (ents: Entry[]): [number, number][] => ents.map((e) => [Number(e.index), Number(e.term)]);

/** [index, term] of every entry, the dummy included. */
function contents(s: MemoryStorage): [number, number][] {
  const out: [number, number][] = [[Number(s.firstIndex() - 1n), Number(s.term(s.firstIndex() - 1n))]];
  if (s.lastIndex() >= s.firstIndex())
    out.push(...pairs(s.entries(s.firstIndex(), s.lastIndex() + 1n, Infinity)));
  return out;
}

test("term: compacted below the dummy entry, unavailable past the last", () => {
  const s = storageWith(entries(3, 3, 4, 5));
  const cases: [number, number | typeof CompactedError | typeof UnavailableError][] = [
    [2, CompactedError],
    [3, 3],
    [4, 4],
    [5, 5],
    [6, UnavailableError],
  ];
  for (const [i, want] of cases) {
    if (typeof want === "number") assert.equal(s.term(BigInt(i)), BigInt(want), `term(${i})`);
    else assert.throws(() => s.term(BigInt(i)), want, `term(${i})`);
  }
});

test("entries: bounds and the size limit (always at least one entry)", () => {
  const s = storageWith(entries(3, 3, 4, 5, 6));
  const one = 16; // entrySize of an empty entry
  const cases: { lo: number; hi: number; max: number; want: number[] | typeof CompactedError }[] = [
    { lo: 2, hi: 6, max: Infinity, want: CompactedError },
    { lo: 3, hi: 4, max: Infinity, want: CompactedError },
    { lo: 4, hi: 5, max: Infinity, want: [4] },
    { lo: 4, hi: 6, max: Infinity, want: [4, 5] },
    { lo: 4, hi: 7, max: Infinity, want: [4, 5, 6] },
    { lo: 4, hi: 7, max: 0, want: [4] },
    { lo: 4, hi: 7, max: 2 * one, want: [4, 5] },
    { lo: 4, hi: 7, max: 3 * one - 1, want: [4, 5] },
    { lo: 4, hi: 7, max: 3 * one, want: [4, 5, 6] },
  ];
  for (const c of cases) {
    const run = () => s.entries(BigInt(c.lo), BigInt(c.hi), c.max);
    if (Array.isArray(c.want))
      assert.deepEqual(
        pairs(run()).map(([i]) => i),
        c.want,
        JSON.stringify(c),
      );
    else assert.throws(run, c.want);
  }
  assert.throws(() => s.entries(4n, 8n, Infinity), AssertionError, "hi past lastIndex+1 is a bug");
});

test("entries of an empty storage are unavailable", () => {
  assert.throws(() => new MemoryStorage().entries(1n, 1n, Infinity), UnavailableError);
});

test("first and last index follow appends and compaction", () => {
  const s = storageWith(entries(3, 3, 4, 5));
  assert.equal(s.firstIndex(), 4n);
  assert.equal(s.lastIndex(), 5n);
  s.append([entry(6, 5)]);
  assert.equal(s.lastIndex(), 6n);
  s.compact(4n);
  assert.equal(s.firstIndex(), 5n);
  assert.equal(s.lastIndex(), 6n);
});

test("compact: at or below the dummy is CompactedError; above keeps the term of the new dummy", () => {
  const cases: { i: number; err?: typeof CompactedError; first: number; dummyTerm: number; len: number }[] = [
    { i: 2, err: CompactedError, first: 4, dummyTerm: 3, len: 3 },
    { i: 3, err: CompactedError, first: 4, dummyTerm: 3, len: 3 },
    { i: 4, first: 5, dummyTerm: 4, len: 2 },
    { i: 5, first: 6, dummyTerm: 5, len: 1 },
  ];
  for (const c of cases) {
    const s = storageWith(entries(3, 3, 4, 5));
    if (c.err) assert.throws(() => s.compact(BigInt(c.i)), c.err);
    else s.compact(BigInt(c.i));
    assert.equal(s.firstIndex(), BigInt(c.first), `compact(${c.i})`);
    assert.equal(s.term(s.firstIndex() - 1n), BigInt(c.dummyTerm));
    assert.equal(contents(s).length, c.len);
  }
  assert.throws(() => storageWith(entries(3, 3, 4, 5)).compact(6n), AssertionError, "compact past lastIndex");
});

test("createSnapshot records index, term, confState and data; older ones are out of date", () => {
  const cs = { voters: [1n, 2n, 3n], learners: [] };
  for (const [i, term] of [
    [4, 4],
    [5, 5],
  ] as const) {
    const s = storageWith(entries(3, 3, 4, 5));
    const snap = s.createSnapshot(BigInt(i), cs, enc("data"));
    assert.equal(snap.metadata.index, BigInt(i));
    assert.equal(snap.metadata.term, BigInt(term));
    assert.deepEqual(snap.metadata.confState, cs);
    assert.deepEqual(s.snapshot(), snap);
  }
  const s = storageWith(entries(3, 3, 4, 5));
  assert.throws(() => s.createSnapshot(3n, cs, enc("")), SnapOutOfDateError, "at the current snapshot");
  s.createSnapshot(5n, cs, enc(""));
  assert.throws(
    () => s.createSnapshot(4n, cs, enc("")),
    SnapOutOfDateError,
    "older than the current snapshot",
  );
  assert.throws(() => storageWith(entries(3, 3, 4, 5)).createSnapshot(6n, cs, enc("")), AssertionError);
});

test("append truncates conflicting suffixes and skips compacted entries", () => {
  const cases: { name: string; ents: Entry[]; want: [number, number][] }[] = [
    {
      name: "same entries",
      ents: entries(3, 3, 4, 5),
      want: [
        [3, 3],
        [4, 4],
        [5, 5],
      ],
    },
    {
      name: "conflict at 4",
      ents: [entry(3, 3), entry(4, 6), entry(5, 6)],
      want: [
        [3, 3],
        [4, 6],
        [5, 6],
      ],
    },
    {
      name: "extends",
      ents: [...entries(3, 3, 4, 5), entry(6, 5)],
      want: [
        [3, 3],
        [4, 4],
        [5, 5],
        [6, 5],
      ],
    },
    {
      name: "starts compacted",
      ents: [entry(2, 3), entry(3, 3), entry(4, 5)],
      want: [
        [3, 3],
        [4, 5],
      ],
    },
    {
      name: "truncates at 4",
      ents: [entry(4, 5)],
      want: [
        [3, 3],
        [4, 5],
      ],
    },
    {
      name: "appends at end",
      ents: [entry(6, 5)],
      want: [
        [3, 3],
        [4, 4],
        [5, 5],
        [6, 5],
      ],
    },
    {
      name: "all compacted",
      ents: [entry(1, 1), entry(2, 2)],
      want: [
        [3, 3],
        [4, 4],
        [5, 5],
      ],
    },
  ];
  for (const c of cases) {
    const s = storageWith(entries(3, 3, 4, 5));
    s.append(c.ents);
    assert.deepEqual(contents(s), c.want, c.name);
  }
  assert.throws(
    () => storageWith(entries(3, 3, 4, 5)).append([entry(7, 5)]),
    AssertionError,
    "a gap is a bug",
  );
});

test("applySnapshot replaces the log; an older snapshot is out of date", () => {
  const s = storageWith(entries(3, 3, 4, 5));
  const snap = (i: bigint) => ({
    data: enc("x"),
    metadata: { index: i, term: i, confState: { voters: [1n, 2n], learners: [] } },
  });
  s.applySnapshot(snap(8n));
  assert.equal(s.firstIndex(), 9n);
  assert.equal(s.lastIndex(), 8n);
  assert.equal(s.term(8n), 8n);
  assert.deepEqual(s.initialState().confState.voters, [1n, 2n]);
  assert.throws(() => s.applySnapshot(snap(7n)), SnapOutOfDateError);
});

test("initialState returns copies of the hard state and the snapshot's confState", () => {
  const s = new MemoryStorage({ voters: [1n], learners: [2n] });
  s.setHardState({ term: 3n, vote: 1n, commit: 0n });
  const st = s.initialState();
  assert.deepEqual(st.hardState, { term: 3n, vote: 1n, commit: 0n });
  st.confState.voters.push(9n);
  assert.deepEqual(s.initialState().confState, { voters: [1n], learners: [2n] });
});

test("limitSize keeps a prefix within the byte limit but never returns nothing", () => {
  const ents = [entry(1, 1, "aaaa"), entry(2, 1, "bbbb"), entry(3, 1, "cccc")]; // 20 bytes each
  assert.equal(limitSize(ents, 0).length, 1);
  assert.equal(limitSize(ents, 39).length, 1);
  assert.equal(limitSize(ents, 40).length, 2);
  assert.equal(limitSize(ents, 60).length, 3);
  assert.deepEqual(limitSize([], 10), []);
});
