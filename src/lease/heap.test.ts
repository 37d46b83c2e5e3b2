// Specifies the deadline heap against a model: earliest-first pops, upserts that move a deadline, removals.

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { DeadlineHeap } from "./heap.js";

type Op = { t: "upsert"; id: number; time: number } | { t: "pop" } | { t: "remove"; id: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    t: fc.constant("upsert" as const),
    id: fc.integer({ min: 0, max: 20 }),
    time: fc.integer({ min: 0, max: 50 }),
  }),
  fc.record({ t: fc.constant("pop" as const) }),
  fc.record({ t: fc.constant("remove" as const), id: fc.integer({ min: 0, max: 20 }) }),
);

test("the heap behaves like a map of id -> time popped in time order", () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const heap = new DeadlineHeap();
      const model = new Map<bigint, number>();
      for (const o of ops) {
        if (o.t === "upsert") {
          heap.upsert(BigInt(o.id), o.time);
          model.set(BigInt(o.id), o.time);
        } else if (o.t === "remove") {
          assert.equal(heap.remove(BigInt(o.id)), model.delete(BigInt(o.id)));
        } else {
          const top = heap.pop();
          const min = Math.min(...model.values());
          if (model.size === 0) assert.equal(top, undefined);
          else {
            assert.equal(top?.time, min);
            assert.equal(model.get(top.id), min);
            model.delete(top.id);
          }
        }
        heap.checkInvariants();
        assert.equal(heap.size, model.size);
      }
    }),
  );
});
