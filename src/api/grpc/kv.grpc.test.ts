// Specifies the KV service at the gRPC level with our generated client: exact codes, messages, headers and
// quirks of etcd 3.4. Every request also goes to a real etcd (when /usr/bin/etcd exists), which must answer
// the same, so the expectations written here are etcd's, not ours.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { credentials, type ServiceError, status } from "@grpc/grpc-js";
import {
  CompactionRequest,
  type Compare,
  DeleteRangeRequest,
  KVClient,
  MaintenanceClient,
  PutRequest,
  RangeRequest,
  type RangeRequest_SortOrder,
  type RequestOp,
  StatusRequest,
  type StatusResponse,
  TxnRequest,
} from "../../proto/index.js";
import { hasEtcd, type Pair, startPair } from "../../testing/differential.js";
import { type ServerProcess, startServer } from "../../testing/server_process.js";

const REQUESTS = {
  range: RangeRequest,
  put: PutRequest,
  deleteRange: DeleteRangeRequest,
  txn: TxnRequest,
  compact: CompactionRequest,
};
type Method = keyof typeof REQUESTS;

/** A response as plain JSON (bigints and bytes as strings) or the gRPC error, comparable across servers. */
type Outcome = { ok: true; res: Record<string, unknown> } | { ok: false; code: status; details: string };

function plain(v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString("latin1");
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/** The outer header's cluster, member and term differ between clusters: only whether they are set counts. */
function normalize(res: Record<string, unknown>): Record<string, unknown> {
  const out = plain(res) as Record<string, unknown>;
  const h = out.header as Record<string, string> | undefined;
  if (h) {
    for (const k of ["clusterId", "memberId", "raftTerm"]) h[k] = h[k] === "0" ? "0" : "set";
  }
  return out;
}

function call(client: KVClient, method: Method, req: object): Promise<Outcome> {
  const fn = client[method] as unknown as (
    r: unknown,
    cb: (err: ServiceError | null, res: Record<string, unknown>) => void,
  ) => void;
  const msg = (REQUESTS[method] as { fromPartial(o: object): unknown }).fromPartial(req);
  return new Promise((resolve) => {
    fn.call(client, msg, (err, res) =>
      resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, res: normalize(res) }),
    );
  });
}

/** Both servers' clients; `etcd` is absent without a real etcd to compare with. */
interface Kv {
  ours: KVClient;
  etcd?: KVClient;
}

/** Sends to both; real etcd must answer exactly as we do. Returns our answer for explicit assertions. */
async function both(kv: Kv, method: Method, req: object): Promise<Outcome> {
  const [got, want] = await Promise.all([
    call(kv.ours, method, req),
    kv.etcd ? call(kv.etcd, method, req) : undefined,
  ]);
  if (want) assert.deepEqual(got, want, `real etcd answers ${method} ${JSON.stringify(plain(req))} the same`);
  return got;
}

function ok(o: Outcome): Record<string, unknown> {
  if (!o.ok) assert.fail(`expected success, got ${status[o.code]}: ${o.details}`);
  return o.res;
}

function fails(o: Outcome, code: status, details: string): void {
  assert.deepEqual(o, { ok: false, code, details });
}

const B = (s: string) => Buffer.from(s);
/** The header revision and the keys of a successful answer (or of an already checked response). */
const rev = (o: Outcome | Record<string, unknown>) => (res(o).header as { revision: string }).revision;
const keys = (o: Outcome | Record<string, unknown>) => (res(o).kvs as { key: string }[]).map((kv) => kv.key);
const res = (o: Outcome | Record<string, unknown>): Record<string, unknown> =>
  "ok" in o && typeof o.ok === "boolean" ? ok(o as Outcome) : (o as Record<string, unknown>);
