// Owns the member's raft driver: ticks, the Ready loop (persist → send → apply → advance), WAL + raft storage.

import type { Rand } from "../raft/rand.js";
import { type Peer, ProposalDroppedError, RawNode, type Ready } from "../raft/rawnode.js";
import type { MemoryStorage } from "../raft/storage.js";
import type {
  ConfChange,
  ConfState,
  Entry,
  Message,
  NodeId,
  ReadState,
  Snapshot,
  SnapshotStatus,
  SoftState,
} from "../raft/types.js";
import type { Wal } from "../wal/index.js";

export interface RaftNodeOptions {
  id: NodeId;
  /** Raft storage already filled from the WAL (snapshot, hard state, entries). */
  storage: MemoryStorage;
  wal: Wal;
  heartbeatMs: number;
  electionTicks: number;
  preVote: boolean;
  rand: Rand;
  /** Peers of a brand-new cluster: bootstrap the log with them. */
  bootstrapPeers?: Peer[];
  /** Skip fdatasync (--unsafe-no-fsync): tests only. */
  unsafeNoFsync: boolean;
  logger: {
    info(o: object, msg: string): void;
    warn(o: object, msg: string): void;
    debug(o: object, msg: string): void;
  };
}

export interface RaftNodeHandlers {
  /** Apply committed entries, in order, synchronously (one backend write transaction). */
  apply(entries: Entry[], node: RaftNode): void;
  readStates(states: ReadState[]): void;
  softState(ss: SoftState): void;
  send(messages: Message[]): void;
  /**
   * Raft accepted a snapshot from the leader (already in the WAL and raft storage): replace the state
   * machine with it before any later entry applies.
   */
  restoreSnapshot(snap: Snapshot): Promise<void>;
  /** A fatal persistence error: the member must stop. */
  fatal(err: unknown): void;
}

/** Most committed-entry bytes applied per Ready, so one apply batch stays short (keeps the event loop live). */
export const MAX_COMMITTED_SIZE_PER_READY = 4 * 1024 * 1024;
/** Most bytes in one MsgApp, as etcd's server (1 MiB). */
export const MAX_SIZE_PER_MSG = 1024 * 1024;
/** etcd's server keeps up to 4096 MsgApp in flight per follower. */
export const MAX_INFLIGHT_MSGS = 4096;

export class RaftNode {
  readonly raw: RawNode;
  readonly storage: MemoryStorage;
  readonly wal: Wal;
  private readonly opts: RaftNodeOptions;
  private handlers: RaftNodeHandlers | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private running = false;
  private scheduled = false;
  private stopped = false;
  /** Resolves when the loop is idle (for stop()). */
  private idle: Promise<void> = Promise.resolve();

  constructor(opts: RaftNodeOptions) {
    this.opts = opts;
    this.storage = opts.storage;
    this.wal = opts.wal;
    this.raw = new RawNode({
      id: opts.id,
      electionTick: opts.electionTicks,
      heartbeatTick: 1,
      storage: opts.storage,
      // No `applied`: like etcd, raft re-delivers every entry after the snapshot on restart; conf changes
      // are re-applied to raft and the backend skips entries at or below its consistent index.
      maxSizePerMsg: MAX_SIZE_PER_MSG,
      maxCommittedSizePerReady: MAX_COMMITTED_SIZE_PER_READY,
      maxInflightMsgs: MAX_INFLIGHT_MSGS,
      checkQuorum: true,
      leaderAcksOnPersist: true,
      preVote: opts.preVote,
      readOnlyOption: "Safe",
      rand: opts.rand,
    });
    if (opts.bootstrapPeers) this.raw.bootstrap(opts.bootstrapPeers);
  }

  start(handlers: RaftNodeHandlers): void {
    this.handlers = handlers;
    this.ticker = setInterval(() => {
      this.raw.tick();
      this.schedule();
    }, this.opts.heartbeatMs);
    this.schedule();
  }

  /** Moves the election clock forward by n ticks (etcd's advanceTicks). */
  advanceTicks(n: number): void {
    for (let i = 0; i < n; i++) this.raw.tick();
    this.schedule();
  }

  /** A single voter need not wait a whole election timeout at boot (etcd fast-forwards its ticks too). */
  campaignNow(): void {
    this.raw.campaign();
    this.schedule();
  }

  propose(data: Uint8Array): void {
    this.raw.propose(data);
    this.schedule();
  }

  proposeConfChange(cc: ConfChange): void {
    this.raw.proposeConfChange(cc);
    this.schedule();
  }

  readIndex(ctx: Uint8Array): void {
    this.raw.readIndex(ctx);
    this.schedule();
  }

  step(m: Message): void {
    this.raw.step(m);
    this.schedule();
  }

