// Owns the WAL's named limits and sizes; every one can be overridden through WalOptions.

/** Size a segment is preallocated to; a segment is cut when the next batch would not fit (etcd: 64 MiB). */
export const SEGMENT_BYTES = 64 * 1024 * 1024;

/** Largest payload a single record may carry; a larger length on disk is treated as damage (etcd: 10 MB). */
export const MAX_RECORD_BYTES = 10 * 1024 * 1024;

/** Records start on this alignment, so a zeroed header marks the end of the written part of a segment. */
export const RECORD_ALIGN = 8;

/** Zeros written per call when preallocating or scrubbing a segment. */
export const ZERO_CHUNK_BYTES = 1024 * 1024;

export interface WalOptions {
  /** Preallocated size of each segment, and the threshold at which a new one is cut. */
  segmentBytes?: number;
  /** Largest record payload accepted on write and on read. */
  maxRecordBytes?: number;
  /** Write zeros over each new segment so later fdatasyncs need not update file metadata (default true). */
  preallocate?: boolean;
  /** Skip the per-save fdatasync (etcd's --unsafe-no-fsync): a crash of the machine may lose acknowledged writes. */
  unsafeNoFsync?: boolean;
}

export interface WalLimits {
  segmentBytes: number;
  maxRecordBytes: number;
  preallocate: boolean;
  unsafeNoFsync: boolean;
}

export function resolveLimits(opts: WalOptions = {}): WalLimits {
  const limits = {
    segmentBytes: opts.segmentBytes ?? SEGMENT_BYTES,
    maxRecordBytes: opts.maxRecordBytes ?? MAX_RECORD_BYTES,
    preallocate: opts.preallocate ?? true,
    unsafeNoFsync: opts.unsafeNoFsync ?? false,
  };
  if (!Number.isSafeInteger(limits.segmentBytes) || limits.segmentBytes < 4096) {
    throw new RangeError(`segmentBytes must be an integer >= 4096, got ${limits.segmentBytes}`);
  }
  if (!Number.isSafeInteger(limits.maxRecordBytes) || limits.maxRecordBytes < 1024) {
    throw new RangeError(`maxRecordBytes must be an integer >= 1024, got ${limits.maxRecordBytes}`);
  }
  return limits;
}
