// Owns the leader's queue of ReadIndex requests awaiting a quorum of heartbeat acks (ReadOnlySafe).
import type { Message, NodeId } from "./types.js";

export type ReadOnlyOption = "Safe" | "LeaseBased";

export interface ReadIndexStatus {
  req: Message;
  /** The commit index when the request arrived: the read is safe once applied reaches it. */
  index: bigint;
  acks: Map<NodeId, boolean>;
}

const ctxKey = (ctx: Uint8Array): string =>
  Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString("latin1");

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  constructor(readonly option: ReadOnlyOption) {}

  /** Queue a request that arrived when the commit index was `index`. Duplicates of a pending ctx are ignored. */
  addRequest(index: bigint, m: Message): void {
    const key = ctxKey(m.entries[0]!.data);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req: m, index, acks: new Map() });
    this.queue.push(key);
  }

  /** Record a heartbeat ack for ctx; returns the acks so far (undefined if ctx is not pending). */
  recvAck(id: NodeId, ctx: Uint8Array): Map<NodeId, boolean> | undefined {
    const rs = this.pending.get(ctxKey(ctx));
    if (!rs) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /** Pop every request up to and including ctx (acks for a later heartbeat confirm earlier reads too). */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = ctxKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of done) {
      const rs = this.pending.get(k);
      if (rs) out.push(rs);
      this.pending.delete(k);
    }
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)!.req.entries[0]!.data;
  }

  pendingCount(): number {
    return this.queue.length;
  }
}
