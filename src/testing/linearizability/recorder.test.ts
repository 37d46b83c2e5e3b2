// Specifies the history recorder: monotonic instants, unknown outcomes as pending, not-applied failures left
// out, misuse caught, the JSON round trip, and the post-mortem file written when a check fails.
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { test } from "node:test";
import { assertEtcdHistory, NotLinearizableError } from "./etcd_check.js";
import type { EtcdInput, EtcdOutput } from "./etcd_types.js";
import { PENDING } from "./model.js";
import { HistoryRecorder, parseHistory, readHistoryFile, stringifyHistory } from "./recorder.js";

test("begin/end record call and return on a monotonic clock", () => {
  const rec = new HistoryRecorder<EtcdInput, EtcdOutput>("t");
  const a = rec.begin(1, { op: "put", key: "k", value: "v" });
  const b = rec.begin(2, { op: "get", key: "k" });
  rec.end(b, { op: "get", value: null, modRevision: 0n, revision: 1n });
  rec.end(a, { op: "put", revision: 2n });
  const [pa, pb] = rec.operations();
  assert.ok(pa!.call <= pb!.call && pb!.call <= pb!.return && pb!.return <= pa!.return);
  assert.deepEqual(pa!.output, { op: "put", revision: 2n });
  assert.equal(pb!.clientId, 2);
});

test("a failure with an unknown outcome stays pending; a definite one is left out", () => {
  const rec = new HistoryRecorder<EtcdInput, EtcdOutput>("t");
  const a = rec.begin(1, { op: "put", key: "k", value: "1" });
  const b = rec.begin(1, { op: "put", key: "k", value: "2" });
  const c = rec.begin(1, { op: "put", key: "k", value: "3" });
  rec.fail(a, new Error("deadline exceeded"));
  rec.fail(b, new Error("too many requests"), { definitelyNotApplied: true });
  const ops = rec.operations();
  assert.deepEqual(
    ops.map((o) => [o.id, o.return === PENDING, o.output]),
    [
      [a, true, undefined],
      [c, true, undefined], // never ended: pending too
    ],
  );
  const file = rec.toJSON();
  assert.equal(file.operations[a]!.error, "Error: deadline exceeded");
  assert.ok(file.operations[a]!.failedAt! >= file.operations[a]!.call);
  assert.equal(file.operations[b]!.notApplied, true);
});

test("ending an operation twice, or one never begun, is a bug", () => {
  const rec = new HistoryRecorder<EtcdInput, EtcdOutput>("t");
  const a = rec.begin(1, { op: "delete", key: "k" });
  rec.end(a, { op: "delete", deleted: 0, revision: 1n });
  assert.throws(() => rec.end(a, { op: "delete", deleted: 0, revision: 1n }), /not begun or already ended/);
  assert.throws(() => rec.fail(42, new Error("x")), /not begun or already ended/);
});

test("record() wraps a call and rethrows its error", async () => {
  const rec = new HistoryRecorder<EtcdInput, EtcdOutput>("t");
  const out = await rec.record(1, { op: "put", key: "k", value: "v" }, async () => ({
    op: "put",
    revision: 2n,
  }));
  assert.deepEqual(out, { op: "put", revision: 2n });
  await assert.rejects(
    rec.record(
      1,
      { op: "get", key: "k" },
      async () => Promise.reject(new Error("unavailable")),
      () => true,
    ),
    /unavailable/,
  );
  assert.equal(rec.operations().length, 1);
  assert.equal(rec.size, 2);
});

test("histories round-trip through JSON with bigints and pending returns", () => {
  const rec = new HistoryRecorder<EtcdInput, EtcdOutput>("round trip");
  const a = rec.begin("c1", {
    op: "cas",
    key: "k",
    compare: { target: "mod", modRevision: 12345678901234567890n },
    value: "v",
  });
  rec.fail(a, new Error("timeout"));
  const b = rec.begin("c2", { op: "get", key: "k" });
  rec.end(b, { op: "get", value: "v", modRevision: 3n, revision: 9n });
  const text = stringifyHistory(rec.toJSON({ why: "test" }));
  const back = parseHistory<EtcdInput, EtcdOutput>(text);
  assert.equal(stringifyHistory(back), text);
  assert.deepEqual(back.operations[1]!.output, { op: "get", value: "v", modRevision: 3n, revision: 9n });
  assert.equal(
    back.operations[0]!.input.op === "cas" && back.operations[0]!.input.compare.target === "mod"
      ? back.operations[0]!.input.compare.modRevision
      : 0n,
    12345678901234567890n,
  );
  assert.equal(back.operations[0]!.return, PENDING);
  assert.deepEqual(back.notes, { why: "test" });
  assert.throws(() => parseHistory('{"format":"other"}'), /not a history file/);
});

test("a failed check writes the history to a temp file and names it in the error", () => {
  const rec = new HistoryRecorder<EtcdInput, EtcdOutput>("stale read");
  const put = rec.begin(1, { op: "put", key: "k", value: "v" });
  rec.end(put, { op: "put", revision: 2n });
  const get = rec.begin(2, { op: "get", key: "k" });
  rec.end(get, { op: "get", value: null, modRevision: 0n, revision: 2n });
  const logged: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args.join(" "));
  let err: unknown;
  try {
    assertEtcdHistory(rec);
  } catch (e) {
    err = e;
  } finally {
    console.error = original;
  }
  assert.ok(err instanceof NotLinearizableError);
  assert.match(err.message, /stale read: history is illegal/);
  assert.match(err.message, /cannot linearize next/);
  assert.ok(existsSync(err.historyPath));
  assert.match(String(logged[0]), new RegExp(err.historyPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  const file = readHistoryFile<EtcdInput, EtcdOutput>(err.historyPath);
  assert.equal(file.operations.length, 2);
  assert.equal(file.notes?.result, "illegal");
  rmSync(dirname(err.historyPath), { recursive: true, force: true });
});
