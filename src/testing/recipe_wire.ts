// Owns what the Lock and Election wire tests share: raw gRPC calls as comparable outcomes (cancelable), the
// keys under a prefix, lease grants, and polling for an outcome with a bounded deadline.
import assert from "node:assert/strict";
import { type CallOptions, type ClientUnaryCall, Metadata, type ServiceError } from "@grpc/grpc-js";
import { type KVClient, type LeaseClient, RangeRequest } from "../proto/index.js";

/** Generous: etcd cleans up a canceled waiter asynchronously; a loaded CI machine may be slow. */
export const OUTCOME_DEADLINE_MS = 20_000;

export type Outcome<T> = { ok: true; res: T } | { ok: false; code: number; details: string };

/** A generated client's unary method (its last overload: request, metadata, options, callback). */
export type Unary<Req, Res> = (
  req: Req,
  metadata: Metadata,
  opts: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

/** A unary call that never rejects: the response or the status. `call` can cancel it. */
export function rpc<Req, Res>(
  fn: Unary<Req, Res>,
  req: Req,
  opts: { deadline?: number } = {},
): { outcome: Promise<Outcome<Res>>; call: ClientUnaryCall } {
  let call!: ClientUnaryCall;
  const outcome = new Promise<Outcome<Res>>((resolve) => {
    call = fn(req, new Metadata(), opts, (err, res) =>
      resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, res }),
    );
  });
  return { outcome, call };
}

/** The response of a call that must succeed. */
export async function ok<Req, Res>(fn: Unary<Req, Res>, req: Req): Promise<Res> {
  const o = await rpc(fn, req).outcome;
  if (!o.ok) assert.fail(`call failed: ${o.code} ${o.details}`);
  return o.res;
}

/** The status of a call that must fail. */
export async function failure<Req, Res>(
  fn: Unary<Req, Res>,
  req: Req,
): Promise<{ code: number; details: string }> {
  const o = await rpc(fn, req).outcome;
  if (o.ok)
    assert.fail(
      `call succeeded: ${JSON.stringify(o.res, (_, v) => (typeof v === "bigint" ? String(v) : v))}`,
    );
  return { code: o.code, details: o.details };
}

export async function grant(lease: LeaseClient, ttl = 60n): Promise<bigint> {
  return (await ok(lease.leaseGrant.bind(lease), { ID: 0n, TTL: ttl })).ID;
}

/** The keys under `prefix` as `key=value`, oldest first (create revision). */
export async function keys(kv: KVClient, prefix: string): Promise<string[]> {
  const end = Buffer.from(prefix);
  end[end.length - 1]!++;
  const req = RangeRequest.fromPartial({
    key: Buffer.from(prefix),
    rangeEnd: end,
    sortOrder: 1,
    sortTarget: 2,
  });
  const res = await ok(kv.range.bind(kv), req);
  return res.kvs.map((k) => `${k.key}=${k.value}`);
}

/** Polls until `cond` holds: an outcome is asserted, the deadline only bounds a hang. */
export async function eventually(cond: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + OUTCOME_DEADLINE_MS;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether a promise is still pending after the server answered a later request (a read round trip). */
export async function stillPending(p: Promise<unknown>, roundTrip: () => Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await roundTrip();
  return !settled;
}
