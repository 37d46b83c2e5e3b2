// Owns automatic compaction (--auto-compaction-mode/-retention): periodic and revision modes, as etcd's compactor.

/** etcd's revision-mode check interval. */
export const REVISION_MODE_INTERVAL_MS = 5 * 60_000;
/** Periodic mode samples the revision every retention/10, but at least every hour/10. */
export const PERIODIC_DIVISOR = 10;
const HOUR_MS = 3_600_000;

export interface CompactorDeps {
  /** The store's current revision. */
  revision(): bigint;
  /** Propose a compaction; rejects if it fails (e.g. already compacted), and the compactor retries later. */
  compact(revision: bigint): Promise<void>;
  /** Only the leader compacts (etcd pauses the compactor on followers). */
  isLeader(): boolean;
  now(): number;
  setTimer(fn: () => void, ms: number): { clear(): void };
  logger: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export type CompactionMode = "periodic" | "revision";

/**
 * Periodic: record the revision every interval; once a whole retention has passed, compact to the revision
 * recorded a retention ago. Revision: every 5 minutes compact to current − retention.
 */
export class AutoCompactor {
  private timer: { clear(): void } | undefined;
  /** Periodic mode: (time, revision) samples, oldest first. */
  private samples: Array<{ at: number; rev: bigint }> = [];
  private lastCompacted = 0n;
  private stopped = false;

  constructor(
    private readonly deps: CompactorDeps,
    readonly mode: CompactionMode,
    /** Periodic: milliseconds. Revision: revisions to keep. */
    readonly retention: number,
  ) {}

  get intervalMs(): number {
    if (this.mode === "revision") return REVISION_MODE_INTERVAL_MS;
    return Math.max(1, Math.min(this.retention, HOUR_MS) / PERIODIC_DIVISOR);
  }

  start(): void {
    if (this.retention <= 0) return;
    this.deps.logger.info(
      { "compactor-mode": this.mode, "compactor-retention": this.retention },
      "enabled auto compaction",
    );
    if (this.mode === "periodic") this.samples.push({ at: this.deps.now(), rev: this.deps.revision() });
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.clear();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.deps.setTimer(() => void this.tick(), this.intervalMs);
  }

  /** One round; public so tests can drive it with a fake clock. */
  async tick(): Promise<void> {
    try {
      const target = this.mode === "periodic" ? this.periodicTarget() : this.revisionTarget();
      if (target !== undefined && target > this.lastCompacted && this.deps.isLeader()) {
        await this.deps.compact(target);
        this.lastCompacted = target;
        this.deps.logger.info(
          { "compact-revision": Number(target), mode: this.mode },
          `completed auto ${this.mode} compaction`,
        );
      }
    } catch (err) {
      this.deps.logger.warn({ error: String(err) }, `failed auto ${this.mode} compaction`);
    } finally {
      this.schedule();
    }
  }

  private periodicTarget(): bigint | undefined {
    const now = this.deps.now();
    this.samples.push({ at: now, rev: this.deps.revision() });
    // The newest sample at least a retention old is the revision to keep history from.
    let target: bigint | undefined;
    while (this.samples.length > 1 && now - this.samples[0]!.at >= this.retention) {
      target = this.samples.shift()!.rev;
    }
    return target;
  }

  private revisionTarget(): bigint | undefined {
    const target = this.deps.revision() - BigInt(this.retention);
    return target > 0n ? target : undefined;
  }
}
