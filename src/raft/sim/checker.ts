// Owns the safety invariants of the whole cluster, checked as the simulation runs; a violation throws.
import type { MemoryStorage } from "../storage.js";
import type { Entry, HardState, NodeId } from "../types.js";
import { entryHash, type StateMachine } from "./statemachine.js";
import { fmtTime } from "./trace.js";

export class InvariantViolation extends Error {
  override name = "InvariantViolation";
}

/** The part of a raft log the checker reads (RaftLog and MemoryStorage both fit). */
export interface LogView {
  firstIndex(): bigint;
  lastIndex(): bigint;
  term(i: bigint): bigint;
}

interface LogRecord {
  hash: number;
  prevTerm: bigint | undefined;
}

const TERM_BITS = 2 ** 21;

export class Checker {
  /** Virtual time, for messages. */
  now = 0;
  /** term -> its leader (Election Safety). */
  private readonly leaders = new Map<bigint, NodeId>();
  /** "voter@term" -> the candidate it granted its vote to. */
  private readonly votes = new Map<string, NodeId>();
  /** (index, term) -> payload hash and predecessor term of every entry any node persisted (Log Matching). */
  private readonly logs = new Map<number, LogRecord>();
  /** index -> term of every entry known committed. */
  private readonly committed = new Map<number, bigint>();
  maxCommitted = 0n;
  /** index -> state digest after applying it (State Machine Safety). */
  private readonly applied = new Map<number, { term: bigint; h1: number; h2: number }>();
  /** node -> last synced hard state. */
  private readonly synced = new Map<NodeId, HardState>();
  /** node -> highest commit index already folded into `committed`. */
  private readonly commitSeen = new Map<NodeId, bigint>();
  /** Highest index of a write acknowledged to its client. */
  maxAcked = 0n;
  readsChecked = 0;
  /** Lease-based reads that returned stale state (expected: see readReturned). */
  staleLeaseReads = 0;

  fail(msg: string): never {
    throw new InvariantViolation(`t=${fmtTime(this.now)}: ${msg}`);
  }

  /** `id` acted as the leader of `term` (it said so, or sent MsgApp/MsgHeartbeat/MsgSnap in that term). */
  leader(term: bigint, id: NodeId, how: string): void {
    const prev = this.leaders.get(term);
    if (prev === undefined) this.leaders.set(term, id);
    else if (prev !== id) this.fail(`two leaders in term ${term}: n${prev} and n${id} (${how})`);
  }

  /** Terms that had a leader. */
  get leaderCount(): number {
    return this.leaders.size;
  }

  /** A granted MsgVoteResp left `voter`: one vote per term, even across crashes. */
  voteGranted(voter: NodeId, term: bigint, candidate: NodeId): void {
    const k = `${voter}@${term}`;
    const prev = this.votes.get(k);
    if (prev === undefined) this.votes.set(k, candidate);
    else if (prev !== candidate)
      this.fail(`n${voter} voted twice in term ${term}: for n${prev} and n${candidate}`);
  }

  /** Entries a node wrote to its log; prevTerm is the term of the entry before the first (if known). */
  persisted(node: NodeId, ents: readonly Entry[], prevTerm: bigint | undefined): void {
    let prev = prevTerm;
    for (const e of ents) {
      if (e.term >= BigInt(TERM_BITS)) this.fail(`term ${e.term} too large for the checker`);
      if (prev !== undefined && e.term < prev) {
        this.fail(
          `n${node} persisted ${e.index}@${e.term} after an entry of term ${prev}: terms must not decrease`,
        );
      }
      const k = Number(e.index) * TERM_BITS + Number(e.term);
      const h = entryHash(e);
      const rec = this.logs.get(k);
      if (rec === undefined) {
        this.logs.set(k, { hash: h, prevTerm: prev });
      } else {
        if (rec.hash !== h)
          this.fail(`log matching: n${node} persisted ${e.index}@${e.term} with different data`);
        if (rec.prevTerm !== undefined && prev !== undefined && rec.prevTerm !== prev) {
          this.fail(
            `log matching: n${node} persisted ${e.index}@${e.term} after term ${prev}, elsewhere after term ${rec.prevTerm}`,
          );
        }
        if (rec.prevTerm === undefined) rec.prevTerm = prev;
      }
      prev = e.term;
    }
  }

  private commit(index: bigint, term: bigint, node: NodeId): void {
    if (index === 0n) return;
    const i = Number(index);
    const t = this.committed.get(i);
    if (t === undefined) this.committed.set(i, term);
    else if (t !== term) this.fail(`committed entry ${index} was term ${t}, n${node} has it as term ${term}`);
    if (index > this.maxCommitted) this.maxCommitted = index;
  }

  /** A node durably recorded commit index `commit`; its durable log says which terms those entries have. */
  commitAdvanced(node: NodeId, commit: bigint, log: LogView): void {
    const seen = this.commitSeen.get(node) ?? 0n;
    if (commit <= seen) return;
    if (commit > log.lastIndex())
      this.fail(`n${node} durable commit ${commit} beyond its durable log ${log.lastIndex()}`);
    const lo = seen + 1n > log.firstIndex() - 1n ? seen + 1n : log.firstIndex() - 1n;
    for (let i = lo; i <= commit; i++) this.commit(i, log.term(i), node);
    this.commitSeen.set(node, commit);
  }

