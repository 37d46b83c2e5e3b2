// Owns the consensus state machine: roles, elections, replication, commit, ReadIndex, transfer, conf changes.
import { assert } from "./assert.js";
import { nextConfState } from "./confchange.js";
import { RaftLog } from "./log.js";
import type { Progress } from "./progress.js";
import type { Rand } from "./rand.js";
import { ReadOnly, type ReadOnlyOption } from "./read_only.js";
import {
  CompactedError,
  SnapshotTemporarilyUnavailableError,
  type Storage,
  UnavailableError,
} from "./storage.js";
import { ProgressTracker } from "./tracker.js";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type MessageType,
  msg,
  NONE,
  type NodeId,
  type ReadState,
  type Snapshot,
  type SoftState,
  type StateType,
  voteRespMsgType,
} from "./types.js";

/** Most bytes of entries in one MsgApp (etcd's server uses 1 MiB). */
export const DEFAULT_MAX_SIZE_PER_MSG = 1024 * 1024;
/** Most MsgApp in flight to one follower in Replicate state (etcd: 4096 in the server, 256 default). */
export const DEFAULT_MAX_INFLIGHT_MSGS = 256;
/** Most bytes of proposed-but-uncommitted entries a leader accepts before dropping proposals (etcd: 1 GiB). */
export const DEFAULT_MAX_UNCOMMITTED_ENTRIES_SIZE = 1024 * 1024 * 1024;

/** Context of a vote sent because of a leadership transfer; it bypasses leader leases. */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode("CampaignTransfer");

export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
}

const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

export interface Config {
  id: NodeId;
  /** Ticks a follower waits without hearing from a leader before campaigning (randomized in [e, 2e)). */
  electionTick: number;
  /** Ticks between leader heartbeats; must be < electionTick. */
  heartbeatTick: number;
  storage: Storage;
  /** The last applied index when restarting (so already-applied entries are not handed out again). */
  applied?: bigint;
  maxSizePerMsg?: number;
  /** Most bytes of committed entries in one Ready (defaults to maxSizePerMsg). */
  maxCommittedSizePerReady?: number;
  maxUncommittedEntriesSize?: number;
  maxInflightMsgs?: number;
  /** Most bytes in flight to one follower; 0 = no limit. */
  maxInflightBytes?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
  readOnlyOption?: ReadOnlyOption;
  disableProposalForwarding?: boolean;
  /** A leader removed from the configuration steps down when the change is applied. */
  stepDownOnRemoval?: boolean;
  /**
   * The leader counts its own new entries as replicated only when the application reports them persisted
   * (advance()), not when it appends them. The application may then send the leader's MsgApp before its own
   * fsync, so the leader's disk write and the followers' overlap, and a quorum still means durable copies. A
   * leader with no other member at all still counts at append (no message can leave before its write).
   */
  leaderAcksOnPersist?: boolean;
  /** The only source of randomness (election timeouts): seeded in tests and simulations. */
  rand: Rand;
  logger?: Logger;
}

/** A proposal was not accepted (no leader, transfer in progress, too much uncommitted, removed). */
export class ProposalDroppedError extends Error {
  override name = "ProposalDroppedError";
  constructor(why = "raft proposal dropped") {
    super(why);
  }
}

type CampaignType = "PreElection" | "Election" | "Transfer";

export class Raft {
  readonly id: NodeId;
  term = 0n;
  vote: NodeId = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  state: StateType = "Follower";
  isLearner = false;
  msgs: Message[] = [];
  lead: NodeId = NONE;
  /** The member we are handing leadership to, while a transfer is in progress. */
  leadTransferee: NodeId = NONE;
  /** Only one conf change may be pending: this is the index of the latest one (or lastIndex at election). */
  pendingConfIndex = 0n;
  uncommittedSize = 0;
  readOnly: ReadOnly;
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  private pendingReadIndexMessages: Message[] = [];
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;

  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  readonly disableProposalForwarding: boolean;
  readonly stepDownOnRemoval: boolean;
  readonly leaderAcksOnPersist: boolean;
  private readonly rand: Rand;
  readonly logger: Logger;
  private tickFn: () => void = () => this.tickElection();
  private stepFn: (m: Message) => void = (m) => this.stepFollower(m);