  /** The transport dropped messages to id (raft probes it instead of streaming to it). */
  reportUnreachable(id: NodeId): void {
    if (this.stopped) return;
    this.raw.reportUnreachable(id);
    this.schedule();
  }

  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    if (this.stopped) return;
    this.raw.reportSnapshot(id, status);
    this.schedule();
  }

  transferLeader(to: NodeId): void {
    this.raw.transferLeader(to);
    this.schedule();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  applyConfChange(cc: ConfChange): ConfState {
    return this.raw.applyConfChange(cc);
  }

  /** Process Ready on the next turn, so everything proposed in this turn shares one WAL fsync. */
  schedule(): void {
    if (this.scheduled || this.running || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.running && !this.stopped) this.idle = this.loop();
    });
  }

  /**
   * The Ready loop, pipelined like etcd's raftNode: while one Ready's entries are being written and fsynced (in the
   * thread pool), the previous Ready's committed entries are applied on this thread. A Ready's committed entries are
   * applied only once durable here: at once if earlier Readys persisted them, else after its own persist. One
   * carrying a conf change or a snapshot is applied before the next Ready is taken.
   */
  private async loop(): Promise<void> {
    this.running = true;
    let pending: Ready | undefined; // persisted and advanced, committed entries not yet applied
    try {
      while (!this.stopped) {
        if (!this.raw.hasReady()) {
          if (!pending) break;
          this.applyReady(pending);
          pending = undefined;
          continue;
        }
        const rd = this.raw.ready();
        const h = this.handlers!;
        if (rd.softState) h.softState(rd.softState);
        if (rd.snapshot && pending) {
          this.applyReady(pending);
          pending = undefined;
        }
        // A leader's appends and heartbeats leave before its own fsync, so its disk write overlaps the followers'
        // (as etcd's raftNode). That is safe because raft counts the leader's own copy only once advance() says it
        // is durable (leaderAcksOnPersist); etcd 3.4 counts it at append and can commit an entry the leader then
        // loses in a crash. Everything else (votes, appends' acks) leaves only once this Ready is durable.
        const [now, later] = splitEarly(rd.messages);
        if (now.length > 0) h.send(now);
        const early = this.durableAlready(rd);
        const persisted = this.persist(rd);
        if (pending) {
          this.applyReady(pending);
          pending = undefined;
        }
        if (early) this.applyReady(rd);
        await persisted;
        if (later.length > 0) h.send(later);
        this.raw.advance(rd);
        if (early) continue;
        if (rd.snapshot || hasConfChange(rd)) this.applyReady(rd);
        else pending = rd;
      }
    } catch (err) {
      this.stopped = true;
      this.handlers?.fatal(err);
    } finally {
      this.running = false;
    }
  }

  /**
   * Whether rd's committed entries were all made durable by earlier Readys, so they may be applied while rd
   * itself is persisted (saving a loop turn of latency). Raft storage only holds entries already in the WAL, and
   * a committed entry is never overwritten, so it is durable if it is at or below storage's last index and
   * before rd's first new entry. Call before persist(rd) changes storage.
   */
  private durableAlready(rd: Ready): boolean {
    const last = rd.committedEntries.at(-1);
    if (last === undefined || rd.snapshot || hasConfChange(rd)) return false;
    const firstNew = rd.entries[0];
    return last.index <= this.storage.lastIndex() && (firstNew === undefined || last.index < firstNew.index);
  }

  /** Make a Ready's snapshot, entries and hard state durable (one fdatasync for the whole batch). */
  private async persist(rd: Ready): Promise<void> {
    if (rd.snapshot) {
      await this.wal.saveSnapshot(rd.snapshot.metadata);
      this.storage.applySnapshot(rd.snapshot);
      await this.handlers!.restoreSnapshot(rd.snapshot);
    }
    if (rd.entries.length > 0 || rd.hardState) {
      await this.wal.save(rd.hardState, rd.entries);
      this.storage.append(rd.entries);
      if (rd.hardState) this.storage.setHardState(rd.hardState);
    }
  }

  private applyReady(rd: Ready): void {
    const h = this.handlers!;
    if (rd.committedEntries.length > 0) h.apply(rd.committedEntries, this);
    if (rd.readStates.length > 0) h.readStates(rd.readStates);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    await this.idle;
  }
}

/** Split a Ready's messages into those that may leave before it is persisted (a leader's) and the rest. */
export function splitEarly(messages: Message[]): [Message[], Message[]] {
  let early = 0;
  for (const m of messages) if (m.type === "MsgApp" || m.type === "MsgHeartbeat") early++;
  if (early === 0) return [[], messages];
  if (early === messages.length) return [messages, []];
  const now: Message[] = [];
  const later: Message[] = [];
  for (const m of messages) (m.type === "MsgApp" || m.type === "MsgHeartbeat" ? now : later).push(m);
  return [now, later];
}

const hasConfChange = (rd: Ready): boolean => rd.committedEntries.some((e) => e.type === "ConfChange");

export { ProposalDroppedError };
