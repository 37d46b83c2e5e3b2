// Specifies the checker: each safety invariant accepts a correct history and throws on a violating one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStorage } from "../storage.js";
import type { Entry } from "../types.js";
import { Checker, InvariantViolation, type LogView } from "./checker.js";
import { proposalData, StateMachine } from "./statemachine.js";

const ent = (index: number, term: number, id = index): Entry => ({
  index: BigInt(index),
  term: BigInt(term),
  type: "Normal",
  data: proposalData(id),
});

/** A log view over [index, term] pairs starting at index 1. */
const view = (terms: number[]): LogView => ({
  firstIndex: () => 1n,
  lastIndex: () => BigInt(terms.length),
  term: (i) => (i === 0n ? 0n : BigInt(terms[Number(i) - 1]!)),
});

const violates = (f: () => void, re: RegExp): void =>
  assert.throws(f, (e: unknown) => e instanceof InvariantViolation && re.test(e.message));

test("election safety: one leader per term", () => {
  const c = new Checker();
  c.leader(3n, 1n, "MsgApp");
  c.leader(3n, 1n, "MsgHeartbeat");
  c.leader(4n, 2n, "became leader");
  violates(() => c.leader(3n, 2n, "MsgApp"), /two leaders in term 3/);
});

test("a node grants one vote per term", () => {
  const c = new Checker();
  c.voteGranted(1n, 5n, 2n);
  c.voteGranted(1n, 5n, 2n); // a duplicate response is fine
  c.voteGranted(1n, 6n, 3n);
  violates(() => c.voteGranted(1n, 5n, 3n), /n1 voted twice in term 5/);
});

test("log matching: same index and term means same data and same predecessor", () => {
  const c = new Checker();
  c.persisted(1n, [ent(1, 1), ent(2, 1), ent(3, 2)], 0n);
  c.persisted(2n, [ent(2, 1), ent(3, 2)], 1n);
  violates(() => c.persisted(3n, [ent(3, 2, 99)], 1n), /persisted 3@2 with different data/);
  violates(() => c.persisted(3n, [ent(3, 2)], 2n), /after term 2, elsewhere after term 1/);
  violates(() => c.persisted(3n, [ent(4, 1)], 2n), /terms must not decrease/);
});

test("state machine safety: every node applies the same entry at an index", () => {
  const c = new Checker();
  const a = new StateMachine();
  const b = new StateMachine();
  c.persisted(1n, [ent(1, 1)], 0n);
  c.persisted(2n, [ent(1, 2, 7)], 0n);
  a.apply(ent(1, 1));
  c.appliedEntry(1n, ent(1, 1), a);
  b.apply(ent(1, 2, 7));
  violates(() => c.appliedEntry(2n, ent(1, 2, 7), b), /committed entry 1 was term 1/);
});

test("a node may only apply what some node persisted", () => {
  const c = new Checker();
  const sm = new StateMachine();
  sm.apply(ent(1, 1));
  violates(() => c.appliedEntry(1n, ent(1, 1), sm), /no node ever persisted/);
});

test("leader completeness: a new leader holds every committed entry", () => {
  const c = new Checker();
  c.persisted(1n, [ent(1, 1), ent(2, 1), ent(3, 2)], 0n);
  c.commitAdvanced(1n, 3n, view([1, 1, 2]));
  c.becameLeader(2n, 3n, view([1, 1, 2, 3]));
  violates(() => c.becameLeader(3n, 4n, view([1, 1])), /lastIndex 2 < committed 3/);
  violates(() => c.becameLeader(3n, 4n, view([1, 1, 3])), /has 3@3, committed 3@2/);
});

test("durable hard state: term and commit never go back, a vote never changes within a term", () => {
  const c = new Checker();
  c.syncedHardState(1n, { term: 2n, vote: 3n, commit: 5n });
  c.syncedHardState(1n, { term: 3n, vote: 0n, commit: 6n });
  c.syncedHardState(1n, { term: 3n, vote: 2n, commit: 6n });
  violates(() => c.syncedHardState(1n, { term: 3n, vote: 1n, commit: 6n }), /vote in term 3 changed/);
  violates(() => c.syncedHardState(1n, { term: 2n, vote: 0n, commit: 6n }), /durable term went back/);
  violates(() => c.syncedHardState(1n, { term: 3n, vote: 2n, commit: 4n }), /durable commit went back/);
});

test("a restarting node must find its synced state and the committed entries on disk", () => {
  const c = new Checker();
  c.syncedHardState(1n, { term: 2n, vote: 1n, commit: 2n });
  const disk = new MemoryStorage();
  disk.append([ent(1, 1)]);
  disk.setHardState({ term: 2n, vote: 1n, commit: 1n });
  violates(() => c.restarting(1n, disk), /lost synced state/);
});

test("linearizable reads see every write acknowledged before they began; lease reads are only counted", () => {
  const c = new Checker();
  c.acked(10n);
  const bound = c.maxAcked;
  c.readReturned(1n, 1, bound, 10n, 12n, false);
  assert.equal(c.readsChecked, 1);
  violates(() => c.readReturned(1n, 2, bound, 9n, 9n, false), /stale read r2/);
  violates(() => c.readReturned(1n, 3, bound, 12n, 11n, false), /served at applied 11 < read index 12/);
  c.readReturned(1n, 4, bound, 9n, 9n, true);
  assert.equal(c.staleLeaseReads, 1);
});

test("two state machines that applied the same entries have the same digest, and survive a snapshot", () => {
  const a = new StateMachine();
  const b = new StateMachine();
  for (const e of [ent(1, 1), ent(2, 1), ent(3, 2)]) {
    a.apply(e);
    b.apply(e);
  }
  assert.equal(a.digest(), b.digest());
  assert.equal(StateMachine.decode(a.encode()).digest(), a.digest());
  b.apply(ent(4, 2));
  a.apply(ent(4, 2, 77));
  assert.notEqual(a.digest(), b.digest());
  assert.throws(() => a.apply(ent(6, 2)), /apply index 6 after applied 4/);
});
