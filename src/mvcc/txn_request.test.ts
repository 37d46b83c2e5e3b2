// Specifies Put/DeleteRange/Compare/Txn request semantics as etcd 3.4 applies them.

import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { ErrFutureRev, ErrKeyNotFound } from "./errors.js";
import { b, putAll, s, TempStore } from "./test_util.js";
import {
  applyCompare,
  applyDeleteRange,
  applyPut,
  type Compare,
  CompareResult,
  CompareTarget,
  deleteRange,
  put,
  type RequestOp,
  type TxnRequest,
  txn,
} from "./txn_request.js";

let temps: TempStore[] = [];
function fresh(): TempStore {
  const t = new TempStore();
  temps.push(t);
  return t;
}
afterEach(async () => {
  for (const t of temps) await t.cleanup();
  temps = [];
});

const opPut = (key: string, value: string, extra: object = {}): RequestOp => ({
  request: { $case: "requestPut", value: { key: b(key), value: b(value), ...extra } },
});
const opRange = (key: string, extra: object = {}): RequestOp => ({
  request: { $case: "requestRange", value: { key: b(key), ...extra } },
});
const opDel = (key: string, end?: string): RequestOp => ({
  request: { $case: "requestDeleteRange", value: { key: b(key), rangeEnd: end ? b(end) : undefined } },
});
const opTxn = (value: TxnRequest): RequestOp => ({ request: { $case: "requestTxn", value } });
const value = (store: TempStore["store"], key: string) => {
  const kv = store.range(b(key), undefined).kvs[0];
  return kv ? s(kv.value) : undefined;
};

describe("Put and DeleteRange requests", () => {
  test("prevKv, ignoreValue, ignoreLease", () => {
    const { store } = fresh();
    let w = store.write();
    assert.deepEqual(put(w, { key: b("k"), value: b("v1"), lease: 5n, prevKv: true }), { revision: 2n });
    w.end();
    w = store.write();
    const r = put(w, { key: b("k"), value: b("v2"), prevKv: true });
    assert.equal(s(r.prevKv!.value), "v1");
    put(w, { key: b("k"), ignoreValue: true, lease: 9n });
    w.end();
    const [kv] = store.range(b("k"), undefined).kvs;
    assert.deepEqual([s(kv!.value), kv!.lease], ["v2", 9n], "ignoreValue keeps the value, sets the lease");
    w = store.write();
    put(w, { key: b("k"), value: b("v3"), ignoreLease: true });
    w.end();
    assert.equal(store.range(b("k"), undefined).kvs[0]!.lease, 9n, "ignoreLease keeps the lease");
    w = store.write();
    assert.throws(() => put(w, { key: b("absent"), ignoreValue: true }), ErrKeyNotFound);
    assert.throws(() => put(w, { key: b("absent"), value: b(""), ignoreLease: true }), ErrKeyNotFound);
    w.end();
  });

  test("deleteRange returns the count, prev kvs and the revision", () => {
    const { store } = fresh();
    putAll(store, [
      ["a", "1"],
      ["b", "2"],
    ]);
    const w = store.write();
    const r = deleteRange(w, { key: b("a"), rangeEnd: b("\0"), prevKv: true });
    w.end();
    assert.deepEqual([r.deleted, r.prevKvs.map((kv) => s(kv.value)), r.revision], [2n, ["1", "2"], 4n]);
    const w2 = store.write();
    assert.deepEqual(deleteRange(w2, { key: b("a") }), { deleted: 0n, prevKvs: [], revision: 4n });
    w2.end();
  });
});

