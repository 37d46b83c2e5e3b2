// Owns the read snapshot handle: a point-in-time LMDB read transaction that writes do not block or affect.

export interface LmdbTxn {
  done(): void;
}

export class ReadTxn {
  private open = true;

  constructor(
    /** The underlying lmdb-js transaction, passed to bucket reads. */
    readonly txn: LmdbTxn,
    private readonly onDone: () => void,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** Releases the snapshot (LMDB cannot reuse pages a live snapshot still sees). Idempotent. */
  done(): void {
    if (!this.open) return;
    this.open = false;
    this.txn.done();
    this.onDone();
  }
}
