// Owns the public surface of lease/: what the server's apply loop and leader duties import.

export { decodeLease, encodeLease, LEASE_BUCKET, type LeaseRecord, leaseKey } from "./codec.js";
export { LeaseError, type LeaseErrorKind } from "./errors.js";
export { FOREVER, Lease, NO_LEASE } from "./lease.js";
export {
  type Checkpoint,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_EXPIRED_RETRY_MS,
  ErrNotPrimary,
  FOREVER_TTL,
  LEASE_CHECKPOINT_RATE,
  LEASE_REVOKE_RATE,
  type LeaseTimeToLive,
  Lessor,
  type LessorOptions,
  MAX_LEASE_CHECKPOINT_BATCH,
  MAX_LEASE_TTL,
  minLeaseTTL,
} from "./lessor.js";
