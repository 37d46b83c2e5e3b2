// Owns software transactional memory (clientv3/concurrency stm.go): `apply` runs against a read set and a
// write set, which commit in one Txn whose compares encode the isolation level; a conflict re-runs `apply`.
import type { RangeResponse, TxnResponse } from "../../proto/index.js";
import type { GetRequestOptions, Revision } from "../ops.js";
import { Op } from "../ops.js";
import type { KVClient } from "../services.js";
import { Cmp } from "../txn.js";
import { rangeKvs } from "./mutex.js";
import { revisionOf } from "./wait.js";

/**
 * - `serializableSnapshot` (default): reads pinned at the first read's revision; commit requires every read
 *   key unchanged and no written key modified since the first read (prevents write skew).
 * - `serializable`: reads pinned at the first read's revision; commit requires every read key unchanged.
 * - `repeatableRead`: reads cached (serializable Gets); commit requires every read key unchanged.
 * - `readCommitted`: no conflict checks; writes are just batched.
 */
export type Isolation = "serializableSnapshot" | "serializable" | "repeatableRead" | "readCommitted";

export interface STMOptions {
  isolation?: Isolation;
  /** Keys read up front on every attempt, in one round trip. */
  prefetch?: string[];
  /** Aborting fails the current call and stops retrying (clientv3: WithAbortContext). */
  signal?: AbortSignal;
}

/** What `apply` sees: values are UTF-8 strings, "" for a missing key (as clientv3). */
export interface STM {
  /** The value of the first of `keys` written in this attempt, or else read (fetching all `keys` at once). */
  get(...keys: string[]): Promise<string>;
  put(key: string, value: string): void;
  del(key: string): void;
  /** The mod revision of `key` as read (0 if missing). */
  rev(key: string): Promise<Revision>;
}

type Write = { value: string; op: Op };

class ReadWriteSets implements STM {
  rset = new Map<string, RangeResponse>();
  wset = new Map<string, Write>();
  /** Serializable levels: reads after the first are pinned at its revision. */
  pinned: Revision | undefined;
  /** Serializable levels: responses from the failed commit's Else, to serve the next attempt's reads. */
  prefetched = new Map<string, RangeResponse>();

  constructor(
    private readonly client: KVClient,
    readonly isolation: Isolation,
    private readonly signal: AbortSignal | undefined,
  ) {}

  private get pins(): boolean {
    return this.isolation === "serializable" || this.isolation === "serializableSnapshot";
  }

  reset(): void {
    this.rset = new Map();
    this.wset = new Map();
  }

  async get(...keys: string[]): Promise<string> {
    for (const k of keys) {
      const w = this.wset.get(k);
      if (w !== undefined) return w.value;
    }
    const firstRead = this.rset.size === 0;
    if (this.pins) {
      for (const k of keys) {
        const p = this.prefetched.get(k);
        if (p === undefined) continue;
        this.prefetched.delete(k);
        this.rset.set(k, p);
      }
    }
    const resp = await this.fetch(keys);
    // The transaction's base revision is that of its first read.
    if (this.pins && firstRead && resp) this.pinned = revisionOf(resp.header);
    return resp?.kvs[0] ? Buffer.from(resp.kvs[0].value).toString() : "";
  }

  put(key: string, value: string): void {
    this.wset.set(key, { value, op: Op.put(key, value) });
  }

  del(key: string): void {
    this.wset.set(key, { value: "", op: Op.delete(key) });
  }

  async rev(key: string): Promise<Revision> {
    if (this.pins) await this.get(key);
    const resp = await this.fetch([key]);
    return resp?.kvs[0]?.modRevision ?? 0n;
  }

  private async fetch(keys: string[]): Promise<RangeResponse | undefined> {
    if (keys.length === 0) return undefined;
    for (const k of keys) {
      const cached = this.rset.get(k);
      if (cached !== undefined) return cached;
    }
    const opts: GetRequestOptions =
      this.isolation === "repeatableRead" || this.isolation === "readCommitted"
        ? { serializable: true }
        : this.pinned !== undefined
          ? { revision: this.pinned, serializable: true }
          : {};
    const r = await this.client.kv
      .txn()
      .Then(...keys.map((k) => Op.get(k, opts)))
      .commit({ signal: this.signal });
    this.addReads(keys, r);
    return this.rset.get(keys[0]!);
  }

  private addReads(keys: string[], r: TxnResponse): void {
    keys.forEach((k, i) => {
      this.rset.set(k, { header: r.header, kvs: rangeKvs(r, i), more: false, count: 0n });
    });
  }

  /** The compares that must hold for the writes to commit, per isolation level. */
  private conflicts(): Cmp[] {
    const reads = [...this.rset].map(([k, r]) => Cmp.modRevision(k, "=", r.kvs[0]?.modRevision ?? 0n));
    switch (this.isolation) {
      case "serializableSnapshot": {
        let first = 2n ** 63n - 2n;
        for (const r of this.rset.values()) if (revisionOf(r.header) < first) first = revisionOf(r.header);
        return [...reads, ...[...this.wset.keys()].map((k) => Cmp.modRevision(k, "<", first + 1n))];
      }
      case "serializable":
      case "repeatableRead":
        return reads;
      case "readCommitted":
        return [];
      default: {
        const never: never = this.isolation;
        throw new Error(`concurrency: unknown isolation ${String(never)}`);
      }
    }
  }

  /** Commits; `undefined` on conflict (the caller re-runs `apply`). */
  async commit(): Promise<TxnResponse | undefined> {
    const keys = this.pins ? [...this.rset.keys()] : [];
    const r = await this.client.kv
      .txn()
      .If(...this.conflicts())
      .Then(...[...this.wset.values()].map((w) => w.op))
      // Serializable levels re-read the read set in Else, saving a round trip on the next attempt.
      .Else(...keys.map((k) => Op.get(k)))
      .commit({ signal: this.signal });
    if (r.succeeded) return r;
    if (this.pins) {
      this.addReads(keys, r);
      this.prefetched = this.rset;
      this.pinned = undefined;
    }
    return undefined;
  }
}

/**
 * Runs `apply` as a transaction at the given isolation level, re-running it from scratch whenever the commit
 * finds a conflict (as clientv3's NewSTM, retried without limit; abort with `signal`). An error thrown by
 * `apply` or by a call ends it. Returns the committing Txn's response.
 *
 * ```ts
 * await runSTM(client, async (stm) => {
 *   const a = Number(await stm.get("a"));
 *   stm.put("a", String(a - 1));
 * });
 * ```
 */
export async function runSTM(
  client: KVClient,
  apply: (stm: STM) => Promise<void>,
  options: STMOptions = {},
): Promise<TxnResponse> {
  const s = new ReadWriteSets(client, options.isolation ?? "serializableSnapshot", options.signal);
  const prefetch = options.prefetch ?? [];
  for (;;) {
    options.signal?.throwIfAborted();
    s.reset();
    if (prefetch.length > 0) await s.get(...prefetch);
    await apply(s);
    const r = await s.commit();
    if (r !== undefined) return r;
  }
}
