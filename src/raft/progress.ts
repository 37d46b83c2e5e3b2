// Owns the leader's view of one follower: match/next indexes, probe/replicate/snapshot state, inflight window.
import { assert } from "./assert.js";

export type ProgressStateType = "Probe" | "Replicate" | "Snapshot";

/** A bounded window of MsgApp sent but not acknowledged (by last index and bytes). */
export class Inflights {
  private readonly indexes: bigint[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;

  constructor(
    /** Most messages in flight at once (MAX_INFLIGHT_MSGS). */
    readonly size: number,
    /** Most bytes in flight at once; 0 means no byte limit. */
    readonly maxBytes: number,
  ) {
    assert(size > 0, "inflights size must be positive");
  }

  add(index: bigint, bytes: number): void {
    assert(!this.full(), "cannot add into a full inflights");
    assert(
      this.indexes.length === 0 || index > this.indexes[this.indexes.length - 1]!,
      () => `inflights must grow: ${index} after ${this.indexes[this.indexes.length - 1]}`,
    );
    this.indexes.push(index);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Free every inflight message whose last index is <= to. */
  freeLE(to: bigint): void {
    let n = 0;
    while (n < this.indexes.length && this.indexes[n]! <= to) {
      this.bytes -= this.sizes[n]!;
      n++;
    }
    if (n > 0) {
      this.indexes.splice(0, n);
      this.sizes.splice(0, n);
    }
  }

  full(): boolean {
    return this.indexes.length === this.size || (this.maxBytes !== 0 && this.bytes >= this.maxBytes);
  }

  count(): number {
    return this.indexes.length;
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.bytes = 0;
  }
}

export class Progress {
  match = 0n;
  next: bigint;
  state: ProgressStateType = "Probe";
  /** In Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0n;
  /** Heard from since the last CheckQuorum; the leader's own entry is always true. */
  recentActive = false;
  /** Probe: one message sent, wait for its answer (or a heartbeat). Replicate: the window is full. */
  msgAppFlowPaused = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: bigint, maxInflight: number, maxInflightBytes: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight, maxInflightBytes);
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressStateType): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0n;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it (or after match, whichever is later).
    if (this.state === "Snapshot") {
      const pending = this.pendingSnapshot;
      this.resetState("Probe");
      this.next = maxBig(this.match + 1n, pending + 1n);
    } else {
      this.resetState("Probe");
      this.next = this.match + 1n;
    }
  }

  becomeReplicate(): void {
    this.resetState("Replicate");
    this.next = this.match + 1n;
  }

  becomeSnapshot(snapshotIndex: bigint): void {
    this.resetState("Snapshot");
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1n;
  }

  /** Account for a MsgApp carrying `entries` entries starting at nextIndex. */
  updateOnEntriesSend(entries: number, bytes: number, nextIndex: bigint): void {
    switch (this.state) {
      case "Replicate":
        if (entries > 0) {
          this.next = nextIndex + BigInt(entries);
          this.inflights.add(this.next - 1n, bytes);
        }
        this.msgAppFlowPaused = this.inflights.full();
        break;
      case "Probe":
        if (entries > 0) this.msgAppFlowPaused = true;
        break;
      case "Snapshot":
        assert(false, "sending append in unhandled state Snapshot");
        break;
      default: {
        const never: never = this.state;
        throw new Error(`unknown progress state ${never}`);
      }
    }
  }

  /** The follower acknowledged n; false if that is old news. */
  maybeUpdate(n: bigint): boolean {
    if (n <= this.match) return false;
    this.match = n;
    this.next = maxBig(this.next, n + 1n);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * The follower rejected a MsgApp at index `rejected`, hinting it matches up to matchHint.
   * Returns false if the rejection is stale.
   */
  maybeDecrTo(rejected: bigint, matchHint: bigint): boolean {
    if (this.state === "Replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1n;
      this.msgAppFlowPaused = false;
      return true;
    }
    if (this.next - 1n !== rejected) return false;
    this.next = maxBig(minBig(rejected, matchHint + 1n), this.match + 1n);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "Probe":
      case "Replicate":
        return this.msgAppFlowPaused;
      case "Snapshot":
        return true;
    }
  }

  toString(): string {
    return `${this.state} match=${this.match} next=${this.next}${this.isLearner ? " learner" : ""}${this.msgAppFlowPaused ? " paused" : ""}${this.state === "Snapshot" ? ` pendingSnap=${this.pendingSnapshot}` : ""} inflight=${this.inflights.count()}`;
  }
}

export const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);
export const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);
