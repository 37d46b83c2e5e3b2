// Owns turning WAL writes into framed bytes: a segment header, a save() batch, a snapshot marker.
import type { Entry, HardState, SnapshotMetadata } from "../raft/types.js";
import {
  encodeCrc,
  encodeEntryInto,
  encodeHardState,
  encodeSnapshot,
  entryPayloadSize,
  HARD_STATE_BYTES,
} from "./codec.js";
import { WalError } from "./errors.js";
import { frameSize, HEADER_BYTES, RecordType, sealRecord, writeRecord } from "./record.js";

export interface Framed {
  bytes: Buffer;
  /** crc of the last record: the seed for the next one. */
  crc: number;
}

/** The record types every segment starts with, in order: crc link, metadata, hard state, snapshot marker. */
export const HEADER_TYPES: readonly RecordType[] = [
  RecordType.Crc,
  RecordType.Metadata,
  RecordType.HardState,
  RecordType.Snapshot,
];

function frame(records: ReadonlyArray<readonly [RecordType, Uint8Array]>, seed: number): Framed {
  const bytes = Buffer.alloc(records.reduce((n, [, p]) => n + frameSize(p.length), 0));
  let off = 0;
  let crc = seed;
  for (const [type, payload] of records) {
    crc = writeRecord(bytes, off, type, payload, crc);
    off += frameSize(payload.length);
  }
  return { bytes, crc };
}

/** A segment restates the state at its start, so the segments before it can be deleted. */
export function encodeSegmentHeader(
  prevCrc: number,
  metadata: Uint8Array,
  hardState: HardState,
  snapshot: SnapshotMetadata,
): Framed {
  return frame(
    [
      [RecordType.Crc, encodeCrc(prevCrc)],
      [RecordType.Metadata, metadata],
      [RecordType.HardState, encodeHardState(hardState)],
      [RecordType.Snapshot, encodeSnapshot(snapshot)],
    ],
    prevCrc,
  );
}

export function snapshotRecordSize(snapshot: SnapshotMetadata): number {
  return frameSize(encodeSnapshot(snapshot).length);
}

export function encodeSnapshotRecord(snapshot: SnapshotMetadata, seed: number): Framed {
  return frame([[RecordType.Snapshot, encodeSnapshot(snapshot)]], seed);
}

/** Bytes a save() batch takes; throws WAL_RECORD_TOO_LARGE before anything is written. */
export function saveSize(
  hardState: HardState | undefined,
  entries: readonly Entry[],
  maxRecordBytes: number,
): number {
  let n = hardState === undefined ? 0 : frameSize(HARD_STATE_BYTES);
  for (const e of entries) {
    const size = entryPayloadSize(e);
    if (size > maxRecordBytes) {
      throw new WalError(
        "WAL_RECORD_TOO_LARGE",
        `wal: entry ${e.index} needs a ${size}-byte record, over the limit of ${maxRecordBytes}`,
      );
    }
    n += frameSize(size);
  }
  return n;
}

/** Entries first, then the hard state: a hard state that survives a torn tail implies its entries did. */
export function encodeSave(
  hardState: HardState | undefined,
  entries: readonly Entry[],
  seed: number,
  size: number,
): Framed {
  const bytes = Buffer.alloc(size);
  let off = 0;
  let crc = seed;
  for (const e of entries) {
    const n = entryPayloadSize(e);
    encodeEntryInto(e, bytes.subarray(off + HEADER_BYTES, off + HEADER_BYTES + n));
    crc = sealRecord(bytes, off, RecordType.Entry, n, crc);
    off += frameSize(n);
  }
  if (hardState !== undefined) {
    const p = encodeHardState(hardState);
    crc = writeRecord(bytes, off, RecordType.HardState, p, crc);
    off += frameSize(p.length);
  }
  return { bytes, crc };
}