describe("whole requests in their own txn", () => {
  test("applyPut checks before opening the txn, so a failed check leaves the store usable", () => {
    const { store } = fresh();
    assert.throws(() => applyPut(store, { key: b("k"), ignoreValue: true }), ErrKeyNotFound);
    assert.throws(
      () =>
        applyPut(
          store,
          { key: b("k"), lease: 3n },
          {
            checkLease: () => {
              throw new Error("no lease");
            },
          },
        ),
      /no lease/,
    );
    const { response, changes } = applyPut(
      store,
      { key: b("k"), value: b("v") },
      { consistentIndex: { index: 7n } },
    );
    assert.deepEqual([response.revision, changes.length, store.consistentIndex], [2n, 1, 7n]);
    const del = applyDeleteRange(store, { key: b("k"), prevKv: true });
    assert.deepEqual([del.response.deleted, del.response.prevKvs.length, store.revision], [1n, 1, 3n]);
  });

  test("a txn that changed nothing can be aborted; one that changed something cannot", () => {
    const { store } = fresh();
    const w = store.write();
    assert.throws(() => put(w, { key: b("absent"), ignoreLease: true }), ErrKeyNotFound);
    w.abort();
    const w2 = store.write();
    w2.put(b("a"), b("1"));
    assert.throws(() => w2.abort(), /already changed/);
    w2.end();
    assert.equal(store.revision, 2n);
  });
});

describe("Compare", () => {
  const cmp = (
    target: number,
    result: number,
    u?: Compare["targetUnion"],
    key = "k",
    rangeEnd?: string,
  ): Compare => ({
    key: b(key),
    target,
    result,
    targetUnion: u,
    rangeEnd: rangeEnd === undefined ? undefined : b(rangeEnd),
  });
  const { EQUAL, NOT_EQUAL, GREATER, LESS } = CompareResult;
  const { VERSION, CREATE, MOD, VALUE, LEASE } = CompareTarget;
  const cases: Array<[string, Compare, boolean]> = [
    ["version == 2", cmp(VERSION, EQUAL, { $case: "version", value: 2n }), true],
    ["version > 1", cmp(VERSION, GREATER, { $case: "version", value: 1n }), true],
    ["version < 2", cmp(VERSION, LESS, { $case: "version", value: 2n }), false],
    ["create == 2", cmp(CREATE, EQUAL, { $case: "createRevision", value: 2n }), true],
    ["mod != 3", cmp(MOD, NOT_EQUAL, { $case: "modRevision", value: 3n }), false],
    ["value == v2", cmp(VALUE, EQUAL, { $case: "value", value: b("v2") }), true],
    ["value > v1", cmp(VALUE, GREATER, { $case: "value", value: b("v1") }), true],
    ["lease == 7", cmp(LEASE, EQUAL, { $case: "lease", value: 7n }), true],
    ["unset operand compares to 0", cmp(VERSION, GREATER), true],
    ["operand of another target counts as 0", cmp(MOD, GREATER, { $case: "version", value: 99n }), true],
    ["missing key: version == 0", cmp(VERSION, EQUAL, { $case: "version", value: 0n }, "nope"), true],
    ["missing key: create == 0", cmp(CREATE, EQUAL, undefined, "nope"), true],
    [
      "missing key: value never matches, even empty",
      cmp(VALUE, EQUAL, { $case: "value", value: b("") }, "nope"),
      false,
    ],
    [
      "missing key: value != x is false too",
      cmp(VALUE, NOT_EQUAL, { $case: "value", value: b("x") }, "nope"),
      false,
    ],
    ["range: every key must match", cmp(VERSION, GREATER, { $case: "version", value: 0n }, "a", "z"), true],
    ["range: one key fails", cmp(VERSION, GREATER, { $case: "version", value: 1n }, "a", "z"), false],
    ["from-key range", cmp(CREATE, GREATER, { $case: "createRevision", value: 1n }, "a", "\0"), true],
  ];
  for (const [name, c, want] of cases) {
    test(name, () => {
      const t = fresh();
      putAll(t.store, [["k", "v1"]]); // rev 2
      putAll(t.store, [["k", "v2"]], 7n); // rev 3: version 2, create 2, mod 3, lease 7
      putAll(t.store, [["m", "x"]]); // rev 4: version 1
      assert.equal(applyCompare(t.store, c), want);
    });
  }
});