  constructor(c: Config) {
    validateConfig(c);
    this.id = c.id;
    this.maxMsgSize = c.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? this.maxMsgSize);
    // 0 means no limit, as in etcd's raft.
    const mu = c.maxUncommittedEntriesSize ?? DEFAULT_MAX_UNCOMMITTED_ENTRIES_SIZE;
    this.maxUncommittedSize = mu === 0 ? Number.POSITIVE_INFINITY : mu;
    this.trk = new ProgressTracker(c.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS, c.maxInflightBytes ?? 0);
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.heartbeatTimeout = c.heartbeatTick;
    this.electionTimeout = c.electionTick;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.stepDownOnRemoval = c.stepDownOnRemoval ?? false;
    this.leaderAcksOnPersist = c.leaderAcksOnPersist ?? false;
    this.rand = c.rand;
    this.logger = c.logger ?? silentLogger;
    this.readOnly = new ReadOnly(c.readOnlyOption ?? "Safe");

    const { hardState, confState } = c.storage.initialState();
    this.trk.setConfig(confState, this.raftLog.lastIndex() + 1n);
    this.isLearner = this.trk.learners.includes(this.id);
    if (hardState.term !== 0n || hardState.vote !== NONE || hardState.commit !== 0n)
      this.loadState(hardState);
    if (c.applied !== undefined && c.applied > 0n) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
    this.logger.info(
      `newRaft ${this.id} [peers: [${this.trk.voters.join(",")}], term: ${this.term}, commit: ${this.raftLog.committed}, applied: ${this.raftLog.applied}, lastindex: ${this.raftLog.lastIndex()}, lastterm: ${this.raftLog.lastTerm()}]`,
    );
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  private loadState(hs: HardState): void {
    assert(
      hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      () =>
        `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
    );
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- sending -------------------------------------------------------------------------------

  /** Queue m for the network. Votes carry their own term; proposals and reads are term 0 (local-like). */
  private send(m: Message): void {
    // A forwarded MsgTransferLeader keeps its from (the transferee); everything else is from us.
    if (m.from === NONE) m.from = this.id;
    if (
      m.type === "MsgVote" ||
      m.type === "MsgVoteResp" ||
      m.type === "MsgPreVote" ||
      m.type === "MsgPreVoteResp"
    ) {
      assert(m.term !== 0n, () => `term should be set when sending ${m.type}`);
    } else {
      assert(m.term === 0n, () => `term should not be set when sending ${m.type} (was ${m.term})`);
      if (m.type !== "MsgProp" && m.type !== "MsgReadIndex") m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Send entries (or an empty probe) to `to` if its progress allows; true if a message was sent. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1n;
    let prevTerm: bigint;
    let ents: Entry[];
    try {
      prevTerm = this.raftLog.term(prevIndex);
      // With a full window send no entries, only an empty MsgApp that lets the follower resync (etcd does this).
      ents =
        pr.state !== "Replicate" || !pr.inflights.full()
          ? this.raftLog.entries(pr.next, this.maxMsgSize)
          : [];
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError)
        return this.maybeSendSnapshot(to, pr);
      throw err;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    let bytes = 0;
    for (const e of ents) bytes += e.data.length;
    this.send(
      msg({
        type: "MsgApp",
        to,
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit: this.raftLog.committed,
      }),
    );
    pr.updateOnEntriesSend(ents.length, bytes, pr.next);
    return true;
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  private maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.logger.debug(`ignore sending snapshot to ${to} since it is not recently active`);
      return false;
    }
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (err) {
      if (err instanceof SnapshotTemporarilyUnavailableError) return false;
      throw err;
    }
    assert(snapshot.metadata.index !== 0n, "need non-empty snapshot");
    this.logger.debug(
      `${this.id} [firstindex: ${this.raftLog.firstIndex()}, commit: ${this.raftLog.committed}] sent snapshot[index: ${snapshot.metadata.index}, term: ${snapshot.metadata.term}] to ${to} [${pr}]`,
    );
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send(msg({ type: "MsgSnap", to, snapshot }));
    return true;
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    // Never tell a follower to commit past what it is known to have.
    const pr = this.trk.progress.get(to)!;
    const commit = pr.match < this.raftLog.committed ? pr.match : this.raftLog.committed;
    const m = msg({ type: "MsgHeartbeat", to, commit });
    if (ctx) m.context = ctx;
    this.send(m);
  }

  bcastAppend(): void {
    for (const id of this.trk.ids()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    for (const id of this.trk.ids()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  // ---- state transitions ----------------------------------------------------------------------

  /** Advance the commit index to what a quorum has; true if it moved. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  private reset(term: bigint): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    // Entries still being persisted count for the leader itself only once advance() reports them durable.
    const own = this.leaderAcksOnPersist && !this.alone() ? this.raftLog.stableLastIndex() : last;
    for (const [id, old] of this.trk.progress) {
      const pr = this.trk.newProgress(last + 1n, old.isLearner);
      if (id === this.id) pr.match = own;
      this.trk.progress.set(id, pr);
    }
    this.pendingConfIndex = 0n;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
    this.pendingReadIndexMessages = [];
  }

  /** Append proposed entries to the leader's log; false if the uncommitted-size limit drops them. */
  private appendEntry(es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    for (let i = 0; i < es.length; i++) {
      es[i]!.term = this.term;
      es[i]!.index = li + 1n + BigInt(i);
    }
    if (!this.increaseUncommittedSize(es)) {
      this.logger.warn(
        `${this.id} appending new entries to log would exceed uncommitted entry size limit; dropping proposal`,
      );
      return false;
    }
    li = this.raftLog.append(es);
    // Counted in persisted(), unless no other member exists: then no message can leave before the write, and
    // waiting would only cost a Ready (a single member's latency).
    if (this.leaderAcksOnPersist && !this.alone()) return true;
    // The leader counts its own entries at once; the Ready persists them before any message leaves.
    this.trk.progress.get(this.id)?.maybeUpdate(li);
    this.maybeCommit();
    return true;
  }

  /** The configuration has no member but this one (no voter, no learner to send to). */
  private alone(): boolean {
    return this.trk.progress.size === 1 && this.trk.progress.has(this.id);
  }

  /**
   * With leaderAcksOnPersist: the application made the log durable up to (index, term). A leader now counts
   * those entries as its own copies, and tells the followers at once if that commits something.
   */
  persisted(index: bigint, term: bigint): void {
    if (!this.leaderAcksOnPersist || this.state !== "Leader") return;
    if (!this.raftLog.matchTerm(index, term)) return;
    const self = this.trk.progress.get(this.id);
    if (self === undefined || !self.maybeUpdate(index)) return;
    if (this.maybeCommit()) this.bcastAppend();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(msg({ type: "MsgHup", from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(msg({ type: "MsgCheckQuorum", from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === "Leader" && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== "Leader") return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(msg({ type: "MsgBeat", from: this.id }));
    }
  }

  tick(): void {
    this.tickFn();
  }

  becomeFollower(term: bigint, lead: NodeId): void {
    this.stepFn = (m) => this.stepFollower(m);
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.state = "Follower";
    this.logger.info(`${this.id} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    assert(this.state !== "Leader", "invalid transition [leader -> candidate]");
    this.stepFn = (m) => this.stepCandidate(m);
    this.reset(this.term + 1n);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.state = "Candidate";
    this.logger.info(`${this.id} became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    assert(this.state !== "Leader", "invalid transition [leader -> pre-candidate]");
    // A pre-candidate changes neither term nor vote, so a failed pre-election disturbs nobody.
    this.stepFn = (m) => this.stepCandidate(m);
    this.trk.resetVotes();
    this.tickFn = () => this.tickElection();
    this.lead = NONE;
    this.state = "PreCandidate";
    this.logger.info(`${this.id} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    assert(this.state !== "Follower", "invalid transition [follower -> leader]");
    this.stepFn = (m) => this.stepLeader(m);
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.state = "Leader";
    const self = this.trk.progress.get(this.id)!;
    self.becomeReplicate();
    self.recentActive = true;
    // Conservatively forbid conf changes until everything already in our log is applied.
    this.pendingConfIndex = this.raftLog.lastIndex();
    const ok = this.appendEntry([{ term: 0n, index: 0n, type: "Normal", data: new Uint8Array(0) }]);
    assert(ok, "empty entry was dropped");
    // The empty entry does not count against the uncommitted size.
    this.uncommittedSize = 0;
    this.logger.info(`${this.id} became leader at term ${this.term}`);
  }

  private hup(t: CampaignType): void {
    if (this.state === "Leader") {
      this.logger.debug(`${this.id} ignoring MsgHup because already leader`);
      return;
    }
    if (!this.promotable()) {
      this.logger.warn(`${this.id} is unpromotable and can not campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn(
        `${this.id} cannot campaign at term ${this.term} since there are still pending configuration changes to apply`,
      );
      return;
    }
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    const log = this.raftLog;
    if (log.applied >= log.committed) return false;
    let lo = log.applied + 1n;
    const hi = log.committed + 1n;
    while (lo < hi) {
      let ents: Entry[];
      try {
        ents = log.slice(lo, hi, this.maxMsgSize);
      } catch (err) {
        if (err instanceof CompactedError) return false;
        throw err;
      }
      if (ents.length === 0) return false;
      for (const e of ents) if (e.type === "ConfChange") return true;
      lo = ents[ents.length - 1]!.index + 1n;
    }
    return false;
  }

  campaign(t: CampaignType): void {
    if (!this.promotable()) {
      this.logger.warn(`${this.id} is unpromotable; campaign() should have been called`);
      return;
    }
    let voteMsg: "MsgVote" | "MsgPreVote";
    let term: bigint;
    if (t === "PreElection") {
      this.becomePreCandidate();
      voteMsg = "MsgPreVote";
      // Ask for votes for the term we would have; our own term stays until we win.
      term = this.term + 1n;
    } else {
      this.becomeCandidate();
      voteMsg = "MsgVote";
      term = this.term;
    }
    if (this.poll(this.id, voteRespMsgType(voteMsg), true) === "Won") {
      // A single-voter cluster wins at once.
      if (t === "PreElection") this.campaign("Election");
      else this.becomeLeader();
      return;
    }
    for (const id of this.trk.voters) {
      if (id === this.id) continue;
      const m = msg({
        type: voteMsg,
        to: id,
        term,
        index: this.raftLog.lastIndex(),
        logTerm: this.raftLog.lastTerm(),
      });
      if (t === "Transfer") m.context = CAMPAIGN_TRANSFER;
      this.send(m);
    }
  }

  private poll(id: NodeId, t: MessageType, granted: boolean) {
    this.logger.debug(
      `${this.id} received ${t} ${granted ? "" : "rejection "}from ${id} at term ${this.term}`,
    );
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  // ---- stepping -------------------------------------------------------------------------------

  step(m: Message): void {
    if (m.term === 0n) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === "MsgVote" || m.type === "MsgPreVote") {
        const force = m.context !== undefined && bytesEqual(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // We heard from a live leader within the minimum election timeout: do not let a
          // partitioned node with a higher term disturb it (CheckQuorum's leader lease).
          this.logger.info(
            `${this.id} [term: ${this.term}] ignored ${m.type} from ${m.from} at term ${m.term}: lease is not expired (remaining ticks: ${this.electionTimeout - this.electionElapsed})`,
          );
          return;
        }
      }
      if (m.type === "MsgPreVote") {
        // Never change our term in response to a PreVote.
      } else if (m.type === "MsgPreVoteResp" && !m.reject) {
        // The term in a granted PreVoteResp is the future term we asked for; we bump it when we win.
      } else {
        this.logger.info(
          `${this.id} [term: ${this.term}] received a ${m.type} message with higher term from ${m.from} [term: ${m.term}]`,
        );
        if (m.type === "MsgApp" || m.type === "MsgHeartbeat" || m.type === "MsgSnap")
          this.becomeFollower(m.term, m.from);
        else this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === "MsgHeartbeat" || m.type === "MsgApp")) {
        // A stale leader (e.g. after a partition) learns our higher term from this and steps down;
        // without it, with CheckQuorum/PreVote it could never learn it and the cluster would stall.
        this.send(msg({ type: "MsgAppResp", to: m.from }));
      } else if (m.type === "MsgPreVote") {
        // Reject so that the pre-candidate learns our term and does not wait forever.
        this.send(msg({ type: "MsgPreVoteResp", to: m.from, term: this.term, reject: true }));
      }
      return;
    }

    switch (m.type) {
      case "MsgHup":
        this.hup(this.preVote ? "PreElection" : "Election");
        return;
      case "MsgVote":
      case "MsgPreVote": {
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === "MsgPreVote" && m.term > this.term);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          // A PreVote is answered with the term it asked for, so the candidate can tally it.
          this.send(msg({ type: voteRespMsgType(m.type), to: m.from, term: m.term }));
          if (m.type === "MsgVote") {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(msg({ type: voteRespMsgType(m.type), to: m.from, term: this.term, reject: true }));
        }
        return;
      }
      default:
        this.stepFn(m);
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "MsgBeat":
        this.bcastHeartbeat();
        return;
      case "MsgCheckQuorum":
        if (!this.trk.quorumActive(this.id)) {
          this.logger.warn(`${this.id} stepped down to follower since quorum is not active`);
          this.becomeFollower(this.term, NONE);
        }
        for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
        return;
      case "MsgProp":
        this.stepLeaderProposal(m);
        return;
      case "MsgReadIndex":
        if (this.trk.isSingleton()) {
          this.respondToReadIndex(m, this.raftLog.committed);
          return;
        }
        // Until an entry of this term is committed we do not know the true commit index (Raft §6.4).
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return;
        }
        this.sendMsgReadIndexResponse(m);
        return;
      default:
        break;
    }

    const pr = this.trk.progress.get(m.from);
    if (!pr) {
      this.logger.debug(`${this.id} no progress available for ${m.from}`);
      return;
    }
    switch (m.type) {
      case "MsgAppResp":
        this.handleAppResp(m, pr);
        return;
      case "MsgHeartbeatResp":
        this.handleHeartbeatResp(m, pr);
        return;
      case "MsgSnapStatus":
        if (pr.state !== "Snapshot") return;
        if (m.reject) pr.pendingSnapshot = 0n;
        pr.becomeProbe();
        // Wait for a MsgAppResp or heartbeat response before probing again.
        pr.msgAppFlowPaused = true;
        return;
      case "MsgUnreachable":
        // Optimistic replication to an unreachable peer would just fill its window: probe instead.
        if (pr.state === "Replicate") pr.becomeProbe();
        return;
      case "MsgTransferLeader":
        this.handleTransferLeader(m, pr);
        return;
      default:
        return;
    }
  }

  private stepLeaderProposal(m: Message): void {
    assert(m.entries.length > 0, () => `${this.id} stepped empty MsgProp`);
    if (!this.trk.progress.has(this.id)) {
      // We were removed from the configuration while leader.
      throw new ProposalDroppedError("raft proposal dropped: leader removed from configuration");
    }
    if (this.leadTransferee !== NONE) {
      throw new ProposalDroppedError(`raft proposal dropped: transfer to ${this.leadTransferee} in progress`);
    }
    // Copy: the entries get their term and index here, and a duplicated message must not alias them.
    const entries = m.entries.map((e) => ({ ...e }));
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.type !== "ConfChange") continue;
      if (this.pendingConfIndex > this.raftLog.applied) {
        // One conf change at a time: a second one becomes a no-op entry (etcd does the same).
        this.logger.info(
          `${this.id} ignoring conf change at index ${this.raftLog.lastIndex() + 1n + BigInt(i)} since pending ${this.pendingConfIndex} is unapplied (applied ${this.raftLog.applied})`,
        );
        entries[i] = { term: 0n, index: 0n, type: "Normal", data: new Uint8Array(0) };
      } else {
        this.pendingConfIndex = this.raftLog.lastIndex() + BigInt(i) + 1n;
      }
    }
    if (!this.appendEntry(entries)) throw new ProposalDroppedError();
    this.bcastAppend();
  }

  private handleAppResp(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      this.logger.debug(
        `${this.id} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${m.from} for index ${m.index}`,
      );
      let nextProbeIdx = m.rejectHint;
      // Skip every entry of a conflicting term in one go (fast backtracking).
      if (m.logTerm > 0n) nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
      if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
        if (pr.state === "Replicate") pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === "Probe")) return;
    switch (pr.state) {
      case "Probe":
        pr.becomeReplicate();
        break;
      case "Snapshot":
        // The follower caught up past our first index (from the snapshot or otherwise): replicate again.
        if (pr.match + 1n >= this.raftLog.firstIndex()) {
          pr.becomeProbe();
          pr.becomeReplicate();
        }
        break;
      case "Replicate":
        pr.inflights.freeLE(m.index);
        break;
    }
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    } else if (wasPaused) {
      this.sendAppend(m.from);
    }
    // Keep the window full while there is more to send.
    while (this.maybeSendAppend(m.from, false)) {}
    if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
      this.logger.info(`${this.id} sent MsgTimeoutNow to ${m.from} after received MsgAppResp`);
      this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResp(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.msgAppFlowPaused = false;
    if (pr.match < this.raftLog.lastIndex() || pr.state === "Probe") this.sendAppend(m.from);
    if (this.readOnly.option !== "Safe" || m.context === undefined || m.context.length === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (!acks) return;
    if (this.trk.voteResult((id) => (id === this.id ? true : acks.get(id))) !== "Won") return;
    for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.req, rs.index);
  }

  private handleTransferLeader(m: Message, pr: Progress): void {
    if (pr.isLearner) {
      this.logger.debug(`${this.id} is learner. Ignored transferring leadership`);
      return;
    }
    const transferee = m.from;
    const last = this.leadTransferee;
    if (last !== NONE) {
      if (last === transferee) {
        this.logger.info(
          `${this.id} [term ${this.term}] transfer leadership to ${transferee} is in progress, ignores request to same node`,
        );
        return;
      }
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) return;
    // The transfer must finish within one election timeout.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.raftLog.lastIndex()) {
      this.sendTimeoutNow(transferee);
    } else {
      this.sendAppend(transferee);
    }
  }

  private stepCandidate(m: Message): void {
    const myVoteRespType = this.state === "PreCandidate" ? "MsgPreVoteResp" : "MsgVoteResp";
    switch (m.type) {
      case "MsgProp":
        throw new ProposalDroppedError("raft proposal dropped: no leader");
      case "MsgApp":
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case "MsgHeartbeat":
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case "MsgSnap":
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case "MsgPreVoteResp":
      case "MsgVoteResp": {
        if (m.type !== myVoteRespType) return;
        const res = this.poll(m.from, m.type, !m.reject);
        if (res === "Won") {
          if (this.state === "PreCandidate") {
            this.campaign("Election");
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (res === "Lost") {
          // MsgPreVoteResp carrying a higher term was handled in step().
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "MsgProp":
        if (this.lead === NONE) throw new ProposalDroppedError("raft proposal dropped: no leader");
        if (this.disableProposalForwarding)
          throw new ProposalDroppedError("raft proposal dropped: forwarding disabled");
        m.to = this.lead;
        this.send(m);
        return;
      case "MsgApp":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case "MsgHeartbeat":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case "MsgSnap":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case "MsgTransferLeader":
        if (this.lead === NONE) {
          this.logger.info(`${this.id} no leader at term ${this.term}; dropping leader transfer msg`);
          return;
        }
        m.to = this.lead;
        this.send(m);
        return;
      case "MsgTimeoutNow":
        this.logger.info(
          `${this.id} [term ${this.term}] received MsgTimeoutNow from ${m.from} and starts an election to get leadership.`,
        );
        // Leadership transfer never uses PreVote: we know we are expected to win.
        this.hup("Transfer");
        return;
      case "MsgReadIndex":
        if (this.lead === NONE) {
          this.logger.info(`${this.id} no leader at term ${this.term}; dropping index reading msg`);
          return;
        }
        m.to = this.lead;
        this.send(m);
        return;
      case "MsgReadIndexResp":
        if (m.entries.length !== 1) {
          this.logger.warn(
            `${this.id} invalid format of MsgReadIndexResp from ${m.from}, entries count: ${m.entries.length}`,
          );
          return;
        }
        this.readStates.push({ index: m.index, requestCtx: m.entries[0]!.data });
        return;
      default:
        return;
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(msg({ type: "MsgAppResp", to: m.from, index: this.raftLog.committed }));
      return;
    }
    const last = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (last !== undefined) {
      this.send(msg({ type: "MsgAppResp", to: m.from, index: last }));
      return;
    }
    // Reject with a hint: our largest index <= m.index whose term is <= m.logTerm.
    const probe = m.index < this.raftLog.lastIndex() ? m.index : this.raftLog.lastIndex();
    const [hintIndex, hintTerm] = this.raftLog.findConflictByTerm(probe, m.logTerm);
    this.logger.debug(
      `${this.id} [logterm: ${this.raftLog.termOrZero(m.index)}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`,
    );
    this.send(
      msg({
        type: "MsgAppResp",
        to: m.from,
        index: m.index,
        reject: true,
        rejectHint: hintIndex,
        logTerm: hintTerm,
      }),
    );
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    const resp = msg({ type: "MsgHeartbeatResp", to: m.from });
    if (m.context) resp.context = m.context;
    this.send(resp);
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot!;
    if (this.restore(s)) {
      this.logger.info(
        `${this.id} [commit: ${this.raftLog.committed}] restored snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`,
      );
      this.send(msg({ type: "MsgAppResp", to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.logger.info(
        `${this.id} [commit: ${this.raftLog.committed}] ignored snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`,
      );
      this.send(msg({ type: "MsgAppResp", to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Replace our log with a snapshot; false if it is old, already matched, or excludes us. */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.state !== "Follower") {
      // Defense in depth: only a follower restores. Become one in a new term, so the sender sees it.
      this.logger.warn(`${this.id} attempted to restore snapshot as leader; should never happen`);
      this.becomeFollower(this.term + 1n, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    if (!cs.voters.includes(this.id) && !cs.learners.includes(this.id)) {
      this.logger.warn(
        `${this.id} attempted to restore snapshot but it is not in the ConfState ${JSON.stringify(cs, big)}; should never happen`,
      );
      return false;
    }
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already have the entry at the snapshot index: just fast-forward the commit index.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk.progress.clear();
    this.trk.setConfig(cs, this.raftLog.lastIndex() + 1n);
    const self = this.trk.progress.get(this.id)!;
    self.maybeUpdate(s.metadata.index);
    this.isLearner = self.isLearner;
    return true;
  }

  /** Can this member become leader? (a voter, not in the middle of applying a snapshot) */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  /** Apply a committed conf change; called by the application when it applies the entry. */
  applyConfChange(cc: ConfChange): ConfState {
    const cs = nextConfState(this.trk.confState(), cc);
    this.switchToConfig(cs);
    return cs;
  }

  private switchToConfig(cs: ConfState): void {
    this.trk.setConfig(cs, maxBig(this.raftLog.lastIndex(), 1n));
    const self = this.trk.progress.get(this.id);
    this.isLearner = self?.isLearner ?? false;
    if ((!self || this.isLearner) && this.state === "Leader") {
      // We were removed or demoted. Without stepDownOnRemoval we stay leader (as etcd's raft does)
      // but take no proposals, until the new configuration elects someone else.
      if (this.stepDownOnRemoval) this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.state !== "Leader" || cs.voters.length === 0) return;
    // The quorum changed, so the commit index may advance.
    if (this.maybeCommit()) this.bcastAppend();
    else for (const id of this.trk.ids()) if (id !== this.id) this.maybeSendAppend(id, false);
    if (this.leadTransferee !== NONE && !this.trk.voters.includes(this.leadTransferee))
      this.abortLeaderTransfer();
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.sendMsgReadIndexResponse(m);
  }

  private sendMsgReadIndexResponse(m: Message): void {
    switch (this.readOnly.option) {
      case "Safe":
        // Confirm we are still leader with a heartbeat round before answering.
        this.readOnly.addRequest(this.raftLog.committed, m);
        this.readOnly.recvAck(this.id, m.entries[0]!.data);
        this.bcastHeartbeatWithCtx(m.entries[0]!.data);
        break;
      case "LeaseBased":
        this.respondToReadIndex(m, this.raftLog.committed);
        break;
    }
  }

  private respondToReadIndex(req: Message, readIndex: bigint): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: req.entries[0]!.data });
      return;
    }
    this.send(msg({ type: "MsgReadIndexResp", to: req.from, index: readIndex, entries: req.entries }));
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(msg({ type: "MsgTimeoutNow", to }));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.rand.int(this.electionTimeout);
  }

  private increaseUncommittedSize(ents: Entry[]): boolean {
    let s = 0;
    for (const e of ents) s += e.data.length;
    // Always admit a proposal when nothing is uncommitted, however large, so progress is possible.
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  /** Called as committed entries are applied: they no longer count as uncommitted. */
  reduceUncommittedSize(ents: Entry[]): void {
    if (this.state !== "Leader") return;
    let s = 0;
    for (const e of ents) s += e.data.length;
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }
}

function validateConfig(c: Config): void {
  assert(c.id !== NONE, "cannot use none as id");
  assert(c.heartbeatTick > 0, "heartbeat tick must be greater than 0");
  assert(c.electionTick > c.heartbeatTick, "election tick must be greater than heartbeat tick");
  assert(
    (c.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS) > 0,
    "max inflight messages must be greater than 0",
  );
  assert(
    (c.readOnlyOption ?? "Safe") !== "LeaseBased" || c.checkQuorum === true,
    "CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased",
  );
}

const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const big = (_k: string, v: unknown): unknown => (typeof v === "bigint" ? v.toString() : v);