const get = (key: string, x: Partial<RangeRequest> = {}): RequestOp => ({
  request: { $case: "requestRange", value: RangeRequest.fromPartial({ key: B(key), ...x }) },
});
const put = (key: string, value: string, x: Partial<PutRequest> = {}): RequestOp => ({
  request: { $case: "requestPut", value: PutRequest.fromPartial({ key: B(key), value: B(value), ...x }) },
});
const del = (key: string, end = "", x: Partial<DeleteRangeRequest> = {}): RequestOp => ({
  request: {
    $case: "requestDeleteRange",
    value: DeleteRangeRequest.fromPartial({ key: B(key), rangeEnd: B(end), ...x }),
  },
});
const nested = (t: Partial<TxnRequest>): RequestOp => ({
  request: { $case: "requestTxn", value: TxnRequest.fromPartial(t) },
});
const versionIs = (key: string, version: bigint, result = 0): Compare => ({
  key: B(key),
  rangeEnd: B(""),
  target: 0,
  result,
  targetUnion: { $case: "version", value: version },
});
const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
const noEtcd = hasEtcd()
  ? undefined
  : "no real etcd at /usr/bin/etcd: expectations checked against etcd-ts only";

/** The servers: a pair when a real etcd exists, else etcd-ts alone. */
async function start(
  extraArgs: string[] = [],
): Promise<{ kv: Kv; endpoints: { ours: string; etcd?: string }; stop(): Promise<void> }> {
  if (hasEtcd()) {
    const pair: Pair = await startPair(extraArgs);
    const kv: Kv = {
      ours: new KVClient(pair.ours.endpoint, credentials.createInsecure()),
      etcd: new KVClient(pair.etcd.endpoint, credentials.createInsecure()),
    };
    return {
      kv,
      endpoints: { ours: pair.ours.endpoint, etcd: pair.etcd.endpoint },
      async stop() {
        kv.ours.close();
        kv.etcd?.close();
        await pair.stop();
      },
    };
  }
  const s: ServerProcess = await startServer({ extraArgs });
  const kv: Kv = { ours: new KVClient(s.endpoint, credentials.createInsecure()) };
  return {
    kv,
    endpoints: { ours: s.endpoint },
    async stop() {
      kv.ours.close();
      await s.stop();
      s.cleanup();
    },
  };
}

