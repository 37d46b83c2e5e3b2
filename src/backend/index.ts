// Owns the public surface of backend/.

export { AssertionError, assert } from "./assert.js";
export { Backend, type BackendOptions, DEFAULT_MAX_BUCKETS } from "./backend.js";
export { Bucket, type Entry, type ScanOptions } from "./bucket.js";
export { ReadTxn } from "./read_txn.js";