describe("Txn", () => {
  test("success branch: one revision, responses in order, read-your-writes, sub-response revisions", () => {
    const { store } = fresh();
    putAll(store, [["k", "v"]]);
    const { response, changes } = txn(store, {
      compare: [
        {
          key: b("k"),
          target: CompareTarget.VALUE,
          result: CompareResult.EQUAL,
          targetUnion: { $case: "value", value: b("v") },
        },
      ],
      success: [opRange("a"), opPut("a", "1"), opRange("a"), opDel("k")],
      failure: [opPut("f", "1")],
    });
    assert.equal(response.succeeded, true);
    assert.equal(response.revision, 3n);
    assert.equal(changes.length, 2);
    const [r0, p1, r2, d3] = response.responses.map((r) => r.response!);
    assert.ok(r0?.$case === "responseRange" && r0.value.count === 0n && r0.value.revision === 2n);
    assert.ok(p1?.$case === "responsePut" && p1.value.revision === 3n);
    assert.ok(r2?.$case === "responseRange" && s(r2.value.kvs[0]!.value) === "1" && r2.value.revision === 3n);
    assert.ok(d3?.$case === "responseDeleteRange" && d3.value.deleted === 1n);
    assert.equal(value(store, "k"), undefined);
    assert.equal(value(store, "f"), undefined);
  });

  test("failure branch; a txn that only reads does not bump the revision", () => {
    const { store } = fresh();
    const { response } = txn(store, {
      compare: [
        {
          key: b("k"),
          target: CompareTarget.VERSION,
          result: CompareResult.GREATER,
          targetUnion: { $case: "version", value: 0n },
        },
      ],
      success: [opPut("s", "1")],
      failure: [opRange("k")],
    });
    assert.deepEqual([response.succeeded, response.revision, store.revision], [false, 1n, 1n]);
  });

  test("nested txn compares see the state before the outer txn ran", () => {
    const { store } = fresh();
    const { response } = txn(store, {
      compare: [],
      success: [
        opPut("k", "1"),
        opTxn({
          compare: [
            {
              key: b("k"),
              target: CompareTarget.VERSION,
              result: CompareResult.EQUAL,
              targetUnion: { $case: "version", value: 0n },
            },
          ],
          success: [opPut("x", "k-was-absent")],
          failure: [opPut("x", "k-existed")],
        }),
      ],
      failure: [],
    });
    assert.equal(value(store, "x"), "k-was-absent");
    const nested = response.responses[1]!.response!;
    assert.ok(nested.$case === "responseTxn" && nested.value.succeeded && nested.value.revision === 0n);
    assert.equal(response.revision, 2n);
  });

  test("checks abort the whole txn before anything is written", () => {
    const { store } = fresh();
    putAll(store, [["k", "v"]]);
    const base = { compare: [], failure: [] };
    assert.throws(
      () => txn(store, { ...base, success: [opPut("a", "1"), opPut("b", "", { ignoreValue: true })] }),
      ErrKeyNotFound,
    );
    assert.throws(
      () => txn(store, { ...base, success: [opPut("a", "1"), opRange("k", { revision: 3n })] }),
      ErrFutureRev,
    );
    assert.throws(
      () =>
        txn(
          store,
          { ...base, success: [opPut("a", "1", { lease: 42n })] },
          {
            checkLease: () => {
              throw new Error("lease not found");
            },
          },
        ),
      /lease not found/,
    );
    assert.equal(store.revision, 2n);
    assert.equal(value(store, "a"), undefined);
    assert.equal(
      txn(store, { ...base, success: [opPut("a", "1", { lease: 42n })] }, { checkLease: () => {} }).response
        .revision,
      3n,
    );
  });

  test("the consistent index rides along, even for a read-only txn", () => {
    const { store } = fresh();
    txn(store, { compare: [], success: [opRange("a")], failure: [] }, { consistentIndex: { index: 5n } });
    assert.equal(store.consistentIndex, 5n);
    assert.equal(store.revision, 1n);
  });
});