describe("KV over raw gRPC, as etcd 3.4 answers", () => {
  let kv: Kv;
  let endpoints: { ours: string; etcd?: string };
  let stop: () => Promise<void>;
  before(async () => {
    ({ kv, endpoints, stop } = await start());
    if (noEtcd) console.log(noEtcd);
  });
  after(async () => {
    await stop?.();
  });

  test("a fresh store is at revision 1; the first put makes revision 2; put answers carry no prev_kv unless asked", async () => {
    const r = ok(await both(kv, "range", { key: B("a") }));
    assert.deepEqual(r, {
      header: { clusterId: "set", memberId: "set", revision: "1", raftTerm: "set" },
      kvs: [],
      more: false,
      count: "0",
    });
    assert.equal(rev(await both(kv, "put", { key: B("a"), value: B("1") })), "2");
    const p = ok(await both(kv, "put", { key: B("a"), value: B("2"), prevKv: true }));
    assert.equal((p.prevKv as { value: string }).value, "1");
    assert.equal(
      ok(await both(kv, "put", { key: B("fresh"), value: B("x"), prevKv: true })).prevKv,
      undefined,
    );
  });

  test("put validation happens before raft, in etcd's order", async () => {
    const before = rev(await both(kv, "range", { key: B("a") }));
    const invalid = status.INVALID_ARGUMENT;
    fails(await both(kv, "put", { key: B(""), value: B("x") }), invalid, "etcdserver: key is not provided");
    fails(
      await both(kv, "put", { key: B(""), ignoreValue: true, value: B("x") }),
      invalid,
      "etcdserver: key is not provided",
    );
    fails(
      await both(kv, "put", { key: B("a"), ignoreValue: true, value: B("x") }),
      invalid,
      "etcdserver: value is provided",
    );
    fails(
      await both(kv, "put", { key: B("a"), ignoreLease: true, lease: 5n }),
      invalid,
      "etcdserver: lease is provided",
    );
    fails(
      await both(kv, "put", { key: B("a"), value: B("x"), lease: 5n, ignoreLease: true, ignoreValue: true }),
      invalid,
      "etcdserver: value is provided",
    );
    // Apply-time failures: the entry is in the log, but nothing changes.
    fails(
      await both(kv, "put", { key: B("absent"), ignoreValue: true }),
      invalid,
      "etcdserver: key not found",
    );
    fails(
      await both(kv, "put", { key: B("absent"), ignoreLease: true }),
      invalid,
      "etcdserver: key not found",
    );
    fails(
      await both(kv, "put", { key: B("a"), value: B("x"), lease: 99n }),
      status.NOT_FOUND,
      "etcdserver: requested lease not found",
    );
    fails(await both(kv, "deleteRange", { key: B("") }), invalid, "etcdserver: key is not provided");
    fails(await both(kv, "range", { key: B("") }), invalid, "etcdserver: key is not provided");
    assert.equal(rev(await both(kv, "range", { key: B("a") })), before);
  });

  test("ignore_value keeps the value, ignore_lease the lease; both bump the version", async () => {
    const r = ok(await both(kv, "put", { key: B("a"), ignoreValue: true, prevKv: true }));
    const g = ok(await both(kv, "range", { key: B("a") }));
    const [kv0] = g.kvs as { value: string; version: string; modRevision: string }[];
    assert.equal(kv0!.value, (r.prevKv as { value: string }).value);
    assert.equal(BigInt(kv0!.version), BigInt((r.prevKv as { version: string }).version) + 1n);
    ok(await both(kv, "put", { key: B("a"), value: B("3"), ignoreLease: true }));
  });

  test("range: count is taken before limit and the min/max filters; more only after filtering", async () => {
    const ra = rev(await both(kv, "put", { key: B("f/a"), value: B("1") }));
    const rb = rev(await both(kv, "put", { key: B("f/b"), value: B("2") }));
    const range = { key: B("f/"), rangeEnd: B("f0") };
    let r = ok(await both(kv, "range", { ...range, limit: 1n, minModRevision: BigInt(rb) }));
    assert.deepEqual([keys(r), r.count, r.more], [["f/b"], "2", false]);
    r = ok(await both(kv, "range", { ...range, limit: 1n, maxModRevision: BigInt(ra) }));
    assert.deepEqual([keys(r), r.count, r.more], [["f/a"], "2", false]);
    r = ok(
      await both(kv, "range", { ...range, minCreateRevision: BigInt(rb), maxCreateRevision: BigInt(rb) }),
    );
    assert.deepEqual([keys(r), r.count], [["f/b"], "2"]);
    r = ok(await both(kv, "range", { ...range, limit: 1n }));
    assert.deepEqual([keys(r), r.count, r.more], [["f/a"], "2", true]);
    r = ok(await both(kv, "range", { ...range, limit: -1n }));
    assert.deepEqual([keys(r), r.more], [["f/a", "f/b"], false]);
    r = ok(await both(kv, "range", { ...range, countOnly: true, limit: 1n }));
    assert.deepEqual([r.kvs, r.count, r.more], [[], "2", false]);
    r = ok(await both(kv, "range", { ...range, keysOnly: true }));
    assert.deepEqual(
      (r.kvs as { value: string }[]).map((x) => x.value),
      ["", ""],
    );
    r = ok(await both(kv, "range", { key: B("\0"), rangeEnd: B("\0"), countOnly: true }));
    assert.ok(Number(r.count) >= 3);
    r = ok(await both(kv, "range", { key: B("f0"), rangeEnd: B("f/") }));
    assert.deepEqual([r.kvs, r.count], [[], "0"]);
  });

  test("range sort: order NONE with a target sorts ascending, but only the first limit+1 keys (etcd's quirk)", async () => {
    // Versions by key: s/a 3, s/b 1, s/c 2.
    for (const [k, n] of [
      ["s/a", 3],
      ["s/b", 1],
      ["s/c", 2],
    ] as const) {
      for (let i = 0; i < n; i++) ok(await both(kv, "put", { key: B(k), value: B(`${k}${i}`) }));
    }
    const range = { key: B("s/"), rangeEnd: B("s0") };
    const sorted = async (x: Partial<RangeRequest>) => keys(await both(kv, "range", { ...range, ...x }));
    assert.deepEqual(await sorted({ sortTarget: 1 }), ["s/b", "s/c", "s/a"]);
    assert.deepEqual(await sorted({ sortTarget: 1, limit: 1n }), ["s/b"]); // read s/a, s/b; sorted; cut to 1
    assert.deepEqual(await sorted({ sortTarget: 1, sortOrder: 1, limit: 1n }), ["s/b"]);
    assert.deepEqual(await sorted({ sortTarget: 1, sortOrder: 2, limit: 2n }), ["s/a", "s/c"]);
    assert.deepEqual(await sorted({ sortTarget: 0, sortOrder: 2, limit: 2n }), ["s/c", "s/b"]);
    assert.deepEqual(await sorted({ sortTarget: 4, sortOrder: 2 }), ["s/c", "s/b", "s/a"]);
    assert.deepEqual(await sorted({ sortTarget: 3, sortOrder: 1 }), ["s/a", "s/b", "s/c"]);
    assert.deepEqual(await sorted({ sortTarget: 2, sortOrder: 2 }), ["s/c", "s/b", "s/a"]);
    // etcd 3.4 ignores an unknown sort order: key order, whatever the target.
    assert.deepEqual(await sorted({ sortOrder: 7 as RangeRequest_SortOrder, sortTarget: 1, limit: 2n }), [
      "s/a",
      "s/b",
    ]);
    const r = ok(
      await both(kv, "txn", {
        success: [get("s/", { rangeEnd: B("s0"), sortOrder: 9 as RangeRequest_SortOrder })],
      }),
    );
    assert.equal(r.succeeded, true);
  });

  test("an unknown sort target is refused (etcd 3.4 crashes on it; 3.6's error)", async () => {
    // Never sent to the real etcd: it would panic.
    fails(
      await call(kv.ours, "range", { key: B("s/"), sortTarget: 9, sortOrder: 1 }),
      status.INVALID_ARGUMENT,
      "etcdserver: invalid sort option",
    );
  });

  test("read header: the current revision, even when reading an older one; revision <= 0 is the latest", async () => {
    const cur = rev(await both(kv, "range", { key: B("a") }));
    const r = ok(await both(kv, "range", { key: B("a"), revision: 2n }));
    assert.equal((r.header as { revision: string }).revision, cur);
    assert.equal((r.kvs as { value: string }[])[0]!.value, "1");
    assert.equal(rev(await both(kv, "range", { key: B("a"), revision: -3n })), cur);
    fails(
      await both(kv, "range", { key: B("a"), revision: BigInt(cur) + 1n }),
      status.OUT_OF_RANGE,
      "etcdserver: mvcc: required revision is a future revision",
    );
    ok(await both(kv, "range", { key: B("a"), serializable: true }));
  });

  test("delete: nothing deleted keeps the revision; prev_kvs when asked", async () => {
    const cur = rev(await both(kv, "range", { key: B("a") }));
    const none = ok(await both(kv, "deleteRange", { key: B("nothing"), prevKv: true }));
    assert.deepEqual(
      [(none.header as { revision: string }).revision, none.deleted, none.prevKvs],
      [cur, "0", []],
    );
    const d = ok(await both(kv, "deleteRange", { key: B("f/"), rangeEnd: B("f0"), prevKv: true }));
    assert.deepEqual([d.deleted, (d.prevKvs as { key: string }[]).map((x) => x.key)], ["2", ["f/a", "f/b"]]);
    assert.equal((d.header as { revision: string }).revision, String(BigInt(cur) + 1n));
  });

  test("txn: at most --max-txn-ops (128) per level; nested txns get what the outer level left", async () => {
    const msg = "etcdserver: too many operations in txn request";
    fails(
      await both(kv, "txn", { compare: many(129, (i) => versionIs(`k${i}`, 0n)) }),
      status.INVALID_ARGUMENT,
      msg,
    );
    fails(await both(kv, "txn", { success: many(129, (i) => get(`k${i}`)) }), status.INVALID_ARGUMENT, msg);
    fails(await both(kv, "txn", { failure: many(129, (i) => get(`k${i}`)) }), status.INVALID_ARGUMENT, msg);
    ok(
      await both(kv, "txn", {
        compare: many(128, (i) => versionIs(`k${i}`, 0n)),
        success: many(128, (i) => get(`k${i}`)),
        failure: many(128, (i) => get(`k${i}`)),
      }),
    );
    fails(
      await both(kv, "txn", { success: [nested({ success: many(128, (i) => get(`k${i}`)) })] }),
      status.INVALID_ARGUMENT,
      msg,
    );
    ok(await both(kv, "txn", { success: [nested({ success: many(127, (i) => get(`k${i}`)) })] }));
    // The op count is checked before the keys.
    fails(
      await both(kv, "txn", { success: [...many(129, (i) => get(`k${i}`)), get("")] }),
      status.INVALID_ARGUMENT,
      msg,
    );
  });

  test("txn validation: empty keys, an empty RequestOp", async () => {
    const invalid = status.INVALID_ARGUMENT;
    fails(
      await both(kv, "txn", { compare: [versionIs("", 0n)] }),
      invalid,
      "etcdserver: key is not provided",
    );
    fails(await both(kv, "txn", { success: [get("")] }), invalid, "etcdserver: key is not provided");
    fails(await both(kv, "txn", { failure: [put("", "x")] }), invalid, "etcdserver: key is not provided");
    fails(await both(kv, "txn", { success: [del("")] }), invalid, "etcdserver: key is not provided");
    fails(
      await both(kv, "txn", { success: [put("a", "x", { ignoreValue: true })] }),
      invalid,
      "etcdserver: value is provided",
    );
    fails(await both(kv, "txn", { success: [{}] }), invalid, "etcdserver: key not found");
    fails(
      await both(kv, "txn", { success: [nested({ failure: [{}] })] }),
      invalid,
      "etcdserver: key not found",
    );
  });

  test("txn duplicate-key rule, exactly as etcd 3.4's checkIntervals", async () => {
    const dup = async (t: Partial<TxnRequest>) =>
      fails(
        await both(kv, "txn", t),
        status.INVALID_ARGUMENT,
        "etcdserver: duplicate key given in txn request",
      );
    await dup({ success: [put("x", "1"), put("x", "2")] });
    await dup({ failure: [del("x"), put("x", "2")] });
    await dup({ success: [put("x", "1"), del("a", "z")] });
    await dup({ success: [nested({ success: [put("x", "1")] }), put("x", "3")] });
    await dup({ success: [nested({ success: [del("w", "y")] }), nested({ failure: [put("x", "1")] })] });
    await dup({ success: [del("w", "y"), nested({ success: [put("x", "1")] })] });
    await dup({ success: [nested({ success: [put("x", "1")] }), nested({ failure: [put("x", "2")] })] });
    const allowed = async (t: Partial<TxnRequest>) => ok(await both(kv, "txn", t));
    await allowed({ success: [put("x", "1")], failure: [put("x", "2")] });
    await allowed({ success: [nested({ success: [put("x", "1")], failure: [put("x", "2")] })] });
    await allowed({ success: [nested({ success: [put("x", "1")], failure: [del("x")] })] });
    await allowed({ success: [nested({ success: [put("x", "1")] }), nested({ success: [del("w", "y")] })] });
    await allowed({ success: [del("a", "z"), del("x")] });
    await allowed({ success: [put("x", "1"), del("y", "a")] }); // an inverted range holds no key
    // A from-key delete's range_end "\0" is taken literally by the check, so it covers nothing there.
    const r = ok(await both(kv, "txn", { success: [put("zz", "1"), del("zz", "\0", { prevKv: true })] }));
    assert.equal(
      (r.responses as { response: { value: { deleted: string } } }[])[1]!.response.value.deleted,
      "1",
    );
  });

  test("txn sub-response headers: only the revision each op saw; a nested txn's header is empty", async () => {
    const cur = BigInt(rev(await both(kv, "range", { key: B("a") })));
    const r = ok(
      await both(kv, "txn", {
        success: [
          get("a"),
          del("none"),
          put("h", "1"),
          get("a"),
          del("none"),
          nested({ success: [get("a")] }),
        ],
      }),
    );
    const hdr = (rv: bigint) => ({ clusterId: "0", memberId: "0", revision: String(rv), raftTerm: "0" });
    const subs = (
      r.responses as { response: { $case: string; value: { header: unknown; responses?: unknown[] } } }[]
    ).map((x) => x.response.value.header);
    assert.deepEqual(subs, [hdr(cur), hdr(cur), hdr(cur + 1n), hdr(cur + 1n), hdr(cur + 1n), hdr(0n)]);
    assert.equal(rev(r), String(cur + 1n));
    // A read-only txn: every header at the current revision.
    const ro = ok(await both(kv, "txn", { success: [get("a"), get("h")] }));
    assert.deepEqual(
      (ro.responses as { response: { value: { header: unknown } } }[]).map((x) => x.response.value.header),
      [hdr(cur + 1n), hdr(cur + 1n)],
    );
  });

  test("txn semantics: nested compares see the state before the txn; read-your-writes; empty compare is true", async () => {
    const r = ok(
      await both(kv, "txn", {
        success: [
          put("n/x", "1"),
          nested({
            compare: [versionIs("n/x", 0n)],
            success: [put("n/y", "before")],
            failure: [put("n/y", "after")],
          }),
          get("n/", { rangeEnd: B("n0") }),
        ],
      }),
    );
    const ops = r.responses as { response: { value: { succeeded?: boolean; kvs?: { value: string }[] } } }[];
    assert.equal(ops[1]!.response.value.succeeded, true);
    assert.deepEqual(
      ops[2]!.response.value.kvs!.map((kv) => kv.value),
      ["1", "before"],
    );
    // Compares on a missing key: VALUE is always false, the others compare with zero.
    const missing = (target: number, targetUnion: Compare["targetUnion"]) =>
      both(kv, "txn", { compare: [{ key: B("n/none"), rangeEnd: B(""), target, result: 0, targetUnion }] });
    assert.equal(ok(await missing(3, { $case: "value", value: B("") })).succeeded, false);
    assert.equal(ok(await missing(1, { $case: "createRevision", value: 0n })).succeeded, true);
    assert.equal(ok(await missing(4, { $case: "lease", value: 0n })).succeeded, true);
    assert.equal(ok(await missing(2, undefined)).succeeded, true);
    // A range compare holds only if every key in it does.
    const ranged = (version: bigint, result: number) =>
      both(kv, "txn", {
        compare: [{ ...versionIs("n/", version, result), rangeEnd: B("n0") }],
      });
    assert.equal(ok(await ranged(1n, 0)).succeeded, true);
    assert.equal(ok(await ranged(0n, 1)).succeeded, true);
    assert.equal(ok(await ranged(1n, 3)).succeeded, false);
    assert.equal(ok(await both(kv, "txn", {})).succeeded, true);
  });

  test("txn apply-time failures abort everything", async () => {
    const cur = rev(await both(kv, "range", { key: B("a") }));
    fails(
      await both(kv, "txn", { success: [put("ab/1", "1"), put("ab/2", "2", { lease: 77n })] }),
      status.NOT_FOUND,
      "etcdserver: requested lease not found",
    );
    fails(
      await both(kv, "txn", { success: [put("ab/1", "1"), put("ab/absent", "", { ignoreValue: true })] }),
      status.INVALID_ARGUMENT,
      "etcdserver: key not found",
    );
    fails(
      await both(kv, "txn", { success: [put("ab/1", "1"), get("a", { revision: 1_000_000n })] }),
      status.OUT_OF_RANGE,
      "etcdserver: mvcc: required revision is a future revision",
    );
    assert.deepEqual(keys(await both(kv, "range", { key: B("ab/"), rangeEnd: B("ab0") })), []);
    assert.equal(rev(await both(kv, "range", { key: B("a") })), cur);
  });

  test("compact: future, physical, the compact revision itself readable, below it not, twice refused", async () => {
    for (let i = 0; i < 3; i++) ok(await both(kv, "put", { key: B("cmp"), value: B(String(i)) }));
    const cur = BigInt(rev(await both(kv, "range", { key: B("cmp") })));
    const oor = status.OUT_OF_RANGE;
    const future = "etcdserver: mvcc: required revision is a future revision";
    const compacted = "etcdserver: mvcc: required revision has been compacted";
    fails(await both(kv, "compact", { revision: cur + 1n }), oor, future);
    const at = cur - 1n;
    const c = ok(await both(kv, "compact", { revision: at, physical: true }));
    assert.equal((c.header as { revision: string }).revision, String(cur));
    assert.deepEqual(
      (ok(await both(kv, "range", { key: B("cmp"), revision: at })).kvs as { value: string }[]).map(
        (x) => x.value,
      ),
      ["1"],
    );
    fails(await both(kv, "range", { key: B("cmp"), revision: at - 1n }), oor, compacted);
    fails(await both(kv, "txn", { success: [get("cmp", { revision: at - 1n })] }), oor, compacted);
    fails(await both(kv, "compact", { revision: at }), oor, compacted);
    fails(await both(kv, "compact", { revision: at - 1n }), oor, compacted);
    ok(await both(kv, "compact", { revision: cur }));
  });

  test("the same requests took the same raft log entries: refusals before raft take none, at apply one", async (t) => {
    if (!endpoints.etcd) return t.skip(noEtcd);
    const index = async (endpoint: string) => {
      const m = new MaintenanceClient(endpoint, credentials.createInsecure());
      try {
        const st = await new Promise<StatusResponse>((resolve, reject) =>
          m.status(StatusRequest.fromPartial({}), (err, res) => (err ? reject(err) : resolve(res))),
        );
        return [st.raftIndex, st.raftAppliedIndex, st.header?.revision];
      } finally {
        m.close();
      }
    };
    assert.deepEqual(await index(endpoints.ours), await index(endpoints.etcd));
  });
});