  /** Applying entry e moved the node's state machine to `sm`. */
  appliedEntry(node: NodeId, e: Entry, sm: StateMachine): void {
    const k = Number(e.index) * TERM_BITS + Number(e.term);
    const rec = this.logs.get(k);
    if (rec === undefined) this.fail(`n${node} applied ${e.index}@${e.term}, which no node ever persisted`);
    if (rec.hash !== entryHash(e))
      this.fail(`n${node} applied ${e.index}@${e.term} with data not as persisted`);
    this.commit(e.index, e.term, node);
    const i = Number(e.index);
    const a = this.applied.get(i);
    if (a === undefined) this.applied.set(i, { term: e.term, h1: sm.h1, h2: sm.h2 });
    else if (a.term !== e.term || a.h1 !== sm.h1 || a.h2 !== sm.h2) {
      this.fail(
        `state machine safety: n${node} applied ${e.index}@${e.term} reaching ${sm.digest()}, another node differs`,
      );
    }
  }

  /** A node restored its state machine from a snapshot taken at sm.applied. */
  restored(node: NodeId, snapIndex: bigint, snapTerm: bigint, sm: StateMachine): void {
    if (sm.applied !== snapIndex)
      this.fail(`n${node} snapshot at ${snapIndex} holds a state at ${sm.applied}`);
    if (snapIndex === 0n) return;
    this.commit(snapIndex, snapTerm, node);
    const a = this.applied.get(Number(snapIndex));
    if (a !== undefined && (a.h1 !== sm.h1 || a.h2 !== sm.h2)) {
      this.fail(
        `n${node} restored a snapshot at ${snapIndex} whose state ${sm.digest()} differs from what was applied`,
      );
    }
  }

  /** Leader Completeness: a new leader of `term` holds every entry known committed. */
  becameLeader(node: NodeId, term: bigint, log: LogView): void {
    this.leader(term, node, "became leader");
    const last = log.lastIndex();
    if (last < this.maxCommitted) {
      this.fail(
        `leader completeness: n${node} leads term ${term} with lastIndex ${last} < committed ${this.maxCommitted}`,
      );
    }
    for (let i = log.firstIndex() - 1n; i <= this.maxCommitted; i++) {
      const t = this.committed.get(Number(i));
      if (t === undefined || i === 0n) continue;
      const have = log.term(i);
      if (have !== t)
        this.fail(`leader completeness: n${node} (term ${term}) has ${i}@${have}, committed ${i}@${t}`);
    }
  }

  /** After a sync: durable term and commit never go back, a durable vote never changes within a term. */
  syncedHardState(node: NodeId, hs: HardState): void {
    const prev = this.synced.get(node);
    if (prev !== undefined) {
      if (hs.term < prev.term) this.fail(`n${node} durable term went back ${prev.term} -> ${hs.term}`);
      if (hs.term === prev.term && prev.vote !== 0n && hs.vote !== prev.vote) {
        this.fail(`n${node} durable vote in term ${hs.term} changed n${prev.vote} -> n${hs.vote}`);
      }
      if (hs.commit < prev.commit)
        this.fail(`n${node} durable commit went back ${prev.commit} -> ${hs.commit}`);
    }
    this.synced.set(node, { ...hs });
  }

  /** On restart: what survived on disk still holds every committed entry up to the durable commit index. */
  restarting(node: NodeId, durable: MemoryStorage): void {
    const hs = durable.initialState().hardState;
    const prev = this.synced.get(node);
    if (prev !== undefined && (hs.term < prev.term || hs.commit < prev.commit)) {
      this.fail(
        `n${node} lost synced state: had term ${prev.term} commit ${prev.commit}, disk has ${hs.term}/${hs.commit}`,
      );
    }
    if (hs.commit > durable.lastIndex()) {
      this.fail(
        `n${node} durable commit ${hs.commit} is beyond its durable log (last ${durable.lastIndex()})`,
      );
    }
    for (let i = durable.firstIndex() - 1n; i <= hs.commit; i++) {
      const t = this.committed.get(Number(i));
      if (t !== undefined && i > 0n && durable.term(i) !== t) {
        this.fail(`n${node} restarts with ${i}@${durable.term(i)} but ${i}@${t} was committed`);
      }
    }
  }

  /** A client's write, proposed at a node, was applied there at `index`: it is acknowledged. */
  acked(index: bigint): void {
    if (index > this.maxAcked) this.maxAcked = index;
  }

  /**
   * A ReadIndex read returns: it started when maxAcked was `bound`, the leader answered `rsIndex`, and the
   * reading node serves it at `applied`. Linearizability: its state includes every write acked before it began.
   */
  readReturned(
    node: NodeId,
    readId: number,
    bound: bigint,
    rsIndex: bigint,
    applied: bigint,
    lease: boolean,
  ): void {
    if (applied < rsIndex)
      this.fail(`read r${readId} on n${node} served at applied ${applied} < read index ${rsIndex}`);
    if (lease) {
      // ReadOnlyLeaseBased is not linearizable even with equal clocks: a deposed leader keeps answering
      // until its CheckQuorum fires (up to 2 election timeouts after losing its quorum) while a new
      // leader can be elected after 1; a leadership transfer's forced vote ignores the lease outright.
      if (applied < bound) this.staleLeaseReads++;
      return;
    }
    this.readsChecked++;
    if (applied < bound || rsIndex < bound) {
      this.fail(
        `stale read r${readId} on n${node}: read index ${rsIndex}, applied ${applied}, but a write at ${bound} was acknowledged before it began`,
      );
    }
  }
}
