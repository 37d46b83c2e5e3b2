// Owns the simulated clients: proposals with unique ids (retried until committed) and ReadIndex reads in flight.
import type { NodeId } from "../types.js";

export interface Proposal {
  id: number;
  /** Virtual time of the latest attempt. */
  lastTry: number;
  tries: number;
  /** Nodes it was proposed at: when one of them applies it, the client has its answer. */
  nodes: Set<NodeId>;
  committedAt: bigint | undefined;
  acked: boolean;
  /** The last attempt was refused outright: retry after a short backoff, not a timeout. */
  dropped: boolean;
}

export interface PendingRead {
  id: number;
  node: NodeId;
  incarnation: number;
  /** Highest acknowledged write index when the read began. */
  bound: bigint;
}

export class Workload {
  private nextProposal = 1;
  private nextRead = 1;
  readonly proposals = new Map<number, Proposal>();
  private readonly uncommitted = new Set<number>();
  readonly reads = new Map<number, PendingRead>();
  /** Proposals a retry got committed twice (the client dedupes by id). */
  duplicateCommits = 0;
  readsStarted = 0;

  newProposal(): Proposal {
    const p: Proposal = {
      id: this.nextProposal++,
      lastTry: 0,
      tries: 0,
      nodes: new Set(),
      committedAt: undefined,
      acked: false,
      dropped: false,
    };
    this.proposals.set(p.id, p);
    this.uncommitted.add(p.id);
    return p;
  }

  attempted(p: Proposal, node: NodeId, now: number): void {
    p.lastTry = now;
    p.dropped = false;
    p.tries++;
    p.nodes.add(node);
  }

  /** Proposals not yet committed whose last attempt timed out (timeout(tries)) or was refused long enough ago. */
  due(now: number, timeout: (tries: number) => number, dropBackoff: number): Proposal[] {
    const out: Proposal[] = [];
    for (const id of this.uncommitted) {
      const p = this.proposals.get(id)!;
      if (now - p.lastTry >= (p.dropped ? dropBackoff : timeout(p.tries))) out.push(p);
    }
    return out;
  }

  get pending(): number {
    return this.uncommitted.size;
  }

  pendingIds(limit: number): number[] {
    return [...this.uncommitted].slice(0, limit);
  }

  /**
   * A node applied proposal `id` at `index`. Returns true if that answers its client: the node is one it
   * was proposed at (any committed copy of a retried proposal answers; each answer counts).
   */
  applied(node: NodeId, id: number, index: bigint): boolean {
    const p = this.proposals.get(id);
    if (p === undefined) throw new Error(`applied unknown proposal p${id}`);
    if (p.committedAt === undefined) {
      p.committedAt = index;
      this.uncommitted.delete(id);
    } else if (p.committedAt !== index) {
      this.duplicateCommits++;
    }
    if (!p.nodes.has(node)) return false;
    p.acked = true;
    return true;
  }

  newRead(node: NodeId, incarnation: number, bound: bigint): PendingRead {
    const r: PendingRead = { id: this.nextRead++, node, incarnation, bound };
    this.reads.set(r.id, r);
    this.readsStarted++;
    return r;
  }

  /** Reads whose node crashed (its client connection broke) are abandoned. */
  dropReadsOf(node: NodeId): void {
    for (const [id, r] of this.reads) if (r.node === node) this.reads.delete(id);
  }
}
