// Owns one simulated member: its RawNode, disk and state machine, and the two-step Ready handling around a crash.
import { decodeConfChange } from "../confchange.js";
import type { Rand } from "../rand.js";
import { type Config, RawNode, type Ready } from "../rawnode.js";
import type { ConfChange, ConfState, Entry, Message, NodeId, StateType } from "../types.js";
import type { Checker } from "./checker.js";
import { Disk } from "./disk.js";
import { proposalId, readId, StateMachine } from "./statemachine.js";
import { fmtConfState, fmtEntries, type TraceFn } from "./trace.js";

/** What a node needs from the simulation around it. */
export interface NodeHost {
  readonly checker: Checker;
  readonly trace: TraceFn | undefined;
  send(m: Message): void;
  /** Schedule node.sync() for later (an fsync in flight) and return true, or return false to sync now. */
  syncLater(node: SimNode): boolean;
  proposalApplied(node: SimNode, id: number, index: bigint): void;
  confChangeApplied(node: SimNode, cc: ConfChange, index: bigint): void;
  /** A ReadState for read `id` arrived at the node; may the node serve it (is the read still this incarnation's)? */
  readAccepted(node: SimNode, id: number): boolean;
  readServed(node: SimNode, id: number, rsIndex: bigint): void;
}

export type RaftConfig = Omit<Config, "id" | "storage" | "applied" | "rand">;

/**
 * When a member added after the last snapshot is sent that snapshot, raft ignores it (it is not in the
 * snapshot's ConfState, as etcd's raft), so the application must avoid that: either `merged` (like
 * etcd's server, every outgoing MsgSnap carries a fresh snapshot of the current applied state), or take
 * a snapshot right after applying each conf change.
 */
export interface SnapshotPolicy {
  interval: bigint;
  keep: bigint;
  merged: boolean;
}

export class SimNode {
  readonly id: NodeId;
  readonly disk: Disk;
  rn: RawNode | undefined;
  sm = new StateMachine();
  confState: ConfState = { voters: [], learners: [] };
  state: "up" | "down" | "stopped" = "down";
  incarnation = 0;
  /** Last role and term seen, for the trace and for noticing a new leader. */
  role: StateType = "Follower";
  term = 0n;
  private leaderTerm = -1n;
  /** A Ready that was written but not synced yet. */
  private inflight: Ready | undefined;
  private waitingReads: { id: number; index: bigint }[] = [];
  private readonly host: NodeHost;
  private readonly cfg: RaftConfig;
  private readonly snapshots: SnapshotPolicy;

  constructor(id: NodeId, host: NodeHost, cfg: RaftConfig, snapshots: SnapshotPolicy, disk = new Disk()) {
    this.id = id;
    this.disk = disk;
    this.host = host;
    this.cfg = cfg;
    this.snapshots = snapshots;
  }

  get up(): boolean {
    return this.state === "up";
  }

  private raw(): RawNode {
    if (this.rn === undefined) throw new Error(`n${this.id} is ${this.state}`);
    return this.rn;
  }

  /**
   * (Re)start from what the disk holds. A member of a new cluster bootstraps, and its first Ready is
   * persisted at once (as etcd writes the WAL before it starts serving).
   */
  start(rand: Rand, bootstrapPeers?: NodeId[]): void {
    const storage = this.disk.live;
    const snap = storage.snapshot();
    const snapIndex = snap.metadata.index;
    this.host.checker.restarting(this.id, this.disk.durable);
    this.sm = snapIndex > 0n ? StateMachine.decode(snap.data) : new StateMachine();
    this.host.checker.restored(this.id, snapIndex, snap.metadata.term, this.sm);
    this.confState = {
      voters: [...snap.metadata.confState.voters],
      learners: [...snap.metadata.confState.learners],
    };
    this.rn = new RawNode({ ...this.cfg, id: this.id, storage, applied: snapIndex, rand });
    this.state = "up";
    this.incarnation++;
    this.inflight = undefined;
    this.waitingReads = [];
    this.role = "Follower";
    this.leaderTerm = -1n;
    const hs = storage.initialState().hardState;
    this.term = hs.term;
    this.host.trace?.(
      `n${this.id} START #${this.incarnation} term ${hs.term} vote n${hs.vote} commit ${hs.commit} snapshot ${snapIndex} last ${storage.lastIndex()}`,
    );
    if (bootstrapPeers !== undefined && this.disk.isEmpty()) {
      this.rn.bootstrap(bootstrapPeers);
      this.pump();
      this.sync();
    }
  }

