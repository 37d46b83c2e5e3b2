// Specifies RaftLog: conflicts, maybeAppend, commit/apply cursors, slicing across storage and unstable, restore.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AssertionError } from "./assert.js";
import { RaftLog } from "./log.js";
import { CompactedError, MemoryStorage } from "./storage.js";
import { entries, entry, snapshotOf } from "./testing/fixtures.js";
import type { Entry } from "./types.js";

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** A log over a storage holding `stable` (after an optional snapshot), then `unstable` appended in memory. */
function newLog(opts: { snap?: [number, number]; stable?: Entry[]; unstable?: Entry[] } = {}): RaftLog {
  const s = new MemoryStorage({ voters: [1n], learners: [] });
  if (opts.snap) s.applySnapshot(snapshotOf(opts.snap[0], opts.snap[1], [1]));
  if (opts.stable) s.append(opts.stable);
  const log = new RaftLog(s, NO_LIMIT);
  if (opts.unstable) log.append(opts.unstable);
  return log;
}

const terms = (ents: Entry[]): number[] => ents.map((e) => Number(e.term));
const indexes = (ents: Entry[]): number[] => ents.map((e) => Number(e.index));
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

test("findConflict returns the first index whose term differs (or is new), 0 if none", () => {
  const prev = entries(1, 1, 2, 3);
  const cases: { ents: Entry[]; want: number }[] = [
    { ents: [], want: 0 },
    { ents: entries(1, 1, 2, 3), want: 0 },
    { ents: entries(2, 2, 3), want: 0 },
    { ents: entries(3, 3), want: 0 },
    { ents: entries(1, 1, 2, 3, 4, 4), want: 4 },
    { ents: entries(2, 2, 3, 4, 4), want: 4 },
    { ents: entries(3, 3, 4, 4), want: 4 },
    { ents: entries(4, 4, 4), want: 4 },
    { ents: entries(1, 4, 4), want: 1 },
    { ents: entries(2, 1, 4, 4), want: 2 },
    { ents: entries(3, 1, 2, 4, 4), want: 3 },
  ];
  for (const c of cases) {
    const log = newLog({ unstable: prev });
    assert.equal(log.findConflict(c.ents), BigInt(c.want), JSON.stringify(indexes(c.ents)) + terms(c.ents));
  }
});

test("findConflictByTerm returns the last index <= index with term <= term", () => {
  // [first entry index, its term as the snapshot/dummy, then terms of following entries]
  const fromOne = { unstable: entries(1, 2, 2, 5, 5, 5) };
  const compacted = { snap: [10, 3] as [number, number], unstable: entries(11, 3, 3, 4, 4, 4) };
  const cases: {
    log: Parameters<typeof newLog>[0];
    index: number;
    term: number;
    want: number;
    wantTerm: number;
  }[] = [
    { log: fromOne, index: 100, term: 2, want: 100, wantTerm: 0 }, // unavailable: assume a match
    { log: fromOne, index: 5, term: 6, want: 5, wantTerm: 5 },
    { log: fromOne, index: 5, term: 5, want: 5, wantTerm: 5 },
    { log: fromOne, index: 5, term: 4, want: 2, wantTerm: 2 },
    { log: fromOne, index: 5, term: 2, want: 2, wantTerm: 2 },
    { log: fromOne, index: 5, term: 1, want: 0, wantTerm: 0 },
    { log: fromOne, index: 1, term: 2, want: 1, wantTerm: 2 },
    { log: fromOne, index: 1, term: 1, want: 0, wantTerm: 0 },
    { log: fromOne, index: 0, term: 0, want: 0, wantTerm: 0 },
    { log: compacted, index: 30, term: 3, want: 30, wantTerm: 0 },
    { log: compacted, index: 14, term: 9, want: 14, wantTerm: 4 },
    { log: compacted, index: 14, term: 4, want: 14, wantTerm: 4 },
    { log: compacted, index: 14, term: 3, want: 12, wantTerm: 3 },
    { log: compacted, index: 14, term: 2, want: 9, wantTerm: 0 }, // compacted: assume a match
    { log: compacted, index: 11, term: 5, want: 11, wantTerm: 3 },
    { log: compacted, index: 10, term: 5, want: 10, wantTerm: 3 },
    { log: compacted, index: 10, term: 3, want: 10, wantTerm: 3 },
    { log: compacted, index: 10, term: 2, want: 9, wantTerm: 0 },
    { log: compacted, index: 9, term: 2, want: 9, wantTerm: 0 },
    { log: compacted, index: 4, term: 2, want: 4, wantTerm: 0 },
    { log: compacted, index: 0, term: 0, want: 0, wantTerm: 0 },
  ];
  for (const c of cases) {
    const got = newLog(c.log).findConflictByTerm(BigInt(c.index), BigInt(c.term));
    assert.deepEqual(got, [BigInt(c.want), BigInt(c.wantTerm)], `index ${c.index} term ${c.term}`);
  }
});

