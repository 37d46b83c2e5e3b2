// Differential check of the Lock and Election services: one deterministic script (leases with chosen IDs) runs
// against a real etcd 3.4 and an etcd-ts, and every response or error must be the same, field for field, apart
// from the cluster-specific header fields (cluster and member ID, raft term).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ClientReadableStream, credentials } from "@grpc/grpc-js";
import {
  ElectionClient,
  KVClient,
  type LeaderResponse,
  LeaseClient,
  LockClient,
  PutRequest,
} from "../../proto/index.js";
import { hasEtcd, type Pair, startPair } from "../../testing/differential.js";
import { eventually, keys, type Outcome, ok, rpc, type Unary } from "../../testing/recipe_wire.js";

const b = (s: string): Buffer => Buffer.from(s);
const [L1, L2] = [0x1001n, 0x1002n];

/** Responses as JSON, bigints and bytes as strings, the header reduced to what two clusters share. */
function normalize(v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString("latin1");
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === "object") {
    const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
    if ("clusterId" in o && "raftTerm" in o) return { revision: o.revision };
    return o;
  }
  return v;
}

/** The script, run against one server: each step's outcome, in order. */
async function script(endpoint: string): Promise<unknown[]> {
  const cred = credentials.createInsecure();
  const [lock, el, lease, kv] = [
    new LockClient(endpoint, cred),
    new ElectionClient(endpoint, cred),
    new LeaseClient(endpoint, cred),
    new KVClient(endpoint, cred),
  ];
  const log: unknown[] = [];
  const step = async <Req, Res>(what: string, fn: Unary<Req, Res>, req: Req): Promise<Outcome<Res>> => {
    const o = await rpc(fn, req).outcome;
    log.push({ what, ...(normalize(o) as object) });
    return o;
  };
  const L = lock.lock.bind(lock);
  const U = lock.unlock.bind(lock);
  const C = el.campaign.bind(el);
  const P = el.proclaim.bind(el);
  const R = el.resign.bind(el);
  const LD = el.leader.bind(el);
  const observed: unknown[] = [];
  let stream: ClientReadableStream<LeaderResponse> | undefined;
  try {
    await step("lock, unknown lease", L, { name: b("l"), lease: 0x99n });
    for (const ID of [L1, L2]) await ok(lease.leaseGrant.bind(lease), { ID, TTL: 60n });
    await step("lock", L, { name: b("l"), lease: L1 });
    await step("lock again", L, { name: b("l"), lease: L1 });
    await step("lock, empty name", L, { name: b(""), lease: L1 });
    await step("unlock", U, { key: b(`l/${L1.toString(16)}`) });
    await step("unlock, no such key", U, { key: b("nokey") });
    await step("unlock, empty key", U, { key: b("") });
    const a = await step("lock m", L, { name: b("m"), lease: L1 });
    const waiting = rpc(L, { name: b("m"), lease: L2 }).outcome;
    await eventually(async () => (await keys(kv, "m/")).length === 2, "the waiter is queued");
    await step("unlock m", U, { key: a.ok ? a.res.key : b("") });
    log.push({ what: "waiter acquires", ...(normalize(await waiting) as object) });

    // Each change is awaited on the stream before the next, so both servers' watches are caught up (a catching-up
    // watch reports the store's revision in its header, a caught-up one the event's).
    const seen = (n: number) => eventually(async () => observed.length >= n, `the observer saw change ${n}`);
    stream = el.observe({ name: b("e") });
    stream.on("data", (r: LeaderResponse) => observed.push(normalize(r)));
    stream.on("error", () => undefined);
    await keys(kv, "\u0000");
    await ok(kv.put.bind(kv), PutRequest.fromPartial({ key: b("e/raw"), value: b("raw") }));
    await seen(1);
    await ok(kv.deleteRange.bind(kv), { key: b("e/raw"), rangeEnd: Buffer.alloc(0), prevKv: false });
    await step("leader, none", LD, { name: b("e") });
    await step("campaign, unknown lease", C, { name: b("e"), lease: 0x99n, value: b("v") });
    const c = await step("campaign", C, { name: b("e"), lease: L1, value: b("v1") });
    await seen(2);
    const leader = c.ok ? c.res.leader : undefined;
    await step("campaign again, same value", C, { name: b("e"), lease: L1, value: b("v1") });
    await step("campaign again, new value", C, { name: b("e"), lease: L1, value: b("v2") });
    await seen(3);
    await step("leader", LD, { name: b("e") });
    await step("proclaim", P, { leader, value: b("v3") });
    await seen(4);
    await step("proclaim, stale rev", P, { leader: leader && { ...leader, rev: 1n }, value: b("v4") });
    await step("proclaim, no leader key", P, { value: b("v4") });
    await step("resign, no leader key", R, {});
    await step("resign, stale rev", R, { leader: leader && { ...leader, rev: 1n } });
    await step("resign", R, { leader });
    await step("leader after resign", LD, { name: b("e") });
    log.push({ what: "observed", observed });
  } finally {
    stream?.cancel();
    for (const c of [lock, el, lease, kv]) c.close();
  }
  return log;
}

describe("Lock and Election, differential against real etcd", { timeout: 120_000 }, () => {
  let pair: Pair | undefined;
  before(async () => {
    if (hasEtcd()) pair = await startPair();
  });
  after(async () => {
    await pair?.stop();
  });

  test("one script, the same answers", { skip: hasEtcd() ? false : "no real etcd installed" }, async () => {
    const [theirs, ours] = await Promise.all([script(pair!.etcd.endpoint), script(pair!.ours.endpoint)]);
    assert.deepEqual(ours, theirs);
  });
});