  /** Power loss: the RawNode and unsynced writes are gone. */
  crash(rand: Rand, tornRate: number): { unsynced: number; kept: number } {
    const unsynced = this.disk.unsynced;
    const kept = this.disk.crash(rand, tornRate);
    this.rn = undefined;
    this.inflight = undefined;
    this.waitingReads = [];
    this.state = "down";
    this.host.trace?.(`n${this.id} CRASH (${unsynced} unsynced writes, ${kept} survived)`);
    return { unsynced, kept };
  }

  /** Removed from the cluster: never runs again. */
  stop(): void {
    this.rn = undefined;
    this.inflight = undefined;
    this.waitingReads = [];
    this.state = "stopped";
    this.host.trace?.(`n${this.id} STOPPED (removed)`);
  }

  tick(): void {
    this.call((rn) => rn.tick());
  }

  step(m: Message): void {
    this.call((rn) => rn.step(m));
  }

  /** Run a client or admin call on the RawNode, then handle what it produced. */
  call<T>(f: (rn: RawNode) => T): T {
    try {
      return f(this.raw());
    } finally {
      if (this.up) this.after();
    }
  }

  private after(): void {
    this.observe();
    this.pump();
  }

  /** Notice role changes; a node that just became leader must hold every committed entry. */
  private observe(): void {
    const r = this.raw().raft;
    if (r.state === this.role && r.term === this.term) return;
    if (r.state === "Leader" && this.leaderTerm !== r.term) {
      this.leaderTerm = r.term;
      this.host.checker.becameLeader(this.id, r.term, r.raftLog);
    }
    this.host.trace?.(`n${this.id} ${this.role}@${this.term} -> ${r.state}@${r.term}`);
    this.role = r.state;
    this.term = r.term;
  }

  /**
   * Step one of Ready handling: take a Ready and write it, unsynced. The host either schedules the
   * sync for later (other events and crashes may come in between) or has it done at once.
   */
  pump(): void {
    while (this.up && this.inflight === undefined) {
      const rn = this.raw();
      if (!rn.hasReady()) return;
      const rd = rn.ready();
      this.disk.write(rd);
      if (this.cfg.leaderAcksOnPersist) {
        // As etcd-ts's server: a leader's appends and heartbeats leave before its own sync.
        const early = (m: Message): boolean => m.type === "MsgApp" || m.type === "MsgHeartbeat";
        for (const m of rd.messages) if (early(m)) this.host.send(m);
        rd.messages = rd.messages.filter((m) => !early(m));
      }
      if (rd.entries.length > 0)
        this.host.checker.persisted(this.id, rd.entries, this.termBefore(rd.entries[0]!));
      if (this.host.trace !== undefined) this.traceWrite(rd);
      this.inflight = rd;
      if (this.host.syncLater(this)) return;
      this.finishReady(rd);
      if (this.up) this.observe();
    }
  }

  private termBefore(e: Entry): bigint | undefined {
    try {
      return this.disk.live.term(e.index - 1n);
    } catch {
      return undefined;
    }
  }

  /** The scheduled sync of the Ready in flight is due. */
  sync(): void {
    const rd = this.inflight;
    if (!this.up || rd === undefined) return;
    this.finishReady(rd);
    if (this.up) this.after();
  }