test("isUpToDate compares last term first, then last index (Raft §5.4.1)", () => {
  const log = newLog({ unstable: entries(1, 1, 2, 3) });
  const last = 3;
  const cases: [number, number, boolean][] = [
    [last - 1, 4, true],
    [last, 4, true],
    [last + 1, 4, true],
    [last - 1, 2, false],
    [last, 2, false],
    [last + 1, 2, false],
    [last - 1, 3, false],
    [last, 3, true],
    [last + 1, 3, true],
  ];
  for (const [i, t, want] of cases) assert.equal(log.isUpToDate(BigInt(i), BigInt(t)), want, `(${i}, ${t})`);
});

test("append truncates a conflicting suffix and moves the unstable offset", () => {
  const cases: { ents: Entry[]; last: number; terms: number[]; offset: number }[] = [
    { ents: [], last: 2, terms: [1, 2], offset: 3 },
    { ents: [entry(3, 2)], last: 3, terms: [1, 2, 2], offset: 3 },
    { ents: [entry(1, 2)], last: 1, terms: [2], offset: 1 },
    { ents: entries(2, 3, 3), last: 3, terms: [1, 3, 3], offset: 2 },
  ];
  for (const c of cases) {
    const log = newLog({ stable: entries(1, 1, 2) });
    assert.equal(log.append(c.ents), BigInt(c.last));
    assert.deepEqual(terms(log.allEntries()), c.terms);
    assert.equal(log.unstable.offset, BigInt(c.offset));
  }
  const log = newLog({ stable: entries(1, 1, 2) });
  log.commitTo(2n);
  assert.throws(() => log.append([entry(2, 3)]), AssertionError, "rewriting a committed entry is a bug");
});

