// Owns the public surface of the write-ahead log.
export { WalCorruptError, WalError, type WalErrorCode } from "./errors.js";
export { MAX_RECORD_BYTES, SEGMENT_BYTES, type WalOptions } from "./limits.js";
export type { WalState } from "./replay.js";
export { type OpenedWal, Wal } from "./wal.js";