  /** Step two: fsync, then send, apply and advance. */
  private finishReady(rd: Ready): void {
    const rn = this.raw();
    const c = this.host.checker;
    this.disk.sync();
    if (rd.hardState !== undefined) {
      // A commit index counts once it is synced: a single member commits its own unsynced entry in
      // the same Ready, and a crash before this sync legitimately forgets it (no one saw it).
      // (`live` equals `durable` here, unless a test sabotages fsync.)
      c.syncedHardState(this.id, this.disk.live.initialState().hardState);
      c.commitAdvanced(this.id, rd.hardState.commit, this.disk.live);
    }
    for (const m of rd.messages) this.host.send(m.type === "MsgSnap" ? this.mergedSnapshot(m) : m);
    if (rd.snapshot !== undefined && rd.snapshot.metadata.index > 0n) {
      const meta = rd.snapshot.metadata;
      this.sm = StateMachine.decode(rd.snapshot.data);
      c.restored(this.id, meta.index, meta.term, this.sm);
      this.confState = { voters: [...meta.confState.voters], learners: [...meta.confState.learners] };
      this.host.trace?.(
        `n${this.id} restored snapshot ${meta.index}@${meta.term} ${fmtConfState(this.confState)}`,
      );
    }
    let confChanged = false;
    for (const e of rd.committedEntries) confChanged = this.apply(rn, e) || confChanged;
    for (const rs of rd.readStates) {
      const id = readId(rs.requestCtx);
      if (id !== undefined && this.host.readAccepted(this, id))
        this.waitingReads.push({ id, index: rs.index });
    }
    this.serveReads();
    rn.advance(rd);
    this.inflight = undefined;
    this.maybeSnapshot(confChanged && !this.snapshots.merged);
  }

  /** Apply one committed entry; true if it was a conf change. */
  private apply(rn: RawNode, e: Entry): boolean {
    this.sm.apply(e);
    this.host.checker.appliedEntry(this.id, e, this.sm);
    if (e.type === "ConfChange") {
      const cc = decodeConfChange(e.data);
      this.confState = rn.applyConfChange(cc);
      this.host.confChangeApplied(this, cc, e.index);
      return true;
    }
    const id = proposalId(e.data);
    if (id !== undefined) this.host.proposalApplied(this, id, e.index);
    return false;
  }

  /** etcd's server sends the current applied state, not the stored snapshot raft picked. */
  private mergedSnapshot(m: Message): Message {
    const old = m.snapshot;
    if (!this.snapshots.merged || old === undefined || this.sm.applied <= old.metadata.index) return m;
    const index = this.sm.applied;
    const confState = { voters: [...this.confState.voters], learners: [...this.confState.learners] };
    const snapshot = {
      data: this.sm.encode(),
      metadata: { index, term: this.disk.live.term(index), confState },
    };
    return { ...m, snapshot };
  }

  private serveReads(): void {
    if (this.waitingReads.length === 0) return;
    const still: { id: number; index: bigint }[] = [];
    for (const r of this.waitingReads) {
      if (r.index <= this.sm.applied) this.host.readServed(this, r.id, r.index);
      else still.push(r);
    }
    this.waitingReads = still;
  }

  private maybeSnapshot(force: boolean): void {
    const snapIndex = this.disk.durable.snapshot().metadata.index;
    if (this.sm.applied - snapIndex < (force ? 1n : this.snapshots.interval)) return;
    this.disk.snapshotAndCompact(this.sm.applied, this.confState, this.sm.encode(), this.snapshots.keep);
    this.host.trace?.(`n${this.id} snapshot at ${this.sm.applied}, log now ${this.disk.live.firstIndex()}..`);
  }

  private traceWrite(rd: Ready): void {
    const t = this.host.trace!;
    const parts: string[] = [];
    if (rd.softState !== undefined) parts.push(`soft ${rd.softState.raftState} lead n${rd.softState.lead}`);
    if (rd.hardState !== undefined) {
      parts.push(`hs t${rd.hardState.term} v${rd.hardState.vote} c${rd.hardState.commit}`);
    }
    if (rd.snapshot !== undefined && rd.snapshot.metadata.index > 0n)
      parts.push(`snap ${rd.snapshot.metadata.index}`);
    if (rd.entries.length > 0) parts.push(`ents ${fmtEntries(rd.entries)}`);
    if (rd.committedEntries.length > 0) parts.push(`apply ${fmtEntries(rd.committedEntries)}`);
    if (rd.messages.length > 0) parts.push(`${rd.messages.length} msgs`);
    if (rd.readStates.length > 0) parts.push(`${rd.readStates.length} read states`);
    t(`n${this.id} write: ${parts.join(", ")}`);
  }
}
