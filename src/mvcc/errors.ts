// Owns the errors users can cause through the store; the API layer maps each class once to etcd's gRPC
// status and message (e.g. ErrCompacted -> OutOfRange "etcdserver: mvcc: required revision has been compacted").

export abstract class MvccError extends Error {}

/** The requested revision is older than the compact revision (or, for Compact/HashKV, not newer). */
export class ErrCompacted extends MvccError {
  override name = "ErrCompacted";
  constructor() {
    super("mvcc: required revision has been compacted");
  }
}

/** The requested revision is newer than the current revision. */
export class ErrFutureRev extends MvccError {
  override name = "ErrFutureRev";
  constructor() {
    super("mvcc: required revision is a future revision");
  }
}

/** Put with ignore_value/ignore_lease on an absent key (etcd returns "etcdserver: key not found"). */
export class ErrKeyNotFound extends MvccError {
  override name = "ErrKeyNotFound";
  constructor() {
    super("etcdserver: key not found");
  }
}

/** A sort order or target outside the enum (3.6+ rejects it; 3.4 would crash). */
export class ErrInvalidSortOption extends MvccError {
  override name = "ErrInvalidSortOption";
  constructor() {
    super("etcdserver: invalid sort option");
  }
}

/** The store was closed while the operation was pending. */
export class ErrClosed extends MvccError {
  override name = "ErrClosed";
  constructor() {
    super("mvcc: closed");
  }
}
