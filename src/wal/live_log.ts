// Owns the shape of the live raft log as records replay: which indexes are live after truncations and snapshot
// markers, and which exist only in released segments. Shared by open-time replay and the writer (for names).

/** A record sequence that no correct writer produces (its CRCs were valid, so it is not a torn write). */
export class LiveLogError extends Error {
  override name = "LiveLogError";
}

export interface Indexed {
  index: bigint;
  term: bigint;
}

export class LiveLog<T extends Indexed> {
  private snapIndex = 0n;
  private snapTerm = 0n;
  /**
   * Entries in (snapIndex, holeEnd] exist but are not held here: they are only in released segments. Replay
   * starts with the hole its oldest kept segment's name implies (that segment was cut when the log ended just
   * below its name); a later snapshot marker must cover it.
   */
  private holeEnd: bigint;
  /** Live entries, contiguous from holeEnd + 1. */
  private items: T[] = [];

  constructor(holeEnd = 0n) {
    this.holeEnd = holeEnd;
  }

  /** The end of the live log: the last entry, or the snapshot (or hole) when no entry follows. */
  get lastIndex(): bigint {
    return this.items.at(-1)?.index ?? this.holeEnd;
  }

  get snapshotIndex(): bigint {
    return this.snapIndex;
  }

  /** Live entries after the snapshot; undefined while some exist only in released segments. */
  entries(): T[] | undefined {
    return this.holeEnd > this.snapIndex ? undefined : this.items;
  }

  /** The indexes known to exist that only released segments hold, if any. */
  missing(): string | undefined {
    return this.holeEnd > this.snapIndex ? `${this.snapIndex + 1n}..${this.holeEnd}` : undefined;
  }

  /** An entry record: a write at an index replaces it and drops everything after it (raft truncation). */
  append(e: T): void {
    if (e.index <= this.snapIndex) return; // compacted into the snapshot
    if (e.index <= this.holeEnd + 1n) {
      this.holeEnd = e.index - 1n;
      this.items = [e];
      return;
    }
    const pos = Number(e.index - this.holeEnd - 1n);
    if (pos > this.items.length) {
      throw new LiveLogError(`entry ${e.index} leaves a gap after last index ${this.lastIndex}`);
    }
    this.items.length = pos;
    this.items.push(e);
  }

  /**
   * A snapshot marker at (S, T) compacts the log up to S. If the log holds S with another term, the snapshot
   * came from a leader whose log diverges from ours, and raft discards the whole log (MemoryStorage.
   * applySnapshot; the raft paper, section 7), so the entries after S go too. S inside the hole has an
   * unknown term: what follows is kept, by the writer and by replay alike.
   */
  marker(index: bigint, term: bigint): void {
    if (index < this.snapIndex) {
      throw new LiveLogError(`snapshot marker ${index} is older than marker ${this.snapIndex}`);
    }
    if (index === this.snapIndex && term !== this.snapTerm) {
      throw new LiveLogError(`snapshot marker ${index} changes its term from ${this.snapTerm} to ${term}`);
    }
    if (index > this.holeEnd) {
      const held = this.items[Number(index - this.holeEnd - 1n)];
      if (held !== undefined && held.term !== term) this.items = [];
      else this.items = this.items.filter((e) => e.index > index);
      this.holeEnd = index;
    }
    this.snapIndex = index;
    this.snapTerm = term;
  }
}
