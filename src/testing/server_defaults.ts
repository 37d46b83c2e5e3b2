// Owns the server settings that in-process test members share (etcd's defaults, fsync off): one place to change them.
import type { ServerConfig } from "../server/server.js";

/** etcd's defaults for a member's limits and raft settings, with fsync off (tests only). */
export const TEST_SERVER_DEFAULTS = {
  snapshotCount: 100_000,
  maxRequestBytes: 1.5 * 1024 * 1024,
  maxTxnOps: 128,
  preVote: true,
  unsafeNoFsync: true,
  compactionBatchLimit: 1000,
  quotaBackendBytes: 2n * 1024n * 1024n * 1024n,
} as const satisfies Partial<ServerConfig>;
