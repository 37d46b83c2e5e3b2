// Owns the Storage seam (raft's view of the stable log) and MemoryStorage, the in-memory implementation.
import { assert } from "./assert.js";
import {
  type ConfState,
  type Entry,
  emptyHardState,
  entrySize,
  type HardState,
  type Snapshot,
} from "./types.js";

/** The requested index is older than the log's first index (it was compacted into a snapshot). */
export class CompactedError extends Error {
  override name = "CompactedError";
  constructor() {
    super("requested index is unavailable due to compaction");
  }
}

/** The requested index is newer than the last entry. */
export class UnavailableError extends Error {
  override name = "UnavailableError";
  constructor() {
    super("requested entry at index is unavailable");
  }
}

/** The snapshot is being produced; raft retries later. */
export class SnapshotTemporarilyUnavailableError extends Error {
  override name = "SnapshotTemporarilyUnavailableError";
  constructor() {
    super("snapshot is temporarily unavailable");
  }
}

export class SnapOutOfDateError extends Error {
  override name = "SnapOutOfDateError";
  constructor() {
    super("requested index is older than the existing snapshot");
  }
}

/**
 * Raft's read access to the entries, hard state and snapshot that have been persisted.
 * The WAL-backed storage of the server implements this same interface.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most maxSize bytes but always at least one if any. */
  entries(lo: bigint, hi: bigint, maxSize: number): Entry[];
  /** Term of entry i, for i in [firstIndex()-1, lastIndex()]. */
  term(i: bigint): bigint;
  lastIndex(): bigint;
  firstIndex(): bigint;
  snapshot(): Snapshot;
}

/** Keep entries up to maxSize bytes (always at least the first). */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]!);
  let limit = 1;
  for (; limit < ents.length; limit++) {
    size += entrySize(ents[limit]!);
    if (size > maxSize) break;
  }
  return limit === ents.length ? ents : ents.slice(0, limit);
}

export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState();
  private snap: Snapshot;
  /** ents[0] is a dummy holding the snapshot's index and term. */
  private ents: Entry[];

  constructor(confState: ConfState = { voters: [], learners: [] }) {
    this.snap = {
      data: new Uint8Array(0),
      metadata: { confState: cloneConfState(confState), index: 0n, term: 0n },
    };
    this.ents = [{ term: 0n, index: 0n, type: "Normal", data: new Uint8Array(0) }];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: cloneConfState(this.snap.metadata.confState) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  private offset(): bigint {
    return this.ents[0]!.index;
  }

  entries(lo: bigint, hi: bigint, maxSize: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new CompactedError();
    assert(
      hi <= this.lastIndex() + 1n,
      () => `entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`,
    );
    if (this.ents.length === 1) throw new UnavailableError();
    return limitSize(this.ents.slice(Number(lo - offset), Number(hi - offset)), maxSize);
  }

  term(i: bigint): bigint {
    const offset = this.offset();
    if (i < offset) throw new CompactedError();
    if (Number(i - offset) >= this.ents.length) throw new UnavailableError();
    return this.ents[Number(i - offset)]!.term;
  }

  lastIndex(): bigint {
    return this.offset() + BigInt(this.ents.length - 1);
  }

  firstIndex(): bigint {
    return this.offset() + 1n;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replace the contents with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    if (this.snap.metadata.index >= snap.metadata.index) throw new SnapOutOfDateError();
    this.snap = snap;
    this.ents = [
      { term: snap.metadata.term, index: snap.metadata.index, type: "Normal", data: new Uint8Array(0) },
    ];
  }

  /** Record a snapshot of the state machine at applied index i (i must be in the log). */
  createSnapshot(i: bigint, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new SnapOutOfDateError();
    assert(i <= this.lastIndex(), () => `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = { data, metadata: { index: i, term: this.term(i), confState: cloneConfState(confState) } };
    return this.snap;
  }

  /** Discard entries before compactIndex. */
  compact(compactIndex: bigint): void {
    const offset = this.offset();
    if (compactIndex <= offset) throw new CompactedError();
    assert(
      compactIndex <= this.lastIndex(),
      () => `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`,
    );
    const i = Number(compactIndex - offset);
    const head = this.ents[i]!;
    this.ents = [
      { term: head.term, index: head.index, type: "Normal", data: new Uint8Array(0) },
      ...this.ents.slice(i + 1),
    ];
  }

  /** Append entries, truncating any conflicting suffix. Entries must be continuous. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + BigInt(entries.length) - 1n;
    if (last < first) return; // all already compacted
    if (first > entries[0]!.index) entries = entries.slice(Number(first - entries[0]!.index));
    const offset = entries[0]!.index - this.offset();
    const len = BigInt(this.ents.length);
    if (len >= offset) {
      // In place: entries() hands out copies, so nothing else holds this array. (Copying the whole log on
      // every append was a hot spot: the log only shrinks at snapshots.)
      this.ents.length = Number(offset);
      for (const e of entries) this.ents.push(e);
    } else {
      assert(false, () => `missing log entry [last: ${this.lastIndex()}, append at: ${entries[0]!.index}]`);
    }
  }
}

export function cloneConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}
