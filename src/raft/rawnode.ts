// Owns the application-facing API of the consensus core: inputs (tick/step/propose/…) and the Ready cycle.
import { assert } from "./assert.js";
import { encodeConfChange } from "./confchange.js";
import { type Config, ProposalDroppedError, Raft } from "./raft.js";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  hardStateEqual,
  isLocalMsg,
  isResponseMsg,
  type Message,
  msg,
  NONE,
  type NodeId,
  type ReadState,
  type Snapshot,
  type SnapshotStatus,
  type SoftState,
  type StateType,
} from "./types.js";

export { type Config, ProposalDroppedError } from "./raft.js";

/**
 * What the application must do next, in this order: persist `snapshot`, `entries` and `hardState`
 * (fsync if mustSync), then send `messages`, then apply `committedEntries`, then call advance().
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  mustSync: boolean;
}

export interface Status {
  id: NodeId;
  term: bigint;
  vote: NodeId;
  commit: bigint;
  lead: NodeId;
  raftState: StateType;
  applied: bigint;
  lastIndex: bigint;
  confState: ConfState;
  leadTransferee: NodeId;
  /** Leader only: each member's replication progress. */
  progress?: Map<
    NodeId,
    { match: bigint; next: bigint; state: string; isLearner: boolean; recentActive: boolean }
  >;
}

/** A member of a new cluster; context travels in its AddNode entry (etcd puts the member's JSON there). */
export interface Peer {
  id: NodeId;
  context?: Uint8Array;
}

