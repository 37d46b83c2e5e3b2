// Owns replaying decoded records into the state open() returns: metadata, latest hard state and snapshot marker,
// and the live entries after the snapshot (LiveLog's rules). Pure: no I/O.
import type { Entry, HardState, SnapshotMetadata } from "../raft/types.js";
import { decodeEntry, decodeHardState, decodeSnapshot } from "./codec.js";
import { LiveLog, LiveLogError } from "./live_log.js";
import { RecordType } from "./record.js";

export interface WalState {
  /** The opaque bytes given to Wal.create (etcd: node id and cluster id). */
  metadata: Uint8Array;
  hardState: HardState;
  /** The latest snapshot marker; index 0 when none was saved. */
  snapshot: SnapshotMetadata;
  /** Live entries after snapshot.index, contiguous from snapshot.index + 1. */
  entries: Entry[];
}

export const emptySnapshotMarker = (): SnapshotMetadata => ({
  index: 0n,
  term: 0n,
  confState: { voters: [], learners: [] },
});

export class Replay {
  metadata: Uint8Array | undefined;
  hardState: HardState = { term: 0n, vote: 0n, commit: 0n };
  snapshot: SnapshotMetadata = emptySnapshotMarker();
  readonly log: LiveLog<Entry>;

  /** firstSegmentIndex: the index in the oldest kept segment's name (the log ended just below it). */
  constructor(firstSegmentIndex: bigint) {
    this.log = new LiveLog(firstSegmentIndex > 0n ? firstSegmentIndex - 1n : 0n);
  }

  /** Throws PayloadError or LiveLogError for a record that cannot follow the ones before it. */
  apply(type: RecordType, payload: Uint8Array): void {
    switch (type) {
      case RecordType.Entry:
        this.log.append(decodeEntry(payload));
        return;
      case RecordType.HardState:
        this.hardState = decodeHardState(payload);
        return;
      case RecordType.Snapshot: {
        const m = decodeSnapshot(payload);
        this.log.marker(m.index, m.term);
        this.snapshot = m;
        return;
      }
      case RecordType.Metadata:
        if (this.metadata === undefined)
          this.metadata = new Uint8Array(payload); // a copy: Buffer.slice aliases
        else if (Buffer.compare(this.metadata, payload) !== 0) throw new LiveLogError("metadata conflicts");
        return;
      case RecordType.Crc:
        throw new LiveLogError("crc record in the middle of a segment");
      default: {
        const never: never = type;
        throw new LiveLogError(`unknown record type ${never}`);
      }
    }
  }

  finish(): WalState {
    if (this.metadata === undefined) throw new LiveLogError("no metadata record");
    const entries = this.log.entries();
    if (entries === undefined) {
      throw new LiveLogError(
        `entries ${this.log.missing()} are only in released segments (the snapshot marker that released them is missing)`,
      );
    }
    return { metadata: this.metadata, hardState: this.hardState, snapshot: this.snapshot, entries };
  }
}
