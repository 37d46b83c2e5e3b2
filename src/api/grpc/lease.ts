// Owns the etcdserverpb.Lease gRPC service: unary Grant/Revoke/TimeToLive/Leases and the LeaseKeepAlive stream,
// translated onto a LeaseBackend (the server's LeaseOps) with etcd's errors and quirks.
import type { Readable } from "node:stream";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import type {
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseServer,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  ResponseHeader,
} from "../../proto/index.js";
import type { Credentials } from "../../server/auth_ops.js";
import { isLeaseNotFound } from "../../server/errors.js";
import { credentialsOf } from "./credentials.js";
import { toServiceError } from "./errors.js";
import { unary } from "./unary.js";

/** What the Lease service needs from the server (implemented by server/lease_ops.ts's LeaseOps). */
export interface LeaseBackend {
  /** Both go through raft as the caller (`cred`): a revoke needs write access to every key of the lease. */
  leaseGrant(req: LeaseGrantRequest, cred: Credentials): Promise<LeaseGrantResponse>;
  leaseRevoke(req: LeaseRevokeRequest, cred: Credentials): Promise<LeaseRevokeResponse>;
  /** The renewed TTL; throws a lease-not-found error (see isLeaseNotFound) for an unknown or expired lease. */
  leaseRenew(id: bigint): Promise<bigint>;
  /** TTL -1 (no error) for an unknown lease. */
  leaseTimeToLive(req: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse>;
  leaseLeases(): Promise<LeaseLeasesResponse>;
  /** Header at the current revision. */
  currentHeader(): ResponseHeader;
}

export function leaseService(backend: LeaseBackend): LeaseServer {
  return {
    leaseGrant: unary(async (req, call) => backend.leaseGrant(req, credentialsOf(call))),
    leaseRevoke: unary(async (req, call) => backend.leaseRevoke(req, credentialsOf(call))),
    leaseTimeToLive: unary(async (req) => backend.leaseTimeToLive(req)),
    leaseLeases: unary(async () => backend.leaseLeases()),
    leaseKeepAlive: (call) => {
      void keepAlive(backend, call);
    },
  };
}

/**
 * One request at a time, in order: the next request is read only after the previous reply is written, so a
 * slow client holds back its own stream and nothing queues up here. An unknown or expired lease gets TTL 0
 * (not an error, as etcd); any other error ends the stream with that status.
 */
async function keepAlive(
  backend: LeaseBackend,
  call: ServerDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>,
): Promise<void> {
  // destroyOnReturn false: the call must outlive the loop to send its final status.
  const requests: AsyncIterable<LeaseKeepAliveRequest> = (call as unknown as Readable).iterator({
    destroyOnReturn: false,
  });
  try {
    for await (const req of requests) {
      // The header is taken before the renew, so its revision is never newer than the renewal (etcd does this).
      const header = backend.currentHeader();
      let TTL: bigint;
      try {
        TTL = await backend.leaseRenew(req.ID);
      } catch (err) {
        if (!isLeaseNotFound(err)) throw err;
        TTL = 0n;
      }
      if (call.cancelled || call.destroyed) return;
      await send(call, { header, ID: req.ID, TTL });
    }
    if (!call.destroyed) call.end();
  } catch (err) {
    if (!call.cancelled && !call.destroyed) call.emit("error", toServiceError(err));
  }
}

function send(
  call: ServerDuplexStream<unknown, LeaseKeepAliveResponse>,
  msg: LeaseKeepAliveResponse,
): Promise<void> {
  if (call.write(msg)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      call.off("drain", done);
      call.off("close", done);
      resolve();
    };
    call.once("drain", done);
    call.once("close", done);
  });
}
