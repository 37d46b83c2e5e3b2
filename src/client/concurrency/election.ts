// Owns leader Election (clientv3/concurrency election.go): candidates queue by create revision under a
// prefix with lease-bound keys; the oldest is leader, whose key's value is the proclaimed value.
import type { KeyValue, ResponseHeader } from "../../proto/index.js";
import { Event_EventType } from "../../proto/index.js";
import type { Bytes } from "../keys.js";
import { Op } from "../ops.js";
import { Cmp } from "../txn.js";
import { ElectionNoLeaderError, ElectionNotLeaderError } from "./errors.js";
import { rangeKvs, sessionKey } from "./mutex.js";
import type { Session } from "./session.js";
import { revisionOf, waitDeletes } from "./wait.js";

export interface CampaignOptions {
  /** Aborting stops campaigning, resigns (deletes the candidate key) and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A leader election under a prefix; one `Election` per candidate (session). */
export class Election {
  private readonly pfx: string;
  private leaderKey = "";
  private leaderRev = 0n;
  private leading = false;
  private hdr: ResponseHeader | undefined;

  constructor(
    readonly session: Session,
    prefix: string,
  ) {
    this.pfx = `${prefix}/`;
  }

  /** This candidate's key ("" when not campaigning). */
  get key(): string {
    return this.leaderKey;
  }
  /** The create revision of `key`. */
  get rev(): bigint {
    return this.leaderRev;
  }
  /** The header of the last successful campaign/proclaim/resign. */
  get header(): ResponseHeader | undefined {
    return this.hdr;
  }

  /**
   * Puts this candidate's key with `value` (or reuses it, re-proclaiming a different value) and waits until
   * every older candidate is gone: then this candidate is leader.
   */
  async campaign(value: Bytes, options: CampaignOptions = {}): Promise<void> {
    const { signal } = options;
    const s = this.session;
    const k = sessionKey(this.pfx.slice(0, -1), s);
    const resp = await s.client.kv
      .txn()
      .If(Cmp.createRevision(k, "=", 0n))
      .Then(Op.put(k, value, { lease: s.lease }))
      .Else(Op.get(k))
      .commit({ signal });
    this.leaderKey = k;
    this.leaderRev = revisionOf(resp.header);
    this.leading = true;
    if (!resp.succeeded) {
      const kv = rangeKvs(resp, 0)[0];
      if (kv === undefined) throw new Error("concurrency: invariant: candidate key vanished within a txn");
      this.leaderRev = kv.createRevision;
      if (!Buffer.from(kv.value).equals(Buffer.from(value))) {
        try {
          await this.proclaim(value);
        } catch (err) {
          await this.resign().catch(() => {});
          throw err;
        }
      }
    }
    try {
      await waitDeletes(s.client, this.pfx, this.leaderRev - 1n, signal);
    } catch (err) {
      if (signal?.aborted) await this.resign().catch(() => {});
      else this.leading = false;
      throw err;
    }
    this.hdr = resp.header;
  }

  /** Sets a new leader value without another election; `ElectionNotLeaderError` unless this is the leader. */
  async proclaim(value: Bytes): Promise<void> {
    if (!this.leading) throw new ElectionNotLeaderError();
    const r = await this.session.client.kv
      .txn()
      .If(Cmp.createRevision(this.leaderKey, "=", this.leaderRev))
      .Then(Op.put(this.leaderKey, value, { lease: this.session.lease }))
      .commit();
    if (!r.succeeded) {
      this.leaderKey = "";
      throw new ElectionNotLeaderError();
    }
    this.hdr = r.header;
  }

  /** Gives up leadership (or candidacy): deletes the key if it is still ours. */
  async resign(): Promise<void> {
    if (!this.leading) return;
    const r = await this.session.client.kv
      .txn()
      .If(Cmp.createRevision(this.leaderKey, "=", this.leaderRev))
      .Then(Op.delete(this.leaderKey))
      .commit();
    this.hdr = r.header;
    this.leaderKey = "";
    this.leading = false;
  }

  /** The current leader's key-value (oldest candidate); `ElectionNoLeaderError` if there is none. */
  async leader(): Promise<KeyValue> {
    const r = await this.session.client.kv.get(this.pfx, firstCreate());
    const kv = r.kvs[0];
    if (kv === undefined) throw new ElectionNoLeaderError();
    return kv;
  }

  /**
   * Every leader value in order: the current leader, each value it proclaims, then the next leader once its
   * key is deleted. Ends when `signal` aborts or the iteration is broken off.
   */
  async *observe(options: { signal?: AbortSignal } = {}): AsyncGenerator<KeyValue> {
    const { signal } = options;
    const client = this.session.client;
    while (!signal?.aborted) {
      const r = await client.kv.get(this.pfx, { ...firstCreate(), signal });
      let kv = r.kvs[0];
      let rev = revisionOf(r.header);
      if (kv === undefined) {
        // No leader: wait for the first put under the prefix (a delete alone would make us spin).
        const w = client.watch.watch(this.pfx, { prefix: true, startRevision: rev, signal });
        try {
          for await (const wr of w) {
            kv = wr.events.find((e) => e.type === Event_EventType.PUT)?.kv;
            if (kv !== undefined) break;
          }
        } finally {
          w.cancel();
        }
        if (kv === undefined) return;
        rev = kv.modRevision;
      }
      yield kv;
      const w = client.watch.watch(kv.key, { startRevision: rev + 1n, signal });
      try {
        outer: for await (const wr of w) {
          for (const e of wr.events) {
            if (e.type === Event_EventType.DELETE) break outer;
            if (e.kv) yield e.kv;
          }
        }
      } finally {
        w.cancel();
      }
    }
  }
}

function firstCreate() {
  return { prefix: true, sortTarget: "create", sortOrder: "ascend", limit: 1 } as const;
}
