// Owns replaying decoded records into the state open() returns: metadata, latest hard state and snapshot marker,
// and the live entries after the snapshot (raft truncation semantics). Pure: no I/O.
import type { Entry, HardState, SnapshotMetadata } from "../raft/types.js";
import { decodeEntry, decodeHardState, decodeSnapshot } from "./codec.js";
import { RecordType } from "./record.js";

/** A record that decoded but contradicts what came before it (never a torn write: its CRC was valid). */
export class ReplayError extends Error {
  override name = "ReplayError";
}

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
  /** Contiguous; may start above snapshot.index + 1 only while replaying a segment whose prefix was purged. */
  private ents: Entry[] = [];

  /** Highest index the log has reached: the last entry, or the snapshot if the log is empty. */
  get lastIndex(): bigint {
    const last = this.ents.at(-1);
    return last === undefined ? this.snapshot.index : last.index;
  }

  apply(type: RecordType, payload: Uint8Array): void {
    switch (type) {
      case RecordType.Entry:
        this.entry(decodeEntry(payload));
        return;
      case RecordType.HardState:
        this.hardState = decodeHardState(payload);
        return;
      case RecordType.Snapshot:
        this.marker(decodeSnapshot(payload));
        return;
      case RecordType.Metadata:
        this.meta(payload);
        return;
      case RecordType.Crc:
        throw new ReplayError("crc record in the middle of a segment");
      default: {
        const never: never = type;
        throw new ReplayError(`unknown record type ${never}`);
      }
    }
  }

  private meta(payload: Uint8Array): void {
    if (this.metadata === undefined)
      this.metadata = new Uint8Array(payload); // a copy: Buffer.slice would alias the segment
    else if (Buffer.compare(this.metadata, payload) !== 0) throw new ReplayError("metadata conflicts");
  }

  private entry(e: Entry): void {
    if (e.index <= this.snapshot.index) return; // compacted into the snapshot: not part of the live log
    const first = this.ents[0];
    if (first === undefined || e.index < first.index) {
      this.ents = [e]; // first entry seen (the prefix may be purged), or a truncation below it
      return;
    }
    const pos = Number(e.index - first.index);
    if (pos > this.ents.length) {
      throw new ReplayError(`entry ${e.index} leaves a gap after last index ${this.lastIndex}`);
    }
    this.ents.length = pos; // a rewrite of an index drops it and everything after (raft truncation)
    this.ents.push(e);
  }

  /**
   * A snapshot marker at (S, T) compacts the log up to S. If the log holds S with another term, the snapshot
   * came from a leader whose log diverges from ours, and raft discards the whole log (like
   * MemoryStorage.applySnapshot), so we drop the entries after S too.
   */
  private marker(m: SnapshotMetadata): void {
    if (m.index < this.snapshot.index) {
      throw new ReplayError(`snapshot marker ${m.index} is older than marker ${this.snapshot.index}`);
    }
    const term = this.termAt(m.index);
    if (term !== undefined && term !== m.term) this.ents = [];
    else this.ents = this.ents.filter((e) => e.index > m.index);
    this.snapshot = m;
  }

  private termAt(i: bigint): bigint | undefined {
    if (i === this.snapshot.index) return this.snapshot.term;
    const first = this.ents[0];
    if (first === undefined || i < first.index) return undefined;
    return this.ents[Number(i - first.index)]?.term;
  }

  finish(): WalState {
    if (this.metadata === undefined) throw new ReplayError("no metadata record");
    const first = this.ents[0];
    if (first !== undefined && first.index !== this.snapshot.index + 1n) {
      throw new ReplayError(
        `entries start at ${first.index} but the snapshot is at ${this.snapshot.index}: a segment is missing`,
      );
    }
    return {
      metadata: this.metadata,
      hardState: this.hardState,
      snapshot: this.snapshot,
      entries: this.ents,
    };
  }
}
