// Specifies the transaction builder: wire forms of compares and ops, and clientv3's If → Then → Else order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Compare_CompareResult, Compare_CompareTarget, type TxnRequest } from "../proto/index.js";
import { Op } from "./ops.js";
import { Cmp, Txn } from "./txn.js";

const capture = (): { txn: Txn; sent: () => TxnRequest } => {
  let req: TxnRequest | undefined;
  const txn = new Txn(async (r) => {
    req = r;
    return { succeeded: true, responses: [] };
  });
  return { txn, sent: () => req! };
};

test("compares carry target, result and the matching oneof; ranges and prefixes set range_end", () => {
  const c = Cmp.value("k", "!=", "v").compare;
  assert.equal(c.target, Compare_CompareTarget.VALUE);
  assert.equal(c.result, Compare_CompareResult.NOT_EQUAL);
  assert.deepEqual(c.targetUnion, { $case: "value", value: Buffer.from("v") });
  assert.deepEqual(Cmp.keyMissing("k").compare.targetUnion, { $case: "version", value: 0n });
  assert.equal(Cmp.keyExists("k").compare.result, Compare_CompareResult.GREATER);
  assert.deepEqual(Cmp.modRevision("k", "<", 5n).compare.targetUnion, { $case: "modRevision", value: 5n });
  assert.deepEqual(Cmp.createRevision("p/", "=", 0n).withPrefix().compare.rangeEnd, Buffer.from("p0"));
  assert.deepEqual(Cmp.lease("a", "=", 7n).withRange("c").compare.rangeEnd, Buffer.from("c"));
});

test("If/Then/Else build the request; nested txns nest", async () => {
  const { txn, sent } = capture();
  await txn
    .If(Cmp.version("a", "=", 0))
    .Then(Op.put("a", "1", { lease: 3n }), Op.txn([Cmp.keyExists("b")], [Op.delete("b")]))
    .Else(Op.get("a", { prefix: true, limit: 2 }))
    .commit();
  const req = sent();
  assert.equal(req.compare.length, 1);
  assert.equal(req.success[0]!.request?.$case, "requestPut");
  assert.equal(req.success[1]!.request?.$case, "requestTxn");
  const get = req.failure[0]!.request;
  assert.ok(get?.$case === "requestRange");
  assert.equal(get.value.limit, 2n);
  assert.deepEqual(get.value.rangeEnd, Buffer.from("b"));
});

test("parts out of order or repeated throw, as clientv3 panics", () => {
  assert.throws(() => capture().txn.Then().If(), /If called after Then/);
  assert.throws(() => capture().txn.Else().Then(), /Then called after Else/);
  assert.throws(() => capture().txn.If().If(), /If called after If/);
});
