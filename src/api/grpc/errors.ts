// Owns the catalogue of etcd's client-facing errors: gRPC status code and message, byte for byte as etcd 3.4.
import { Metadata, type ServiceError, status as Status } from "@grpc/grpc-js";
import { AuthError, type AuthErrorKind } from "../../auth/errors.js";
import { LeaseError } from "../../lease/errors.js";
import { ServerError, type ServerErrorKind } from "../../server/errors.js";

interface WireError {
  code: Status;
  message: string;
}

const e = (code: Status, message: string): WireError => ({ code, message });

/** etcd's rpctypes: clients match these messages exactly to rebuild typed errors. */
export const WIRE: Record<ServerErrorKind, WireError> = {
  EmptyKey: e(Status.INVALID_ARGUMENT, "etcdserver: key is not provided"),
  KeyNotFound: e(Status.INVALID_ARGUMENT, "etcdserver: key not found"),
  ValueProvided: e(Status.INVALID_ARGUMENT, "etcdserver: value is provided"),
  LeaseProvided: e(Status.INVALID_ARGUMENT, "etcdserver: lease is provided"),
  TooManyOps: e(Status.INVALID_ARGUMENT, "etcdserver: too many operations in txn request"),
  DuplicateKey: e(Status.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request"),
  RequestTooLarge: e(Status.INVALID_ARGUMENT, "etcdserver: request is too large"),
  TooManyRequests: e(Status.RESOURCE_EXHAUSTED, "etcdserver: too many requests"),
  LeaseNotFound: e(Status.NOT_FOUND, "etcdserver: requested lease not found"),
  LeaseExist: e(Status.FAILED_PRECONDITION, "etcdserver: lease already exists"),
  LeaseTTLTooLarge: e(Status.OUT_OF_RANGE, "etcdserver: too large lease TTL"),
  NoSpace: e(Status.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded"),
  NoLeader: e(Status.UNAVAILABLE, "etcdserver: no leader"),
  NotLeader: e(Status.FAILED_PRECONDITION, "etcdserver: not leader"),
  LeaderChanged: e(Status.UNAVAILABLE, "etcdserver: leader changed"),
  Stopped: e(Status.UNAVAILABLE, "etcdserver: server stopped"),
  Timeout: e(Status.UNAVAILABLE, "etcdserver: request timed out"),
  TimeoutDueToLeaderFail: e(
    Status.UNAVAILABLE,
    "etcdserver: request timed out, possibly due to previous leader failure",
  ),
  TimeoutDueToConnectionLost: e(
    Status.UNAVAILABLE,
    "etcdserver: request timed out, possibly due to connection lost",
  ),
  TimeoutWaitAppliedIndex: e(
    Status.UNAVAILABLE,
    "etcdserver: request timed out, waiting for the applied index took too long",
  ),
  Canceled: e(Status.CANCELLED, "etcdserver: request canceled"),
  Corrupt: e(Status.DATA_LOSS, "etcdserver: corrupt cluster"),
  MemberNotFound: e(Status.NOT_FOUND, "etcdserver: member not found"),
  MemberExists: e(Status.FAILED_PRECONDITION, "etcdserver: member ID already exist"),
  PeerURLExists: e(Status.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists"),
  MemberNotEnoughStarted: e(
    Status.FAILED_PRECONDITION,
    "etcdserver: re-configuration failed due to not enough started members",
  ),
  MemberBadURLs: e(Status.INVALID_ARGUMENT, "etcdserver: given member URLs are invalid"),
  MemberNotLearner: e(Status.FAILED_PRECONDITION, "etcdserver: can only promote a learner member"),
  LearnerNotReady: e(
    Status.FAILED_PRECONDITION,
    "etcdserver: can only promote a learner member which is in sync with leader",
  ),
  TooManyLearners: e(Status.FAILED_PRECONDITION, "etcdserver: too many learner members in cluster"),
  Unhealthy: e(Status.UNAVAILABLE, "etcdserver: unhealthy cluster"),
  BadLeaderTransferee: e(Status.FAILED_PRECONDITION, "etcdserver: bad leader transferee"),
  // Not in etcd's gRPC error map, so it reaches the client as Unknown with the raw message.
  LeaderTransferTimeout: e(Status.UNKNOWN, "etcdserver: request timed out, leader transfer took too long"),
  NotSupportedForLearner: e(Status.UNAVAILABLE, "etcdserver: rpc not supported for learner"),
  NotCapable: e(Status.UNAVAILABLE, "etcdserver: not capable"),
};

/** etcd's auth errors (rpctypes ErrGRPC*), verified against etcd 3.4.23. */
export const AUTH_WIRE: Record<AuthErrorKind, WireError> = {
  RootUserNotExist: e(Status.FAILED_PRECONDITION, "etcdserver: root user does not exist"),
  RootRoleNotExist: e(Status.FAILED_PRECONDITION, "etcdserver: root user does not have root role"),
  UserAlreadyExist: e(Status.FAILED_PRECONDITION, "etcdserver: user name already exists"),
  UserEmpty: e(Status.INVALID_ARGUMENT, "etcdserver: user name is empty"),
  UserNotFound: e(Status.FAILED_PRECONDITION, "etcdserver: user name not found"),
  RoleAlreadyExist: e(Status.FAILED_PRECONDITION, "etcdserver: role name already exists"),
  RoleNotFound: e(Status.FAILED_PRECONDITION, "etcdserver: role name not found"),
  RoleEmpty: e(Status.INVALID_ARGUMENT, "etcdserver: role name is empty"),
  AuthFailed: e(Status.INVALID_ARGUMENT, "etcdserver: authentication failed, invalid user ID or password"),
  // Not in etcd 3.4's gRPC error map: Unknown with the auth package's message.
  NoPasswordUser: e(Status.UNKNOWN, "auth: authentication failed, password was given for no password user"),
  PermissionDenied: e(Status.PERMISSION_DENIED, "etcdserver: permission denied"),
  RoleNotGranted: e(Status.FAILED_PRECONDITION, "etcdserver: role is not granted to the user"),
  PermissionNotGranted: e(Status.FAILED_PRECONDITION, "etcdserver: permission is not granted to the role"),
  PermissionNotGiven: e(Status.INVALID_ARGUMENT, "etcdserver: permission not given"),
  AuthNotEnabled: e(Status.FAILED_PRECONDITION, "etcdserver: authentication is not enabled"),
  InvalidAuthToken: e(Status.UNAUTHENTICATED, "etcdserver: invalid auth token"),
  InvalidAuthMgmt: e(Status.INVALID_ARGUMENT, "etcdserver: invalid auth management"),
  AuthOldRevision: e(Status.INVALID_ARGUMENT, "etcdserver: revision of auth store is old"),
};

export const COMPACTED = e(Status.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted");
export const FUTURE_REV = e(Status.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision");

/**
 * An error as etcd's Maintenance service sends it: 3.4 does not map the auth errors of its root check, so they
 * arrive as Unknown with the auth package's message ("auth: permission denied").
 */
export function toUnmappedServiceError(err: unknown): Partial<ServiceError> {
  if (!(err instanceof AuthError)) return toServiceError(err);
  return { code: Status.UNKNOWN, details: err.message, message: err.message, metadata: new Metadata() };
}

/** An error as grpc-js sends it. etcd also sets no extra metadata for these. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const w = toWire(err);
  return { code: w.code, details: w.message, message: w.message, metadata: new Metadata() };
}

/** Mapping of internal errors to the wire; unknown errors are Unknown with their raw message, as etcd does. */
export function toWire(err: unknown): WireError {
  if (err instanceof ServerError || err instanceof LeaseError) return WIRE[err.kind];
  if (err instanceof AuthError) return AUTH_WIRE[err.kind];
  if (err instanceof Error) {
    const mapped = MVCC_BY_NAME[err.name];
    if (mapped) return mapped;
    return e(Status.UNKNOWN, err.message);
  }
  return e(Status.UNKNOWN, String(err));
}

/** mvcc's typed errors, by class name (mvcc does not import the API layer). */
const MVCC_BY_NAME: Record<string, WireError> = {
  ErrCompacted: COMPACTED,
  ErrFutureRev: FUTURE_REV,
  ErrKeyNotFound: WIRE.KeyNotFound,
  ErrInvalidSortOption: e(Status.INVALID_ARGUMENT, "etcdserver: invalid sort option"),
  ErrClosed: WIRE.Stopped,
};