describe("KV limits: --max-request-bytes 1024", () => {
  let kv: Kv;
  let stop: () => Promise<void>;
  before(async () => {
    ({ kv, stop } = await start(["--max-request-bytes", "1024"]));
  });
  after(async () => {
    await stop?.();
  });

  test("a proposal over the limit is refused; a message over limit + 512 KiB is refused by gRPC", async () => {
    ok(await both(kv, "put", { key: B("a"), value: Buffer.alloc(900) }));
    fails(
      await both(kv, "put", { key: B("a"), value: Buffer.alloc(2000) }),
      status.INVALID_ARGUMENT,
      "etcdserver: request is too large",
    );
    const huge = { key: B("a"), value: Buffer.alloc(600 * 1024) };
    const size = PutRequest.encode(PutRequest.fromPartial(huge)).finish().length;
    fails(
      await both(kv, "put", huge),
      status.RESOURCE_EXHAUSTED,
      `grpc: received message larger than max (${size} vs. ${1024 + 512 * 1024})`,
    );
  });

  test("reads are not proposals, but a txn with a nested txn is, even when it only reads", async () => {
    ok(await both(kv, "range", { key: B("a"), rangeEnd: Buffer.alloc(2000, 1) }));
    const ranges = many(100, (i) => get(`key-number-${i}`));
    ok(await both(kv, "txn", { success: ranges }));
    fails(
      await both(kv, "txn", { success: [nested({ success: ranges })] }),
      status.INVALID_ARGUMENT,
      "etcdserver: request is too large",
    );
  });
});
