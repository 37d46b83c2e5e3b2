// Specifies the ordering view: without a server (etcd's ordering tests: a response below the newest revision
// seen is a violation and is asked again; a txn that wrote is never replayed), and against two real servers
// at different revisions (a stale endpoint is refused with NoGreaterRevisionError, a fresh one answers).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ResponseHeader, TxnResponse } from "../proto/index.js";
import { Client } from "./client.js";
import { NoGreaterRevisionError } from "./errors.js";
import type { OpResponse } from "./kv.js";
import { Op } from "./ops.js";
import { OrderingKV, type OrderViolation, withOrdering } from "./ordering.js";
import type { KVApi } from "./services.js";
import { TestServer, within } from "./test_util.js";
import { Cmp, Txn } from "./txn.js";

const header = (revision: bigint): ResponseHeader => ({
  clusterId: 1n,
  memberId: 1n,
  revision,
  raftTerm: 1n,
});

/** A KV whose every response carries the next revision of `revs` (the last one repeats). */
function fakeKV(revs: bigint[], txn: Partial<TxnResponse> = {}): KVApi & { calls: number } {
  const next = () => header(revs[Math.min(fake.calls++, revs.length - 1)]!);
  const txnResponse = (): TxnResponse => ({ succeeded: true, responses: [], ...txn, header: next() });
  const fake = {
    calls: 0,
    get: async () => ({ header: next(), kvs: [], more: false, count: 0n }),
    put: async () => ({ header: next() }),
    delete: async () => ({ header: next(), deleted: 0n, prevKvs: [] }),
    compact: async () => ({ header: next() }),
    txn: () => new Txn(async () => txnResponse()),
    do: async (op: Op): Promise<OpResponse> => {
      const r = op.request.request;
      if (r?.$case === "requestTxn") return { kind: "txn", response: txnResponse() };
      if (r?.$case === "requestRange")
        return { kind: "get", response: { header: next(), kvs: [], more: false, count: 0n } };
      return { kind: "put", response: { header: next() } };
    },
  };
  return fake;
}

test("get: a response below the newest revision seen is a violation and is asked again", async () => {
  // etcd's table: the newest revision seen is 5; responses at 5, 4 (then 5) and 6.
  const cases: [responses: bigint[], wantRev: bigint, wantViolations: number][] = [
    [[5n], 5n, 0],
    [[4n, 5n], 5n, 1],
    [[3n, 4n, 6n], 6n, 2],
    [[6n], 6n, 0],
  ];
  for (const [responses, wantRev, wantViolations] of cases) {
    const inner = fakeKV([5n, ...responses]);
    const seen: OrderViolation[] = [];
    const kv = new OrderingKV(inner, (v) => {
      seen.push(v);
    });
    await kv.put("k", "v"); // the newest revision seen is now 5
    const r = await kv.get("k", { serializable: true });
    assert.equal(r.header!.revision, wantRev, `${responses}`);
    assert.equal(seen.length, wantViolations);
    assert.deepEqual(
      seen.map((v) => [v.attempt, v.prevRevision, v.response.kind]),
      seen.map((_, i) => [i + 1, 5n, "get"]),
    );
    assert.equal(kv.revision, wantRev);
  }
});

test("the handler may give up: its error reaches the caller", async () => {
  const kv = new OrderingKV(fakeKV([9n, 1n]), (v) => {
    if (v.attempt > 2) throw new NoGreaterRevisionError(v.prevRevision);
  });
  await kv.get("a");
  const err = await kv.get("a").catch((e: unknown) => e);
  assert.ok(err instanceof NoGreaterRevisionError);
  assert.equal(err.revision, 9n);
  assert.equal(
    err.message,
    "etcdclient: no cluster members have a revision higher than the previously received revision",
  );
});

test("txn: a stale read-only txn is asked again; a stale txn whose branch wrote is returned as is", async () => {
  const readOnly = fakeKV([8n, 7n, 8n]);
  let violations = 0;
  const kv = new OrderingKV(readOnly, () => {
    violations++;
  });
  await kv.get("x");
  const r = await kv.txn().If(Cmp.keyExists("a")).Then(Op.get("a")).Else(Op.get("b")).commit();
  assert.equal(r.header!.revision, 8n);
  assert.equal(violations, 1);

  const writes = fakeKV([8n, 7n]);
  const kv2 = new OrderingKV(writes, () => {
    violations++;
  });
  await kv2.get("x");
  const w = await kv2.txn().If().Then(Op.put("a", "1")).commit();
  assert.equal(w.header!.revision, 7n, "not replayed: the put may have been applied");
  assert.equal(writes.calls, 2);
  assert.equal(violations, 2);

  // The same through do(): a nested txn that may write is not replayed either.
  const nested = fakeKV([8n, 7n]);
  const kv3 = new OrderingKV(nested, () => {});
  await kv3.get("x");
  const d = await kv3.do(Op.txn([], [Op.txn([], [Op.get("a")], [Op.delete("a")])]));
  assert.ok(d.kind === "txn" && d.response.header!.revision === 7n);
});

test("against two servers at different revisions: a stale endpoint is refused, a fresh one answers", async () => {
  const fresh = await TestServer.start();
  const stale = await TestServer.start();
  const client = new Client({ endpoints: [fresh.endpoint], dialTimeoutMs: 20_000 });
  try {
    // Two separate single-member clusters: the fresh one is far ahead.
    for (let i = 0; i < 10; i++) await client.kv.put("ord/k", String(i));
    const kv = withOrdering(client);
    const first = await kv.get("ord/k", { serializable: true });
    const seen = first.header!.revision;
    assert.ok(seen >= 11n);
    client.setEndpoints([fresh.endpoint, stale.endpoint]);

    await fresh.kill();
    const err = await kv.get("ord/k", { serializable: true }).catch((e: unknown) => e);
    assert.ok(err instanceof NoGreaterRevisionError, `${err}`);
    assert.equal(err.revision, seen);
    // The plain client is not ordered: it answers from the stale member.
    assert.ok((await client.kv.get("ord/k", { serializable: true })).header!.revision < seen);

    await fresh.restart();
    // Until the client has reconnected to the fresh member, the stale one may still be the only one up.
    const again = await within(
      (async () => {
        for (;;) {
          const r = await kv.get("ord/k", { serializable: true }).catch((e: unknown) => e);
          if (!(r instanceof NoGreaterRevisionError)) return r as Awaited<ReturnType<typeof kv.get>>;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(),
      "an ordered read from the fresh member",
    );
    assert.ok(again.header!.revision >= seen);
    assert.equal(again.kvs[0]!.value.toString(), "9");
  } finally {
    await client.close();
    await fresh.dispose();
    await stale.dispose();
  }
});