test("maybeAppend: matches (index, logTerm), appends past conflicts, commits min(commit, last new)", () => {
  const lastIndex = 3;
  const lastTerm = 3;
  const commit = 1;
  type Case = {
    logTerm: number;
    index: number;
    committed: number;
    ents: Entry[];
    last?: number;
    commit: number;
    panic?: boolean;
  };
  const cases: Case[] = [
    // no match: term differs / index out of range
    { logTerm: lastTerm - 1, index: lastIndex, committed: lastIndex, ents: [entry(4, 4)], commit },
    { logTerm: lastTerm, index: lastIndex + 1, committed: lastIndex, ents: [entry(5, 4)], commit },
    // match the last entry
    { logTerm: lastTerm, index: lastIndex, committed: lastIndex, ents: [], last: 3, commit: 3 },
    { logTerm: lastTerm, index: lastIndex, committed: lastIndex + 1, ents: [], last: 3, commit: 3 },
    { logTerm: lastTerm, index: lastIndex, committed: lastIndex - 1, ents: [], last: 3, commit: 2 },
    { logTerm: lastTerm, index: lastIndex, committed: 0, ents: [], last: 3, commit: 1 }, // never decreases
    { logTerm: 0, index: 0, committed: lastIndex, ents: [], last: 0, commit: 1 },
    { logTerm: lastTerm, index: lastIndex, committed: lastIndex, ents: [entry(4, 4)], last: 4, commit: 3 },
    {
      logTerm: lastTerm,
      index: lastIndex,
      committed: lastIndex + 1,
      ents: [entry(4, 4)],
      last: 4,
      commit: 4,
    },
    {
      logTerm: lastTerm,
      index: lastIndex,
      committed: lastIndex + 2,
      ents: [entry(4, 4)],
      last: 4,
      commit: 4,
    },
    {
      logTerm: lastTerm,
      index: lastIndex,
      committed: lastIndex + 2,
      ents: entries(4, 4, 4),
      last: 5,
      commit: 5,
    },
    // match in the middle
    {
      logTerm: lastTerm - 1,
      index: lastIndex - 1,
      committed: lastIndex,
      ents: [entry(3, 4)],
      last: 3,
      commit: 3,
    },
    {
      logTerm: lastTerm - 2,
      index: lastIndex - 2,
      committed: lastIndex,
      ents: [entry(2, 4)],
      last: 2,
      commit: 2,
    },
    {
      logTerm: lastTerm - 3,
      index: lastIndex - 3,
      committed: lastIndex,
      ents: [entry(1, 4)],
      commit: 1,
      panic: true,
    },
    {
      logTerm: lastTerm - 2,
      index: lastIndex - 2,
      committed: lastIndex,
      ents: entries(2, 4, 4),
      last: 3,
      commit: 3,
    },
  ];
  for (const [n, c] of cases.entries()) {
    const log = newLog({ unstable: entries(1, 1, 2, 3) });
    log.committed = BigInt(commit);
    const run = () => log.maybeAppend(BigInt(c.index), BigInt(c.logTerm), BigInt(c.committed), c.ents);
    if (c.panic) {
      assert.throws(run, AssertionError, `case ${n}: conflict with a committed entry`);
      continue;
    }
    const got = run();
    assert.equal(got, c.last === undefined ? undefined : BigInt(c.last), `case ${n} last`);
    assert.equal(log.committed, BigInt(c.commit), `case ${n} commit`);
    if (got !== undefined && c.ents.length > 0) {
      const tail = log.slice(log.lastIndex() - BigInt(c.ents.length) + 1n, log.lastIndex() + 1n, NO_LIMIT);
      assert.deepEqual(tail, c.ents, `case ${n} entries`);
    }
  }
});

test("commitTo never decreases and never passes the last index", () => {
  const log = newLog({ unstable: entries(1, 1, 2, 3) });
  log.commitTo(2n);
  log.commitTo(3n);
  assert.equal(log.committed, 3n);
  log.commitTo(1n);
  assert.equal(log.committed, 3n);
  assert.throws(() => log.commitTo(4n), AssertionError);
});

test("maybeCommit only commits an index whose entry has the given (current) term", () => {
  const log = newLog({ unstable: entries(1, 1, 2, 2, 3) });
  assert.equal(log.maybeCommit(3n, 3n), false, "entry 3 is of term 2");
  assert.equal(log.committed, 0n);
  assert.equal(log.maybeCommit(4n, 3n), true);
  assert.equal(log.committed, 4n);
  assert.equal(log.maybeCommit(2n, 2n), false, "never backwards");
});

test("appliedTo stays within [applied, committed]", () => {
  const log = newLog({ unstable: entries(1, 1, 1, 1) });
  log.commitTo(2n);
  log.appliedTo(2n);
  assert.equal(log.applied, 2n);
  assert.equal(log.applying, 2n);
  assert.throws(() => log.appliedTo(3n), AssertionError, "beyond committed");
  assert.throws(() => log.appliedTo(1n), AssertionError, "backwards");
});

