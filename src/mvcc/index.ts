// Owns the public surface of mvcc/: what the server's apply loop and the API layer import.

export { COMPACTION_BATCH_LIMIT, COMPACTION_SLEEP_MS } from "./compactor.js";
export {
  ErrClosed,
  ErrCompacted,
  ErrFutureRev,
  ErrInvalidSortOption,
  ErrKeyNotFound,
  MvccError,
} from "./errors.js";
export { HASH_BATCH_LIMIT, type HashKVResult } from "./hash.js";
export { decodeKeyValue, type Event, encodeKeyValue, type KeyValue } from "./kv.js";
export {
  type RangeRequest,
  type RangeResponse,
  rangeRequest,
  SortOrder,
  SortTarget,
} from "./range_request.js";
export type { RangeOptions, RangeResult, ReadView } from "./read.js";
export { bytesToRev, isTombstone, type Revision, revToBytes } from "./revision.js";
export { type CompactionHandle, KEY_BUCKET, KVStore, META_BUCKET, type StoreOptions } from "./store.js";
export type { ConsistentIndex, LeaseHooks, TxnResult, WriteTxn } from "./txn.js";
export {
  applyCompare,
  applyDeleteRange,
  applyPut,
  type Compare,
  CompareResult,
  CompareTarget,
  checkPut,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  deleteRange,
  type PutRequest,
  type PutResponse,
  put,
  type RequestOp,
  type ResponseOp,
  type TxnOptions,
  type TxnRequest,
  type TxnResponse,
  txn,
} from "./txn_request.js";
export {
  ERR_DUPLICATE_WATCH_ID,
  ERR_EMPTY_WATCHER_RANGE,
  MAX_PENDING_CONTROL,
  type SendFn,
  WatchStream,
} from "./watch_stream.js";
export {
  DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS,
  MAX_WATCH_EVENTS_PER_BATCH,
  MAX_WATCH_RESPONSE_BYTES,
  MAX_WATCHERS_PER_SYNC,
  type WatchableStats,
  WatchableStore,
  type WatchableStoreOptions,
} from "./watchable_store.js";
export type { WatchCreateOptions, WatchEvent, WatchResponse } from "./watcher.js";
