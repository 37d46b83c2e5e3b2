// Specifies Inflights (the MAX_INFLIGHT_MSGS window) and the Progress probe/replicate/snapshot state machine.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AssertionError } from "./assert.js";
import { Inflights, Progress, type ProgressStateType } from "./progress.js";

function progress(opts: {
  state?: ProgressStateType;
  match?: number;
  next?: number;
  paused?: boolean;
  pending?: number;
}) {
  const p = new Progress(BigInt(opts.next ?? 1), 256, 0, false);
  p.match = BigInt(opts.match ?? 0);
  p.state = opts.state ?? "Probe";
  p.msgAppFlowPaused = opts.paused ?? false;
  p.pendingSnapshot = BigInt(opts.pending ?? 0);
  return p;
}

test("inflights: the window fills at its message limit and refuses more", () => {
  const in10 = new Inflights(10, 0);
  for (let i = 0; i < 5; i++) in10.add(BigInt(i), 1);
  assert.equal(in10.count(), 5);
  assert.equal(in10.full(), false);
  for (let i = 5; i < 10; i++) in10.add(BigInt(i), 1);
  assert.equal(in10.count(), 10);
  assert.equal(in10.full(), true, "limit hit");
  assert.throws(() => in10.add(10n, 1), AssertionError, "adding to a full window is a bug");
});

test("inflights: freeLE frees every message up to an index", () => {
  const w = new Inflights(10, 0);
  for (let i = 0; i < 10; i++) w.add(BigInt(i), 1);
  const steps: [number, number][] = [
    [0, 9],
    [4, 5],
    [4, 5], // already freed
    [8, 1],
    [9, 0],
  ];
  for (const [to, left] of steps) {
    w.freeLE(BigInt(to));
    assert.equal(w.count(), left, `freeLE(${to})`);
  }
  assert.equal(w.full(), false);
});

test("inflights: the byte limit fills the window too", () => {
  const w = new Inflights(10, 100);
  w.add(1n, 50);
  w.add(2n, 49);
  assert.equal(w.full(), false);
  w.add(3n, 1);
  assert.equal(w.full(), true, "100 bytes in flight reach maxBytes");
  w.freeLE(1n);
  assert.equal(w.full(), false);
  w.reset();
  assert.equal(w.count(), 0);
});

test("inflights: indexes must grow", () => {
  const w = new Inflights(4, 0);
  w.add(5n, 1);
  assert.throws(() => w.add(5n, 1), AssertionError);
});

test("isPaused: probe and replicate pause on the flag, snapshot always", () => {
  const cases: [ProgressStateType, boolean, boolean][] = [
    ["Probe", false, false],
    ["Probe", true, true],
    ["Replicate", false, false],
    ["Replicate", true, true],
    ["Snapshot", false, true],
    ["Snapshot", true, true],
  ];
  for (const [state, paused, want] of cases)
    assert.equal(progress({ state, paused }).isPaused(), want, `${state} ${paused}`);
});

test("a rejection or an ack resumes a paused probe", () => {
  const p = progress({ next: 2, paused: true });
  p.maybeDecrTo(1n, 1n);
  assert.equal(p.msgAppFlowPaused, false);
  p.msgAppFlowPaused = true;
  p.maybeUpdate(2n);
  assert.equal(p.msgAppFlowPaused, false);
});

test("becomeProbe resumes after match, or after a pending snapshot", () => {
  const cases: { p: Progress; next: number }[] = [
    { p: progress({ state: "Replicate", match: 1, next: 5 }), next: 2 },
    { p: progress({ state: "Snapshot", match: 1, next: 5, pending: 10 }), next: 11 },
    { p: progress({ state: "Snapshot", match: 1, next: 5, pending: 0 }), next: 2 },
  ];
  for (const c of cases) {
    c.p.becomeProbe();
    assert.equal(c.p.state, "Probe");
    assert.equal(c.p.match, 1n);
    assert.equal(c.p.next, BigInt(c.next));
  }
});

