// Owns the typed errors of the concurrency recipes, with clientv3/concurrency's exact messages.
import { EtcdError, Status } from "../errors.js";

/** `tryLock` found the mutex held by another session (clientv3: ErrLocked). */
export class LockedError extends EtcdError {
  override name = "LockedError";
  constructor() {
    super(Status.FAILED_PRECONDITION, "mutex: Locked by another session");
  }
}
/** The session's lease (and with it the lock key) vanished while waiting (clientv3: ErrSessionExpired). */
export class SessionExpiredError extends EtcdError {
  override name = "SessionExpiredError";
  constructor() {
    super(Status.FAILED_PRECONDITION, "mutex: session is expired");
  }
}
/** `proclaim` by a campaigner that is not (or no longer) the leader (clientv3: ErrElectionNotLeader). */
export class ElectionNotLeaderError extends EtcdError {
  override name = "ElectionNotLeaderError";
  constructor() {
    super(Status.FAILED_PRECONDITION, "election: not leader");
  }
}
/** `leader()` found no candidate under the prefix (clientv3: ErrElectionNoLeader). */
export class ElectionNoLeaderError extends EtcdError {
  override name = "ElectionNoLeaderError";
  constructor() {
    super(Status.NOT_FOUND, "election: no leader");
  }
}
