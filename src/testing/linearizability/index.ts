// Owns the public surface of the linearizability checker (see README.md here): the generic search, the etcd
// models, the history recorder, and the watch and lock checks.
export {
  type CheckOptions,
  type CheckResult,
  checkOperations,
  type Explanation,
  type PartitionResult,
  type Verdict,
} from "./checker.js";
export {
  assertEtcdHistory,
  checkEtcdHistory,
  DEFAULT_CHECK_TIMEOUT_MS,
  type EtcdCheckOptions,
  type EtcdCheckResult,
  NotLinearizableError,
} from "./etcd_check.js";
export { RecordingKv, type RecordingKvOptions, toWatchEvent } from "./etcd_client.js";
export { type EtcdKeyModelOptions, etcdKeyModel, type KeyState } from "./etcd_key_model.js";
export {
  hideUnobservedValues,
  narrowPendingWrites,
  prepareEtcdHistory,
  type ResolveOptions,
  resolvePendingWrites,
} from "./etcd_prepare.js";
export {
  type EtcdStoreModelOptions,
  etcdStoreModel,
  type StoredKv,
  type StoreState,
} from "./etcd_store_model.js";
export * from "./etcd_types.js";
export { corruptOne, type GenerateOptions, generateHistory, generateRun, seededRandom } from "./generate.js";
export { checkLocks, type GuardedWrite, type LockCheckResult, type LockTenure } from "./lock_checker.js";
export {
  isPending,
  type Model,
  type NondeterministicModel,
  type Operation,
  type Partition,
  PENDING,
  partitionBy,
  powersetModel,
} from "./model.js";
export {
  checkedOperations,
  type FailOptions,
  type HistoryFile,
  HistoryRecorder,
  type OpHandle,
  parseHistory,
  type RecordedOperation,
  readHistoryFile,
  stringifyHistory,
  writeHistoryFile,
} from "./recorder.js";
export { checkRevisionOrder, type RevisionOrderResult } from "./revision_order.js";
export {
  checkWatches,
  eventsFromHistory,
  type WatchCheckOptions,
  type WatchCheckResult,
  type WatchEvent,
  type WatchRecord,
} from "./watch_checker.js";
