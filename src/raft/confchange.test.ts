// Specifies the ConfChange encoding and the single-step configuration rule (nextConfState).
import assert from "node:assert/strict";
import { test } from "node:test";
import { AssertionError } from "./assert.js";
import { decodeConfChange, encodeConfChange, nextConfState } from "./confchange.js";
import { enc, ids } from "./testing/fixtures.js";
import type { ConfChange, ConfChangeType } from "./types.js";

const cc = (type: ConfChangeType, nodeId: number): ConfChange => ({
  type,
  nodeId: BigInt(nodeId),
  context: new Uint8Array(0),
});

test("encode/decode round-trips every change type with its context", () => {
  for (const type of ["AddNode", "RemoveNode", "UpdateNode", "AddLearnerNode"] as const) {
    const c: ConfChange = { type, nodeId: 0xfedcba9876543210n, context: enc(`{"name":"${type}"}`) };
    assert.deepEqual(decodeConfChange(encodeConfChange(c)), c);
  }
  assert.throws(() => decodeConfChange(new Uint8Array(3)), AssertionError, "too short");
  assert.throws(() => decodeConfChange(new Uint8Array(9).fill(9)), AssertionError, "unknown type");
});

test("nextConfState applies one change; a member is a voter or a learner, never both", () => {
  const base = { voters: ids(1, 2, 3), learners: ids(4) };
  const cases: { c: ConfChange; voters: number[]; learners: number[] }[] = [
    { c: cc("AddNode", 5), voters: [1, 2, 3, 5], learners: [4] },
    { c: cc("AddNode", 3), voters: [1, 2, 3], learners: [4] },
    { c: cc("AddNode", 4), voters: [1, 2, 3, 4], learners: [] }, // promotion
    { c: cc("AddLearnerNode", 5), voters: [1, 2, 3], learners: [4, 5] },
    { c: cc("AddLearnerNode", 3), voters: [1, 2], learners: [4, 3] }, // demotion
    { c: cc("RemoveNode", 2), voters: [1, 3], learners: [4] },
    { c: cc("RemoveNode", 4), voters: [1, 2, 3], learners: [] },
    { c: cc("RemoveNode", 9), voters: [1, 2, 3], learners: [4] },
    { c: cc("UpdateNode", 2), voters: [1, 2, 3], learners: [4] },
  ];
  for (const { c, voters, learners } of cases) {
    const got = nextConfState(base, c);
    assert.deepEqual(
      { voters: [...got.voters].sort(), learners: got.learners },
      { voters: ids(...voters).sort(), learners: ids(...learners) },
      `${c.type} ${c.nodeId}`,
    );
  }
  assert.deepEqual(base, { voters: ids(1, 2, 3), learners: ids(4) }, "the input is not modified");
});

test("nextConfState refuses to remove or demote the last voter", () => {
  const one = { voters: ids(1), learners: [] };
  assert.deepEqual(nextConfState(one, cc("RemoveNode", 1)), one);
  assert.deepEqual(nextConfState(one, cc("AddLearnerNode", 1)), one);
});