test("nextCommittedEnts hands out committed entries after applying, none while a snapshot is pending", () => {
  const cases: { applied: number; applying: number; snap?: boolean; want: number[] }[] = [
    { applied: 3, applying: 3, want: [4, 5] },
    { applied: 3, applying: 4, want: [5] },
    { applied: 3, applying: 5, want: [] },
    { applied: 4, applying: 4, want: [5] },
    { applied: 4, applying: 5, want: [] },
    { applied: 5, applying: 5, want: [] },
    { applied: 3, applying: 3, snap: true, want: [] },
  ];
  for (const c of cases) {
    const log = newLog({ snap: [3, 1], stable: [entry(4, 1)], unstable: entries(5, 1, 1) });
    log.stableTo(4n, 1n);
    log.maybeCommit(5n, 1n);
    log.appliedTo(BigInt(c.applied));
    log.acceptApplying(BigInt(c.applying));
    if (c.snap) log.restore(snapshotOf(4, 1, [1]));
    assert.deepEqual(indexes(log.nextCommittedEnts()), c.want, JSON.stringify(c));
    assert.equal(log.hasNextCommittedEnts(), c.want.length > 0, JSON.stringify(c));
  }
});

test("nextCommittedEnts respects maxApplyingEntsSize (at least one entry)", () => {
  const s = new MemoryStorage({ voters: [1n], learners: [] });
  const log = new RaftLog(s, 20);
  log.append([entry(1, 1, "aaaa"), entry(2, 1, "bbbb"), entry(3, 1, "cccc")]);
  log.commitTo(3n);
  assert.deepEqual(indexes(log.nextCommittedEnts()), [1]);
  log.acceptApplying(1n);
  assert.deepEqual(indexes(log.nextCommittedEnts()), [2]);
});

test("nextUnstableEnts and acceptUnstable track what is being persisted", () => {
  const log = newLog({ stable: entries(1, 1, 2) });
  log.append(entries(3, 3, 3));
  assert.deepEqual(indexes(log.nextUnstableEnts()), [3, 4]);
  log.acceptUnstable();
  assert.equal(log.hasNextUnstableEnts(), false);
  log.stableTo(4n, 3n);
  assert.equal(log.unstable.offset, 5n);
  log.stableTo(4n, 2n); // stale: no effect
  assert.equal(log.unstable.offset, 5n);
});

test("term is known for [firstIndex-1, lastIndex] only", () => {
  const offset = 100;
  const log = newLog({ snap: [offset, 1] });
  for (let i = 1; i < 100; i++) log.append([entry(offset + i, i)]);
  assert.throws(() => log.term(BigInt(offset - 1)), CompactedError);
  assert.equal(log.termOrZero(BigInt(offset - 1)), 0n);
  assert.equal(log.term(BigInt(offset)), 1n);
  assert.equal(log.term(BigInt(offset + 50)), 50n);
  assert.equal(log.term(BigInt(offset + 99)), 99n);
  assert.equal(log.termOrZero(BigInt(offset + 100)), 0n);
});

test("a log over a compacted storage starts committed and applied at the snapshot", () => {
  const log = newLog({ snap: [1000, 1000] });
  assert.equal(log.allEntries().length, 0);
  assert.equal(log.firstIndex(), 1001n);
  assert.equal(log.lastIndex(), 1000n);
  assert.equal(log.committed, 1000n);
  assert.equal(log.applied, 1000n);
  assert.equal(log.unstable.offset, 1001n);
  assert.equal(log.term(1000n), 1000n);
});

