// Owns the write transaction (etcd's storeTxnWrite): puts and deletes that share one main revision with
// increasing sub revisions, read-your-writes ranges, and a commit that lands in one backend batch together
// with the caller's consistent index.

import { assert } from "../backend/assert.js";
import type { Backend } from "../backend/backend.js";
import type { Bucket } from "../backend/bucket.js";
import type { KeyIndex } from "./key_index.js";
import { asBuffer, type Event, emptyKeyValue, encodeKeyValue, type KeyValue } from "./kv.js";
import { type RangeOptions, type RangeResult, type ReadView, rangeKeys } from "./read.js";
import { type Revision, revToBytes } from "./revision.js";
import type { TreeIndex } from "./tree_index.js";

/** Lets the lessor track which keys are attached to which lease (mvcc does not import lease/). */
export interface LeaseHooks {
  attach(lease: bigint, key: Uint8Array): void;
  detach(lease: bigint, key: Uint8Array): void;
}

/** Applied-raft-log position saved atomically with the txn (meta bucket "consistent_index" / "term"). */
export interface ConsistentIndex {
  index: bigint;
  term?: bigint;
}

export interface TxnResult {
  /** The txn's revision: begin + 1 if it changed anything, else unchanged. */
  revision: bigint;
  changes: readonly Event[];
}

/** What a write txn needs from its store. */
export interface TxnHost {
  readonly backend: Backend;
  readonly keyBucket: Bucket;
  readonly index: TreeIndex;
  readonly compactRevision: bigint;
  readonly leaseHooks: LeaseHooks | undefined;
  /** Called by end(): commit pending writes and metadata, advance the current revision. */
  commitTxn(
    txn: WriteTxn,
    pending: ReadonlyArray<readonly [Buffer, Buffer]>,
    ci: ConsistentIndex | undefined,
  ): void;
  /** Told of every txn that changed the store, in commit order (the watchable store listens here). */
  onCommitted?(result: TxnResult): void;
}

export class WriteTxn implements ReadView {
  private readonly events: Event[] = [];
  private readonly pending: Array<readonly [Buffer, Buffer]> = [];
  private ended = false;

  constructor(
    private readonly host: TxnHost,
    /** The store revision when the txn began. */
    readonly beginRevision: bigint,
    private readonly ci: ConsistentIndex | undefined,
  ) {}

  /** begin + 1 once anything changed: what reads inside the txn see and what the txn will commit as. */
  get revision(): bigint {
    return this.events.length > 0 ? this.beginRevision + 1n : this.beginRevision;
  }

  get changes(): readonly Event[] {
    return this.events;
  }

  range(key: Uint8Array, end: Uint8Array | undefined, opts?: RangeOptions): RangeResult {
    this.checkOpen();
    return rangeKeys(this.host, key, end, this.revision, opts, (r) => this.pendingKv(r));
  }

  /** Puts `key`; `lease` 0n = no lease (detaches a previous one). Returns the txn's revision. */
  put(key: Uint8Array, value: Uint8Array, lease = 0n): bigint {
    this.checkOpen();
    assert(key.length > 0, "put with an empty key");
    const main = this.beginRevision + 1n;
    const r: Revision = { main, sub: BigInt(this.events.length) };
    const prev = this.host.index.keyIndex(key);
    const at = prev?.isLive() ? prev.get(main) : undefined;
    const oldLease = at ? prev!.lease : 0n;
    const ki = this.host.index.put(key, r);
    const keyBuf = asBuffer(key);
    const kv: KeyValue = {
      key: keyBuf,
      createRevision: at ? at.created.main : main,
      modRevision: main,
      version: at ? at.version + 1n : 1n,
      value: asBuffer(value),
      lease,
    };
    this.pending.push([revToBytes(r), encodeKeyValue(kv)]);
    this.events.push({ type: "PUT", kv });
    ki.lease = lease;
    const hooks = this.host.leaseHooks;
    if (hooks && oldLease !== 0n) hooks.detach(oldLease, keyBuf);
    if (hooks && lease !== 0n) hooks.attach(lease, keyBuf);
    return main;
  }

  /** Deletes every key of the range live at the txn's revision; returns how many. Deleting nothing is a no-op. */
  deleteRange(key: Uint8Array, end: Uint8Array | undefined): number {
    this.checkOpen();
    const doomed: KeyIndex[] = [];
    this.host.index.range(key, end, this.revision, (ki) => {
      doomed.push(ki);
    });
    for (const ki of doomed) this.delete(ki);
    return doomed.length;
  }

  private delete(ki: KeyIndex): void {
    const main = this.beginRevision + 1n;
    const r: Revision = { main, sub: BigInt(this.events.length) };
    const lease = ki.lease;
    assert(ki.tombstone(r), "delete of a key that is not live");
    // etcd stores a tombstone as KeyValue{key} only; the event carries the delete's revision.
    const key = ki.keyBytes();
    this.pending.push([revToBytes(r, true), encodeKeyValue(emptyKeyValue(key))]);
    this.events.push({ type: "DELETE", kv: { ...emptyKeyValue(key), modRevision: main } });
    if (lease !== 0n) this.host.leaseHooks?.detach(lease, key);
  }

  /** Commits: writes the txn and the consistent index in one backend batch (joining the caller's, if any). */
  end(): TxnResult {
    this.checkOpen();
    this.ended = true;
    this.host.commitTxn(this, this.pending, this.ci);
    const result = { revision: this.revision, changes: this.events };
    if (this.events.length > 0) this.host.onCommitted?.(result);
    return result;
  }

  /**
   * Ends a txn that changed nothing without committing (e.g. a request failed its checks). A txn that
   * already changed something cannot be rolled back: aborting it is a bug.
   */
  abort(): void {
    this.checkOpen();
    assert(this.events.length === 0, "abort of a write txn that already changed the store");
    this.ended = true;
    this.host.commitTxn(this, [], undefined);
  }

  private pendingKv(r: Revision): KeyValue | undefined {
    if (r.main !== this.beginRevision + 1n) return undefined;
    const ev = this.events[Number(r.sub)];
    assert(ev?.type === "PUT", () => `pending revision ${r.main}.${r.sub} is not a put`);
    return ev.kv;
  }

  private checkOpen(): void {
    assert(!this.ended, "write txn used after end()");
  }
}
