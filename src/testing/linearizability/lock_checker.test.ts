// Specifies the lock check: holders whose guarded writes succeeded never overlap in real time nor interleave
// in revision order; a holder that lost its lease without knowing it is not a violation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLocks, type GuardedWrite, type LockTenure } from "./lock_checker.js";
import { PENDING } from "./model.js";

const ok = (call: number, ret: number, revision?: bigint): GuardedWrite => ({
  call,
  return: ret,
  succeeded: true,
  revision,
});
const failed = (call: number, ret: number): GuardedWrite => ({ call, return: ret, succeeded: false });
const tenure = (
  holder: string,
  lockRevision: bigint,
  acquiredAt: number,
  releasedAt: number,
  guarded: GuardedWrite[],
): LockTenure => ({ holder, lockRevision, acquiredAt, releasedAt, guarded });

test("lock: holders one after another are fine", () => {
  const res = checkLocks([
    tenure("a", 2n, 0, 10, [ok(1, 2, 3n), ok(5, 6, 4n)]),
    tenure("b", 5n, 11, 20, [ok(12, 13, 7n)]),
    tenure("c", 6n, 21, PENDING, [ok(22, 23, 8n)]),
  ]);
  assert.deepEqual(res.violations, []);
});

test("lock: two holders writing under the lock at once", () => {
  const res = checkLocks([
    tenure("a", 2n, 0, 20, [ok(1, 2, 3n), ok(15, 16, 6n)]),
    tenure("b", 4n, 5, 12, [ok(6, 7, 5n)]),
  ]);
  assert.equal(res.ok, false);
  assert.match(res.violations.join("\n"), /holder a .* and holder b .* both guarded writes succeeded/);
  assert.match(
    res.violations.join("\n"),
    /holder a \(lock revision 2\), earlier in the queue, still wrote under it at revision 6/,
  );
});

test("lock: a holder whose lease expired keeps thinking it holds the lock; its guarded writes then fail", () => {
  // a acquired, wrote, was paused (SIGSTOP) past its lease; b acquired and wrote; a woke, its write failed,
  // and a only then called release: the [acquire, release] intervals overlap, but nothing went wrong.
  const res = checkLocks([
    tenure("a", 2n, 0, 30, [ok(1, 2, 3n), failed(25, 26)]),
    tenure("b", 4n, 10, 40, [ok(11, 12, 5n), ok(27, 28, 6n)]),
  ]);
  assert.deepEqual(res.violations, []);
});

test("lock: a response that arrives late is not an overlap", () => {
  // a's write took effect before b acquired, but its response came back after b's write.
  const res = checkLocks([
    tenure("a", 2n, 0, 30, [ok(1, 20, 3n)]),
    tenure("b", 4n, 10, 40, [ok(11, 12, 5n)]),
  ]);
  assert.deepEqual(res.violations, []);
});

test("lock: guarded writes out of queue order by revision", () => {
  // In real time nothing proves an overlap, but b (later in the queue) wrote before a did.
  const res = checkLocks([tenure("a", 2n, 0, 10, [ok(1, 30, 9n)]), tenure("b", 4n, 5, 40, [ok(6, 35, 7n)])]);
  assert.match(res.violations.join("\n"), /holder b .* wrote under the lock at revision 7/);
});

test("lock: guarded writes with unknown outcomes prove nothing", () => {
  const lost: GuardedWrite = { call: 15, return: PENDING, succeeded: true };
  const res = checkLocks([
    tenure("a", 2n, 0, 20, [ok(1, 2, 3n), lost]),
    tenure("b", 4n, 5, 12, [ok(6, 7, 5n)]),
  ]);
  assert.deepEqual(res.violations, []);
});

test("lock: two tenures with one lock revision", () => {
  const res = checkLocks([tenure("a", 2n, 0, 1, []), tenure("b", 2n, 2, 3, [])]);
  assert.match(res.violations.join(), /share a lock revision/);
});
