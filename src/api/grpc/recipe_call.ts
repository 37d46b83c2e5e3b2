// Owns what the Lock and Election services share: the server as etcd's in-process client sees it (KV requests
// validated as the KV service does), a request's context as an AbortSignal, and etcd's error passing for them
// (every error is gRPC Unknown with its message: v3lock/v3election return clientv3's errors unmapped).
import type { EventEmitter } from "node:events";
import {
  Metadata,
  type ServerUnaryCall,
  type ServiceError,
  status as Status,
  type sendUnaryData,
} from "@grpc/grpc-js";
import type { Credentials } from "../../server/auth_ops.js";
import {
  ERR_CONTEXT_CANCELED,
  ERR_DEADLINE_EXCEEDED,
  type RecipeBackend,
  RecipeError,
} from "../../server/concurrency.js";
import type { EtcdServer } from "../../server/server.js";
import { credentialsOf } from "./credentials.js";
import { toWire } from "./errors.js";
import { checkDeleteRange, checkRange, checkTxn } from "./validate.js";

/** The server as one caller sees it: etcd's in-process client forwards the caller's token, so KV rules apply. */
export type RecipeBackends = (cred: Credentials) => RecipeBackend;

export function recipeBackend(server: EtcdServer): RecipeBackends {
  return (cred) => ({
    range: async (req) => {
      checkRange(req);
      return server.range(req, cred);
    },
    txn: async (req) => {
      checkTxn(req, server.cfg.maxTxnOps);
      return server.txn(req, cred);
    },
    deleteRange: async (req) => {
      checkDeleteRange(req);
      return server.deleteRange(req, cred);
    },
    leaseGrant: (req) => server.lease.leaseGrant(req, cred),
    watchable: server.watchable,
    header: (rev) => server.header(rev),
  });
}

/** etcd's status for any error of these services: Unknown with the message clientv3 saw. */
export function recipeError(err: unknown): Partial<ServiceError> {
  const message = toWire(err).message;
  return { code: Status.UNKNOWN, details: message, message, metadata: new Metadata() };
}

/**
 * The call's context as a signal: aborted with Go's context error when the client cancels or the deadline
 * passes (grpc-js reports both as 'cancelled'). `release` detaches it once the handler is done.
 */
export function callSignal(call: Pick<ServerUnaryCall<unknown, unknown>, "getDeadline"> & EventEmitter): {
  signal: AbortSignal;
  release(): void;
} {
  const ac = new AbortController();
  const onCancel = (): void => {
    const deadline = call.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() : deadline;
    const expired = Number.isFinite(ms) && ms <= Date.now();
    ac.abort(new RecipeError(expired ? ERR_DEADLINE_EXCEEDED : ERR_CONTEXT_CANCELED));
  };
  call.on("cancelled", onCancel);
  if ((call as { cancelled?: boolean }).cancelled) onCancel();
  return { signal: ac.signal, release: () => call.off("cancelled", onCancel) };
}

/** A unary handler run with the call's signal, its errors passed as etcd passes them. */
export function recipeUnary<Req, Res>(
  fn: (req: Req, signal: AbortSignal, cred: Credentials) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const { signal, release } = callSignal(call);
    fn(call.request, signal, credentialsOf(call))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(recipeError(err) as ServiceError),
      )
      .finally(release);
  };
}
