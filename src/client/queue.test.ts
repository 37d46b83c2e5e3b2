// Specifies the bounded queue behind watchers and keepalives: order, limits, ending, and early return.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AsyncQueue } from "./queue.js";

test("delivers in order, reports the limit, then ends with the error after the queued items", async () => {
  const q = new AsyncQueue<number>(2);
  assert.equal(q.push(1), true);
  assert.equal(q.push(2), false); // at the limit: the producer should pause
  q.end(new Error("boom"));
  assert.deepEqual(await q.next(), { value: 1, done: false });
  assert.deepEqual(await q.next(), { value: 2, done: false });
  await assert.rejects(q.next(), /boom/);
  assert.deepEqual(await q.next(), { value: undefined, done: true });
});

test("dropOldest keeps only the newest items", async () => {
  const q = new AsyncQueue<number>(2, { dropOldest: true });
  for (let i = 1; i <= 5; i++) q.push(i);
  assert.equal(q.size, 2);
  assert.deepEqual(await q.next(), { value: 4, done: false });
});

test("a waiting consumer gets the next push; return() ends and tells the producer", async () => {
  let returned = false;
  const q = new AsyncQueue<string>(4, { onReturn: () => (returned = true) });
  const next = q.next();
  q.push("x");
  assert.deepEqual(await next, { value: "x", done: false });
  q.push("y");
  q.push("z");
  for await (const item of { [Symbol.asyncIterator]: () => q }) {
    assert.equal(item, "y");
    break;
  }
  assert.ok(returned);
  assert.deepEqual(await q.next(), { value: undefined, done: true }); // "z" was discarded
});