test("becomeReplicate sends from match+1; becomeSnapshot waits for the snapshot", () => {
  const p = progress({ match: 1, next: 5 });
  p.becomeReplicate();
  assert.equal(p.state, "Replicate");
  assert.equal(p.next, 2n);
  const s = progress({ match: 1, next: 5 });
  s.becomeSnapshot(10n);
  assert.equal(s.state, "Snapshot");
  assert.equal(s.match, 1n);
  assert.equal(s.pendingSnapshot, 10n);
  assert.equal(s.next, 11n);
  assert.equal(s.isPaused(), true);
});

test("maybeUpdate moves match forward only", () => {
  const cases: [number, number, number, boolean][] = [
    // update, want match, want next, want ok   (from match=3, next=5)
    [2, 3, 5, false],
    [3, 3, 5, false],
    [4, 4, 5, true],
    [5, 5, 6, true],
    [6, 6, 7, true],
  ];
  for (const [n, match, next, ok] of cases) {
    const p = progress({ match: 3, next: 5 });
    assert.equal(p.maybeUpdate(BigInt(n)), ok, `update(${n})`);
    assert.equal(p.match, BigInt(match));
    assert.equal(p.next, BigInt(next));
  }
});

test("maybeDecrTo: stale rejections are ignored; probes jump to the hint", () => {
  const cases: {
    state: ProgressStateType;
    m: number;
    n: number;
    rejected: number;
    hint: number;
    ok: boolean;
    next: number;
  }[] = [
    { state: "Replicate", m: 5, n: 10, rejected: 5, hint: 5, ok: false, next: 10 },
    { state: "Replicate", m: 5, n: 10, rejected: 4, hint: 4, ok: false, next: 10 },
    { state: "Replicate", m: 5, n: 10, rejected: 9, hint: 9, ok: true, next: 6 },
    { state: "Probe", m: 0, n: 0, rejected: 0, hint: 0, ok: false, next: 0 },
    { state: "Probe", m: 0, n: 10, rejected: 5, hint: 5, ok: false, next: 10 },
    { state: "Probe", m: 0, n: 10, rejected: 9, hint: 9, ok: true, next: 9 },
    { state: "Probe", m: 0, n: 2, rejected: 1, hint: 1, ok: true, next: 1 },
    { state: "Probe", m: 0, n: 1, rejected: 0, hint: 0, ok: true, next: 1 },
    { state: "Probe", m: 0, n: 10, rejected: 9, hint: 2, ok: true, next: 3 },
    { state: "Probe", m: 0, n: 10, rejected: 9, hint: 0, ok: true, next: 1 },
  ];
  for (const [i, c] of cases.entries()) {
    const p = progress({ state: c.state, match: c.m, next: c.n });
    assert.equal(p.maybeDecrTo(BigInt(c.rejected), BigInt(c.hint)), c.ok, `case ${i}`);
    assert.equal(p.match, BigInt(c.m), `case ${i} match`);
    assert.equal(p.next, BigInt(c.next), `case ${i} next`);
  }
});

test("updateOnEntriesSend: replicate advances next optimistically and pauses on a full window", () => {
  const p = new Progress(5n, 2, 0, false);
  p.becomeReplicate(); // match 0, next 1
  p.updateOnEntriesSend(3, 30, 1n);
  assert.equal(p.next, 4n);
  assert.equal(p.isPaused(), false);
  p.updateOnEntriesSend(1, 10, 4n);
  assert.equal(p.next, 5n);
  assert.equal(p.inflights.full(), true);
  assert.equal(p.isPaused(), true, "maxInflightMsgs hit");
  p.maybeUpdate(3n);
  p.inflights.freeLE(3n);
  assert.equal(p.isPaused(), false);
});

test("updateOnEntriesSend: a probe with entries pauses until answered; an empty one does not", () => {
  const p = progress({ next: 5 });
  p.updateOnEntriesSend(0, 0, 5n);
  assert.equal(p.isPaused(), false);
  p.updateOnEntriesSend(2, 2, 5n);
  assert.equal(p.isPaused(), true);
  assert.equal(p.next, 5n, "a probe does not move next");
  const s = progress({ state: "Snapshot" });
  assert.throws(() => s.updateOnEntriesSend(1, 1, 1n), AssertionError);
});
