// Owns the WAL's typed errors: what a caller or operator can meet, each with a stable code.

export type WalErrorCode =
  | "WAL_EXISTS" // create() on a directory that already holds a WAL
  | "WAL_NOT_FOUND" // open() on a directory with no segments
  | "WAL_CLOSED" // a call after close()
  | "WAL_FAILED" // an earlier write or fsync failed; the on-disk state is unknown until reopen
  | "WAL_RECORD_TOO_LARGE" // a record to write exceeds maxRecordBytes
  | "WAL_CORRUPT"; // damage that is not a torn tail

export class WalError extends Error {
  override name = "WalError";
  constructor(
    readonly code: WalErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The WAL is damaged somewhere a crash cannot explain (not the unsynced tail of the last segment):
 * a bad CRC or framing in an earlier segment, a missing segment, conflicting metadata.
 */
export class WalCorruptError extends WalError {
  override name = "WalCorruptError";
  constructor(
    readonly segment: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super("WAL_CORRUPT", `wal: corrupt segment ${segment} at offset ${offset}: ${reason}`);
  }
}
