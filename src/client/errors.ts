// Owns the client's typed errors: etcd's gRPC errors rebuilt from their exact messages (clientv3's rpctypes),
// plus the errors the client raises itself (unavailable, deadline, closed, lease lost, watch canceled).
import { status as Status } from "@grpc/grpc-js";

export { Status };

/** Any error from an etcd call: `code` is the gRPC status code, `message` etcd's message byte for byte. */
export class EtcdError extends Error {
  override name = "EtcdError";
  constructor(
    /** gRPC status code (`Status.NOT_FOUND`, …). */
    readonly code: Status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---- errors etcd sends (rpctypes) ------------------------------------------------------------------

export class EmptyKeyError extends EtcdError {
  override name = "EmptyKeyError";
}
export class KeyNotFoundError extends EtcdError {
  override name = "KeyNotFoundError";
}
export class ValueProvidedError extends EtcdError {
  override name = "ValueProvidedError";
}
export class LeaseProvidedError extends EtcdError {
  override name = "LeaseProvidedError";
}
export class TooManyOpsError extends EtcdError {
  override name = "TooManyOpsError";
}
export class DuplicateKeyError extends EtcdError {
  override name = "DuplicateKeyError";
}
export class InvalidSortOptionError extends EtcdError {
  override name = "InvalidSortOptionError";
}
export class RequestTooLargeError extends EtcdError {
  override name = "RequestTooLargeError";
}
export class TooManyRequestsError extends EtcdError {
  override name = "TooManyRequestsError";
}
/** A revision below the compaction point. From a watch, `compactRevision` is the oldest revision still kept. */
export class CompactedError extends EtcdError {
  override name = "CompactedError";
  compactRevision?: bigint;
}
export class FutureRevisionError extends EtcdError {
  override name = "FutureRevisionError";
}
/** The NOSPACE alarm is active: compact, defragment, then disarm. */
export class NoSpaceError extends EtcdError {
  override name = "NoSpaceError";
}
export class LeaseNotFoundError extends EtcdError {
  override name = "LeaseNotFoundError";
}
export class LeaseExistsError extends EtcdError {
  override name = "LeaseExistsError";
}
export class LeaseTTLTooLargeError extends EtcdError {
  override name = "LeaseTTLTooLargeError";
}
/** A watcher the server canceled: `message` is etcd's cancel reason. */
export class WatchCanceledError extends EtcdError {
  override name = "WatchCanceledError";
}
/** Membership: member exists, peer URLs exist, bad URLs, not enough started, not a learner, learner not ready, … */
export class MemberError extends EtcdError {
  override name = "MemberError";
}
export class MemberNotFoundError extends EtcdError {
  override name = "MemberNotFoundError";
}
/** Auth management: users and roles that exist or not, root protections, empty names, grants. */
export class AuthManagementError extends EtcdError {
  override name = "AuthManagementError";
}
export class UserEmptyError extends EtcdError {
  override name = "UserEmptyError";
}
export class AuthFailedError extends EtcdError {
  override name = "AuthFailedError";
}
export class AuthNotEnabledError extends EtcdError {
  override name = "AuthNotEnabledError";
}
export class InvalidAuthTokenError extends EtcdError {
  override name = "InvalidAuthTokenError";
}
export class AuthOldRevisionError extends EtcdError {
  override name = "AuthOldRevisionError";
}
export class PermissionDeniedError extends EtcdError {
  override name = "PermissionDeniedError";
}
export class NoLeaderError extends EtcdError {
  override name = "NoLeaderError";
}
export class NotLeaderError extends EtcdError {
  override name = "NotLeaderError";
}
export class LeaderChangedError extends EtcdError {
  override name = "LeaderChangedError";
}
export class NotCapableError extends EtcdError {
  override name = "NotCapableError";
}
export class StoppedError extends EtcdError {
  override name = "StoppedError";
}
/** `etcdserver: request timed out` and its variants (leader failure, connection lost, applied index). */
export class RequestTimeoutError extends EtcdError {
  override name = "RequestTimeoutError";
}
export class UnhealthyClusterError extends EtcdError {
  override name = "UnhealthyClusterError";
}
export class CorruptError extends EtcdError {
  override name = "CorruptError";
}
export class LearnerNotSupportedError extends EtcdError {
  override name = "LearnerNotSupportedError";
}
export class BadLeaderTransfereeError extends EtcdError {
  override name = "BadLeaderTransfereeError";
}
/** Downgrade (3.5+): bad version, target, no job, job in progress. */
export class DowngradeError extends EtcdError {
  override name = "DowngradeError";
}
export class RequestCanceledError extends EtcdError {
  override name = "RequestCanceledError";
}

// ---- errors of the client itself -------------------------------------------------------------------

/** No endpoint could take the call (connection refused, dropped, or none ready within the dial timeout). */
export class UnavailableError extends EtcdError {
  override name = "UnavailableError";
  constructor(
    message: string,
    /** True when the request provably never left the client: safe to retry even for writes. */
    readonly neverSent = false,
    options?: { cause?: unknown },
  ) {
    super(Status.UNAVAILABLE, message, options);
  }
}
/** The call's deadline (`timeoutMs`) passed, on the client or the server. */
export class DeadlineExceededError extends EtcdError {
  override name = "DeadlineExceededError";
}
/** The client was closed before or during the call. */
export class ClientClosedError extends EtcdError {
  override name = "ClientClosedError";
  constructor() {
    super(Status.CANCELLED, "etcd client: closed");
  }
}
/** A kept-alive lease is gone: the server no longer knows it, or no renewal arrived before its TTL ran out. */
export class LeaseLostError extends EtcdError {
  override name = "LeaseLostError";
  constructor(
    readonly leaseId: bigint,
    readonly reason: "not-found" | "timeout" | "error",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(reason === "timeout" ? Status.DEADLINE_EXCEEDED : Status.NOT_FOUND, message, options);
  }
}

/**
 * An ordering view got a response older than one it had already seen, and no endpoint had a fresher one
 * (clientv3/ordering's ErrNoGreaterRev, same message). `revision` is the newest revision already seen.
 */
export class NoGreaterRevisionError extends EtcdError {
  override name = "NoGreaterRevisionError";
  constructor(readonly revision: bigint) {
    super(
      Status.UNAVAILABLE,
      "etcdclient: no cluster members have a revision higher than the previously received revision",
    );
  }
}

type ErrorClass = new (code: Status, message: string, options?: { cause?: unknown }) => EtcdError;

/** etcd's messages → class. Matched exactly, as clientv3 does; the code comes from the wire. */
const BY_MESSAGE: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>([
  ["etcdserver: key is not provided", EmptyKeyError],
  ["etcdserver: key not found", KeyNotFoundError],
  ["etcdserver: value is provided", ValueProvidedError],
  ["etcdserver: lease is provided", LeaseProvidedError],
  ["etcdserver: too many operations in txn request", TooManyOpsError],
  ["etcdserver: duplicate key given in txn request", DuplicateKeyError],
  ["etcdserver: invalid sort option", InvalidSortOptionError],
  ["etcdserver: mvcc: required revision has been compacted", CompactedError],
  ["etcdserver: mvcc: required revision is a future revision", FutureRevisionError],
  ["etcdserver: mvcc: database space exceeded", NoSpaceError],
  ["etcdserver: requested lease not found", LeaseNotFoundError],
  ["etcdserver: lease already exists", LeaseExistsError],
  ["etcdserver: too large lease TTL", LeaseTTLTooLargeError],
  ["etcdserver: watch canceled", WatchCanceledError],
  ["etcdserver: member ID already exist", MemberError],
  ["etcdserver: Peer URLs already exists", MemberError],
  ["etcdserver: re-configuration failed due to not enough started members", MemberError],
  ["etcdserver: given member URLs are invalid", MemberError],
  ["etcdserver: member not found", MemberNotFoundError],
  ["etcdserver: can only promote a learner member", MemberError],
  ["etcdserver: can only promote a learner member which is in sync with leader", MemberError],
  ["etcdserver: too many learner members in cluster", MemberError],
  ["etcdserver: cluster ID mismatch", MemberError],
  ["etcdserver: request is too large", RequestTooLargeError],
  ["etcdserver: too many requests", TooManyRequestsError],
  ["etcdserver: root user does not exist", AuthManagementError],
  ["etcdserver: root user does not have root role", AuthManagementError],
  ["etcdserver: user name already exists", AuthManagementError],
  ["etcdserver: user name not found", AuthManagementError],
  ["etcdserver: role name already exists", AuthManagementError],
  ["etcdserver: role name not found", AuthManagementError],
  ["etcdserver: role name is empty", AuthManagementError],
  ["etcdserver: role is not granted to the user", AuthManagementError],
  ["etcdserver: permission is not granted to the role", AuthManagementError],
  ["etcdserver: permission not given", AuthManagementError],
  ["etcdserver: invalid auth management", AuthManagementError],
  ["etcdserver: user name is empty", UserEmptyError],
  ["etcdserver: authentication failed, invalid user ID or password", AuthFailedError],
  ["etcdserver: authentication is not enabled", AuthNotEnabledError],
  ["etcdserver: invalid auth token", InvalidAuthTokenError],
  ["etcdserver: revision of auth store is old", AuthOldRevisionError],
  ["etcdserver: permission denied", PermissionDeniedError],
  ["etcdserver: no leader", NoLeaderError],
  ["etcdserver: not leader", NotLeaderError],
  ["etcdserver: leader changed", LeaderChangedError],
  ["etcdserver: not capable", NotCapableError],
  ["etcdserver: server stopped", StoppedError],
  ["etcdserver: request timed out", RequestTimeoutError],
  ["etcdserver: request timed out, possibly due to previous leader failure", RequestTimeoutError],
  ["etcdserver: request timed out, possibly due to connection lost", RequestTimeoutError],
  ["etcdserver: request timed out, waiting for the applied index took too long", RequestTimeoutError],
  ["etcdserver: unhealthy cluster", UnhealthyClusterError],
  ["etcdserver: corrupt cluster", CorruptError],
  ["etcdserver: rpc not supported for learner", LearnerNotSupportedError],
  ["etcdserver: bad leader transferee", BadLeaderTransfereeError],
  ["etcdserver: wrong downgrade target version format", DowngradeError],
  ["etcdserver: invalid downgrade target version", DowngradeError],
  ["etcdserver: cluster version not found during downgrade", DowngradeError],
  ["etcdserver: cluster has a downgrade job in progress", DowngradeError],
  ["etcdserver: no inflight downgrade job", DowngradeError],
  ["etcdserver: request canceled", RequestCanceledError],
  ["etcdserver: context deadline exceeded", DeadlineExceededError],
]);

/** grpc-js reports these when the call was never written to a connection. */
const NEVER_SENT = [/^No connection established/, /^Stream refused by server/];

/** Rebuilds the typed error for an etcd message with its gRPC code; unknown messages stay `EtcdError`. */
export function errorFromMessage(code: Status, message: string, cause?: unknown): EtcdError {
  const Class = BY_MESSAGE.get(message);
  const options = cause === undefined ? undefined : { cause };
  if (Class) return new Class(code, message, options);
  if (code === Status.UNAVAILABLE)
    return new UnavailableError(
      message,
      NEVER_SENT.some((re) => re.test(message)),
      options,
    );
  if (code === Status.DEADLINE_EXCEEDED) return new DeadlineExceededError(code, message, options);
  return new EtcdError(code, message, options);
}

/** Maps anything a grpc-js call can throw to an `EtcdError` (already-typed errors pass through). */
export function toEtcdError(err: unknown): EtcdError {
  if (err instanceof EtcdError) return err;
  if (isServiceError(err)) return errorFromMessage(err.code, err.details, err);
  if (err instanceof Error) return new EtcdError(Status.UNKNOWN, err.message, { cause: err });
  return new EtcdError(Status.UNKNOWN, String(err));
}

function isServiceError(err: unknown): err is { code: Status; details: string } {
  return (
    typeof err === "object" &&
    err !== null &&
    typeof (err as { code?: unknown }).code === "number" &&
    typeof (err as { details?: unknown }).details === "string"
  );
}

/** The compaction error a watch reports: etcd's message, with the oldest revision still available. */
export function watchCompactedError(compactRevision: bigint): CompactedError {
  const e = new CompactedError(Status.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted");
  e.compactRevision = compactRevision;
  return e;
}
