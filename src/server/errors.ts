// Owns the typed errors the server raises for conditions a user can cause; api/grpc maps them to etcd's wire errors.

export type ServerErrorKind =
  | "EmptyKey"
  | "KeyNotFound"
  | "ValueProvided"
  | "LeaseProvided"
  | "TooManyOps"
  | "DuplicateKey"
  | "RequestTooLarge"
  | "TooManyRequests"
  | "LeaseNotFound"
  | "LeaseExist"
  | "LeaseTTLTooLarge"
  | "NoSpace"
  | "NoLeader"
  | "NotLeader"
  | "LeaderChanged"
  | "Stopped"
  | "Timeout"
  | "TimeoutDueToLeaderFail"
  | "TimeoutDueToConnectionLost"
  | "TimeoutWaitAppliedIndex"
  | "Canceled"
  | "Corrupt"
  | "MemberNotFound"
  | "MemberExists"
  | "PeerURLExists"
  | "MemberNotEnoughStarted"
  | "MemberBadURLs"
  | "MemberNotLearner"
  | "LearnerNotReady"
  | "TooManyLearners"
  | "Unhealthy"
  | "BadLeaderTransferee"
  | "LeaderTransferTimeout"
  | "NotSupportedForLearner"
  | "NotCapable";

export class ServerError extends Error {
  override name = "ServerError";
  constructor(
    readonly kind: ServerErrorKind,
    detail?: string,
  ) {
    super(detail ?? kind);
  }
}

/** True for a "requested lease not found" raised by the server or by the lessor. */
export function isLeaseNotFound(err: unknown): boolean {
  const kind = (err as { kind?: unknown } | null)?.kind;
  return (
    (err instanceof ServerError || (err instanceof Error && err.name === "LeaseError")) &&
    kind === "LeaseNotFound"
  );
}