test("restore replaces the log with a pending snapshot", () => {
  const log = newLog({ stable: entries(1, 1, 1, 2) });
  log.commitTo(2n);
  log.restore(snapshotOf(10, 5, [1]));
  assert.equal(log.committed, 10n);
  assert.equal(log.firstIndex(), 11n);
  assert.equal(log.lastIndex(), 10n);
  assert.equal(log.term(10n), 5n);
  assert.equal(log.lastTerm(), 5n);
  assert.ok(log.hasNextOrInProgressSnapshot());
  assert.equal(log.nextUnstableSnapshot()?.metadata.index, 10n);
  assert.deepEqual(log.nextCommittedEnts(), []);
  assert.ok(log.matchTerm(10n, 5n));
  assert.equal(log.matchTerm(3n, 2n), false, "old entries are gone");
});

test("slice spans storage and unstable entries and honours the size limit", () => {
  const offset = 100;
  const half = 150;
  const last = 200;
  const log = newLog({
    snap: [offset, offset],
    stable: range(offset + 1, half).map((i) => entry(i, i)),
    unstable: range(half, last).map((i) => entry(i, i)),
  });
  const one = 16; // entrySize of an empty entry
  const cases: { lo: number; hi: number; lim: number; want?: number[]; err?: "compacted" | "panic" }[] = [
    { lo: offset - 1, hi: offset + 1, lim: NO_LIMIT, err: "compacted" },
    { lo: offset, hi: offset + 1, lim: NO_LIMIT, err: "compacted" },
    { lo: half, hi: half - 1, lim: NO_LIMIT, err: "panic" },
    { lo: last, hi: last + 1, lim: NO_LIMIT, err: "panic" },
    { lo: offset + 1, hi: offset + 1, lim: NO_LIMIT, want: [] },
    { lo: offset + 1, hi: half - 1, lim: NO_LIMIT, want: range(offset + 1, half - 1) },
    { lo: offset + 1, hi: half, lim: NO_LIMIT, want: range(offset + 1, half) },
    { lo: offset + 1, hi: half + 1, lim: NO_LIMIT, want: range(offset + 1, half + 1) },
    { lo: offset + 1, hi: last, lim: NO_LIMIT, want: range(offset + 1, last) },
    { lo: half - 1, hi: half, lim: NO_LIMIT, want: [half - 1] },
    { lo: half - 1, hi: half + 1, lim: NO_LIMIT, want: [half - 1, half] },
    { lo: half, hi: last, lim: NO_LIMIT, want: range(half, last) },
    { lo: last - 1, hi: last, lim: NO_LIMIT, want: [last - 1] },
    // at least one entry
    { lo: offset + 1, hi: last, lim: 0, want: [offset + 1] },
    { lo: half - 1, hi: half + 1, lim: 0, want: [half - 1] },
    { lo: half, hi: last, lim: 0, want: [half] },
    { lo: half + 1, hi: last, lim: 0, want: [half + 1] },
    // limits just below, at and above whole entries
    { lo: offset + 1, hi: last, lim: one - 1, want: [offset + 1] },
    { lo: half - 1, hi: half + 1, lim: one - 1, want: [half - 1] },
    { lo: offset + 1, hi: last, lim: one, want: [offset + 1] },
    { lo: half - 2, hi: half + 1, lim: one, want: [half - 2] },
    { lo: half, hi: last, lim: one, want: [half] },
    { lo: offset + 1, hi: last, lim: 3 * one, want: range(offset + 1, offset + 4) },
    { lo: half - 2, hi: half + 1, lim: 3 * one, want: range(half - 2, half + 1) },
    { lo: half - 1, hi: half + 1, lim: 3 * one, want: [half - 1, half] },
    { lo: half, hi: last, lim: 3 * one, want: range(half, half + 3) },
    { lo: half - 1, hi: half + 1, lim: 1, want: [half - 1] },
  ];
  for (const c of cases) {
    const run = () => log.slice(BigInt(c.lo), BigInt(c.hi), c.lim);
    const name = `slice(${c.lo}, ${c.hi}, ${c.lim})`;
    if (c.err === "compacted") assert.throws(run, CompactedError, name);
    else if (c.err === "panic") assert.throws(run, AssertionError, name);
    else assert.deepEqual(indexes(run()), c.want, name);
  }
});
