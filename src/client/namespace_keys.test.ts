// Specifies a namespace's key translation without a server: intervals (one key, ranges, prefix and from-key
// ends, 0xff prefixes), compares and ops of nested transactions, and the prefix stripped from every response key.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Event, KeyValue, TxnResponse } from "../proto/index.js";
import { Event_EventType } from "../proto/index.js";
import { resolveRange } from "./keys.js";
import { prefixInterval, prefixRequestOp, stripEvent, stripTxn } from "./namespace_keys.js";
import { Op } from "./ops.js";
import { Cmp } from "./txn.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");
const show = (x: { key: Buffer; rangeEnd: Buffer }) => [
  x.key.toString("latin1"),
  x.rangeEnd.toString("latin1"),
];

test("prefixInterval maps one key, a range, a prefix and from-key into the namespace", () => {
  const cases: [
    pfx: string,
    key: string,
    opts: Parameters<typeof resolveRange>[1],
    want: [string, string],
  ][] = [
    ["foo/", "a", {}, ["foo/a", ""]],
    ["foo/", "a", { rangeEnd: "c" }, ["foo/a", "foo/c"]],
    ["foo/", "a", { prefix: true }, ["foo/a", "foo/b"]],
    ["foo/", "a", { fromKey: true }, ["foo/a", "foo0"]],
    // An empty prefix or from-key range is every key of the namespace (etcd spells it key "\0").
    ["foo/", "", { prefix: true }, ["foo/\0", "foo0"]],
    ["foo/", "", { fromKey: true }, ["foo/\0", "foo0"]],
    // A key of only 0xff has no prefix end: its range runs to the end of the namespace.
    ["foo/", "\xff", { prefix: true }, ["foo/\xff", "foo0"]],
    // The namespace's own end drops trailing 0xff bytes (etcd would use "ac\0", which lets "ac" in).
    ["ab\xff", "", { prefix: true }, ["ab\xff\0", "ac"]],
    // A namespace of only 0xff bytes runs to the end of the keyspace.
    ["\xff\xff", "k", { fromKey: true }, ["\xff\xffk", "\0"]],
    // The empty namespace is the whole keyspace.
    ["", "a", { prefix: true }, ["a", "b"]],
  ];
  for (const [pfx, key, opts, want] of cases) {
    const r = resolveRange(b(key), opts);
    assert.deepEqual(
      show(prefixInterval(b(pfx), r.key, r.rangeEnd)),
      want,
      `${pfx} ${key} ${JSON.stringify(opts)}`,
    );
  }
});

test("prefixRequestOp moves compares and ops of nested transactions under the prefix", () => {
  const inner = Op.txn([Cmp.value("x", "=", "1").withPrefix()], [Op.delete("d", { fromKey: true })]);
  const op = Op.txn(
    [Cmp.version("a", ">", 0), Cmp.modRevision("r", "<", 5n).withRange("t")],
    [Op.put("p", "v"), Op.get("g", { prefix: true }), inner],
    [Op.get("e")],
  );
  const r = prefixRequestOp(b("ns/"), op.request).request;
  assert.equal(r?.$case, "requestTxn");
  const t = r.value;
  assert.deepEqual(t.compare.map(show), [
    ["ns/a", ""],
    ["ns/r", "ns/t"],
  ]);
  const [put, get, nested] = t.success.map((o) => o.request);
  assert.ok(
    put?.$case === "requestPut" && put.value.key.toString() === "ns/p" && put.value.value.toString() === "v",
  );
  assert.ok(get?.$case === "requestRange");
  assert.deepEqual(show(get.value), ["ns/g", "ns/h"]);
  assert.ok(nested?.$case === "requestTxn");
  assert.deepEqual(show(nested.value.compare[0]!), ["ns/x", "ns/y"]);
  const del = nested.value.success[0]!.request;
  assert.ok(del?.$case === "requestDeleteRange");
  assert.deepEqual(show(del.value), ["ns/d", "ns0"]);
  const els = t.failure[0]!.request;
  assert.ok(els?.$case === "requestRange");
  assert.deepEqual(show(els.value), ["ns/e", ""]);
  // The original op is untouched (ops may be reused outside the namespace).
  const orig = op.request.request;
  assert.ok(orig?.$case === "requestTxn" && orig.value.compare[0]!.key.toString() === "a");
});

const kv = (key: string): KeyValue => ({
  key: b(key),
  value: b("v"),
  createRevision: 2n,
  modRevision: 3n,
  version: 1n,
  lease: 0n,
});

test("stripTxn and stripEvent remove the prefix from every key that comes back", () => {
  const res: TxnResponse = {
    succeeded: true,
    responses: [
      {
        response: {
          $case: "responseRange",
          value: { kvs: [kv("ns/a"), kv("ns/b")], more: false, count: 2n },
        },
      },
      { response: { $case: "responsePut", value: { prevKv: kv("ns/p") } } },
      { response: { $case: "responseDeleteRange", value: { deleted: 1n, prevKvs: [kv("ns/d")] } } },
      {
        response: {
          $case: "responseTxn",
          value: {
            succeeded: false,
            responses: [
              { response: { $case: "responseRange", value: { kvs: [kv("ns/n")], more: false, count: 1n } } },
            ],
          },
        },
      },
    ],
  };
  const keys: string[] = [];
  const walk = (t: TxnResponse): void => {
    for (const { response: r } of t.responses) {
      if (r?.$case === "responseRange") keys.push(...r.value.kvs.map((x) => x.key.toString()));
      if (r?.$case === "responsePut") keys.push(r.value.prevKv!.key.toString());
      if (r?.$case === "responseDeleteRange") keys.push(...r.value.prevKvs.map((x) => x.key.toString()));
      if (r?.$case === "responseTxn") walk(r.value);
    }
  };
  walk(stripTxn(b("ns/"), res));
  assert.deepEqual(keys, ["a", "b", "p", "d", "n"]);

  const e: Event = { type: Event_EventType.PUT, kv: kv("ns/k"), prevKv: kv("ns/k") };
  const s = stripEvent(b("ns/"), e);
  assert.equal(s.kv!.key.toString(), "k");
  assert.equal(s.prevKv!.key.toString(), "k");
  assert.equal(e.kv!.key.toString(), "ns/k", "the original event is untouched");
});
