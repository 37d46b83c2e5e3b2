// Owns one simulated node's disk: a durable (synced) copy of the raft storage plus unsynced writes a crash may lose.
import { assert } from "../assert.js";
import type { Rand } from "../rand.js";
import { MemoryStorage } from "../storage.js";
import type { ConfState, Entry, HardState, Snapshot } from "../types.js";

/** One unsynced write, in the order a WAL would hold it. */
export type DiskOp =
  | { kind: "snap"; snap: Snapshot }
  | { kind: "ents"; ents: Entry[] }
  | { kind: "hs"; hs: HardState };

export interface ReadyWrite {
  snapshot?: Snapshot | undefined;
  entries: Entry[];
  hardState?: HardState | undefined;
}

/**
 * `live` is what the running RawNode reads (it sees writes at once, as etcd's MemoryStorage does);
 * `durable` only changes on sync(). A crash rebuilds `live` from `durable` plus, when the crash tears,
 * a prefix of the unsynced writes (a WAL tail that happened to reach the platter).
 */
export class Disk {
  live: MemoryStorage;
  readonly durable: MemoryStorage;
  private pending: DiskOp[] = [];
  /**
   * Sabotage, to prove the checker catches lost acknowledged writes: fsync makes durable only the
   * writes of the previous sync, so a crash loses the last synced (and acted upon) Ready.
   */
  private readonly laggingFsync: boolean;
  private lagged: DiskOp[] = [];

  constructor(opts: { laggingFsync?: boolean } = {}) {
    this.live = new MemoryStorage();
    this.durable = new MemoryStorage();
    this.laggingFsync = opts.laggingFsync ?? false;
  }

  get unsynced(): number {
    return this.pending.length;
  }

  /** Step (1)-(2) of Ready handling: the unsynced write. */
  write(rd: ReadyWrite): void {
    if (rd.snapshot !== undefined && rd.snapshot.metadata.index > 0n)
      this.push({ kind: "snap", snap: rd.snapshot });
    if (rd.entries.length > 0) this.push({ kind: "ents", ents: rd.entries });
    if (rd.hardState !== undefined) this.push({ kind: "hs", hs: { ...rd.hardState } });
  }

  private push(op: DiskOp): void {
    applyOp(this.live, op);
    this.pending.push(op);
  }

  /** fdatasync: every write so far is durable. */
  sync(): void {
    for (const op of this.laggingFsync ? this.lagged : this.pending) applyOp(this.durable, op);
    this.lagged = this.laggingFsync ? this.pending : [];
    this.pending = [];
  }

  /**
   * Power loss. Unsynced writes are lost, except that with probability tornRate a prefix of them
   * (possibly cutting an entry batch) survives: raft must cope, as none of it was acknowledged. Returns how many ops survived; `live` is rebuilt.
   */
  crash(rand: Rand, tornRate: number): number {
    let kept = 0;
    if (this.pending.length > 0 && rand.chance(tornRate)) {
      let n = rand.int(this.pending.length + 1);
      // A snapshot and the hard state that commits it go in one WAL record batch: both or neither.
      if (this.pending[0]!.kind === "snap" && n < this.pending.length) n = 0;
      for (let i = 0; i < n; i++) applyOp(this.durable, this.pending[i]!);
      kept = n;
      const next = this.pending[n];
      if (next?.kind === "ents" && next.ents.length > 1) {
        applyOp(this.durable, { kind: "ents", ents: next.ents.slice(0, rand.int(next.ents.length)) });
      }
    }
    this.pending = [];
    this.lagged = [];
    this.live = copyStorage(this.durable);
    return kept;
  }

  /**
   * The application's periodic snapshot at its applied index, then compaction keeping `keep` entries.
   * Done on both copies at once: only called when nothing is unsynced, so both hold the same log.
   */
  snapshotAndCompact(
    applied: bigint,
    confState: ConfState,
    data: Uint8Array,
    keep: bigint,
  ): Snapshot | undefined {
    assert(this.pending.length === 0, "snapshot with unsynced writes");
    for (const op of this.lagged) applyOp(this.durable, op);
    this.lagged = [];
    if (applied <= this.durable.snapshot().metadata.index) return undefined;
    let snap: Snapshot | undefined;
    for (const s of [this.live, this.durable]) {
      snap = s.createSnapshot(applied, confState, data);
      const at = applied - keep;
      if (at > s.firstIndex() - 1n && at <= s.lastIndex()) s.compact(at);
    }
    return snap;
  }

  /** True when nothing was ever synced (a fresh node, or one that crashed before its first sync). */
  isEmpty(): boolean {
    const hs = this.durable.initialState().hardState;
    return this.durable.lastIndex() === 0n && hs.term === 0n && hs.commit === 0n;
  }
}

function applyOp(s: MemoryStorage, op: DiskOp): void {
  switch (op.kind) {
    case "snap":
      s.applySnapshot(op.snap);
      return;
    case "ents":
      s.append(op.ents);
      return;
    case "hs":
      s.setHardState(op.hs);
      return;
    default: {
      const never: never = op;
      throw new Error(`unknown disk op ${String(never)}`);
    }
  }
}

/** A fresh MemoryStorage holding the same snapshot, entries (those kept behind the snapshot too) and hard state. */
export function copyStorage(src: MemoryStorage): MemoryStorage {
  const dst = new MemoryStorage();
  const snap = src.snapshot();
  const { confState } = snap.metadata;
  const offset = src.firstIndex() - 1n;
  // MemoryStorage's log starts at its latest snapshot or compaction point, whichever is older.
  if (offset > 0n)
    dst.applySnapshot({ data: snap.data, metadata: { index: offset, term: src.term(offset), confState } });
  const last = src.lastIndex();
  if (last > offset) dst.append(src.entries(offset + 1n, last + 1n, Number.MAX_SAFE_INTEGER));
  if (snap.metadata.index > offset) dst.createSnapshot(snap.metadata.index, confState, snap.data);
  dst.setHardState(src.initialState().hardState);
  return dst;
}