export class RawNode {
  readonly raft: Raft;
  private prevSoftSt: SoftState;
  private prevHardSt: HardState;

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoftSt = this.raft.softState();
    this.prevHardSt = this.raft.hardState();
  }

  /**
   * First start of a member of a NEW cluster: write the initial configuration as committed
   * ConfChange entries 1..n at term 1, so every member's log starts identical and a member
   * added later learns the initial voters by replaying them.
   */
  bootstrap(peers: Array<NodeId | Peer>): void {
    assert(peers.length > 0, "must provide at least one peer to bootstrap");
    assert(this.raft.raftLog.lastIndex() === 0n, "can't bootstrap a nonempty storage");
    this.raft.becomeFollower(1n, NONE);
    const changes: ConfChange[] = peers.map((p) =>
      typeof p === "bigint"
        ? { type: "AddNode", nodeId: p, context: new Uint8Array(0) }
        : { type: "AddNode", nodeId: p.id, context: p.context ?? new Uint8Array(0) },
    );
    const ents: Entry[] = changes.map((cc, i) => ({
      term: 1n,
      index: BigInt(i + 1),
      type: "ConfChange",
      data: encodeConfChange(cc),
    }));
    this.raft.raftLog.append(ents);
    this.raft.raftLog.committed = BigInt(ents.length);
    for (const cc of changes) this.raft.applyConfChange(cc);
  }

  tick(): void {
    this.raft.tick();
  }

  /** Start an election now (for tests and for a single member that wants to lead at once). */
  campaign(): void {
    this.raft.step(msg({ type: "MsgHup" }));
  }

  /** Propose data; throws ProposalDroppedError if it cannot be accepted now. */
  propose(data: Uint8Array): void {
    this.raft.step(
      msg({ type: "MsgProp", from: this.raft.id, entries: [{ term: 0n, index: 0n, type: "Normal", data }] }),
    );
  }

  proposeConfChange(cc: ConfChange): void {
    this.raft.step(
      msg({
        type: "MsgProp",
        from: this.raft.id,
        entries: [{ term: 0n, index: 0n, type: "ConfChange", data: encodeConfChange(cc) }],
      }),
    );
  }

  /** Deliver a message from a peer. Local message types are refused; dropped forwards are ignored. */
  step(m: Message): void {
    if (isLocalMsg(m.type)) throw new Error("raft: cannot step raft local message");
    // Responses from members we no longer know are ignored.
    if (isResponseMsg(m.type) && !this.raft.trk.progress.has(m.from) && this.raft.state === "Leader") return;
    try {
      this.raft.step(m);
    } catch (err) {
      if (err instanceof ProposalDroppedError) return; // a forwarded proposal: its client will retry
      throw err;
    }
  }

  /** Ask for a linearizable read point; the answer is a ReadState with this ctx in a later Ready. */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(
      msg({ type: "MsgReadIndex", entries: [{ term: 0n, index: 0n, type: "Normal", data: ctx }] }),
    );
  }

  transferLeader(to: NodeId): void {
    this.raft.step(msg({ type: "MsgTransferLeader", from: to }));
  }

  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(msg({ type: "MsgUnreachable", from: id }));
  }

  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    this.raft.step(msg({ type: "MsgSnapStatus", from: id, reject: status === "Failure" }));
  }

  hasReady(): boolean {
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftSt.lead || ss.raftState !== this.prevSoftSt.raftState) return true;
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHardSt)) return true;
    if (r.raftLog.nextUnstableSnapshot()) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    return r.raftLog.hasNextUnstableEnts() || r.raftLog.hasNextCommittedEnts();
  }

  /** Collect what must be done next. Call advance(rd) once it is done; call ready() again only after. */
  ready(): Ready {
    const r = this.raft;
    const rd: Ready = {
      entries: r.raftLog.nextUnstableEnts(),
      committedEntries: r.raftLog.nextCommittedEnts(),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: false,
    };
    const ss = r.softState();
    if (ss.lead !== this.prevSoftSt.lead || ss.raftState !== this.prevSoftSt.raftState) rd.softState = ss;
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHardSt)) rd.hardState = hs;
    const snap = r.raftLog.nextUnstableSnapshot();
    if (snap) rd.snapshot = snap;
    rd.mustSync =
      rd.entries.length > 0 ||
      rd.snapshot !== undefined ||
      (rd.hardState !== undefined && (hs.term !== this.prevHardSt.term || hs.vote !== this.prevHardSt.vote));

    // Hand-off: these are now the application's to persist/send/apply.
    if (rd.softState) this.prevSoftSt = rd.softState;
    r.msgs = [];
    r.readStates = [];
    r.raftLog.acceptUnstable();
    if (rd.committedEntries.length > 0) {
      r.raftLog.acceptApplying(rd.committedEntries[rd.committedEntries.length - 1]!.index);
    }
    return rd;
  }

  /** The application has persisted, sent and applied everything in rd. */
  advance(rd: Ready): void {
    const r = this.raft;
    if (rd.hardState) this.prevHardSt = rd.hardState;
    if (rd.entries.length > 0) {
      const e = rd.entries[rd.entries.length - 1]!;
      r.raftLog.stableTo(e.index, e.term);
      r.persisted(e.index, e.term);
    }
    if (rd.snapshot) {
      r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
      r.raftLog.appliedTo(rd.snapshot.metadata.index);
    }
    if (rd.committedEntries.length > 0) {
      r.raftLog.appliedTo(rd.committedEntries[rd.committedEntries.length - 1]!.index);
      r.reduceUncommittedSize(rd.committedEntries);
    }
  }

  status(): Status {
    const r = this.raft;
    const st: Status = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      lead: r.lead,
      raftState: r.state,
      applied: r.raftLog.applied,
      lastIndex: r.raftLog.lastIndex(),
      confState: r.trk.confState(),
      leadTransferee: r.leadTransferee,
    };
    if (r.state === "Leader") {
      st.progress = new Map(
        [...r.trk.progress].map(([id, pr]) => [
          id,
          {
            match: pr.match,
            next: pr.next,
            state: pr.state,
            isLearner: pr.isLearner,
            recentActive: pr.recentActive,
          },
        ]),
      );
    }
    return st;
  }
}
