// Owns the in-memory test cluster: RawNodes over MemoryStorage, a controllable network, synchronous Ready cycles.
import { decodeConfChange } from "../confchange.js";
import { Rand } from "../rand.js";
import { type Config, RawNode } from "../rawnode.js";
import { MemoryStorage } from "../storage.js";
import type { ConfChange, ConfState, Entry, Message, NodeId, ReadState, Snapshot } from "../types.js";
import { dec, enc } from "./fixtures.js";

/** Most process-ready/deliver rounds stabilize() runs before it declares a livelock. */
export const MAX_STABILIZE_ROUNDS = 10_000;

export type NodeOptions = Partial<Omit<Config, "id" | "storage" | "rand" | "applied" | "logger">>;

export interface NetworkOptions extends NodeOptions {
  /** Seeds every node's Rand (node i uses seed * 1000 + i). */
  seed?: number;
  /** "storage": members start knowing the configuration (etcd raft_test style, empty log). "entries": RawNode.bootstrap. */
  bootstrap?: "storage" | "entries";
  learners?: NodeId[];
}

/** One applied Normal entry of the test state machine. */
export interface AppliedValue {
  index: bigint;
  value: string;
}

export class TestNode {
  rn: RawNode;
  crashed = false;
  /** The state machine: the data of every non-empty Normal entry applied, in order. Survives crashes. */
  values: AppliedValue[] = [];
  appliedIndex = 0n;
  readStates: ReadState[] = [];
  private restarts = 0;

  constructor(
    readonly id: NodeId,
    readonly storage: MemoryStorage,
    private readonly opts: NetworkOptions,
  ) {
    this.rn = new RawNode(this.config());
  }

  get raft() {
    return this.rn.raft;
  }

  private config(): Config {
    const seed = (this.opts.seed ?? 1) * 1000 + Number(this.id) + this.restarts * 100_000;
    const { seed: _s, bootstrap: _b, learners: _l, ...raftOpts } = this.opts;
    // Like the etcd server: raft restarts at the snapshot and the app re-applies what follows (idempotently).
    const applied = this.storage.snapshot().metadata.index;
    return {
      electionTick: 10,
      heartbeatTick: 1,
      ...raftOpts,
      id: this.id,
      storage: this.storage,
      rand: new Rand(seed),
      ...(applied > 0n ? { applied } : {}),
    };
  }

  /** A fresh RawNode over the same (durable) storage; unpersisted raft state is lost. */
  restart(): void {
    this.restarts++;
    this.crashed = false;
    this.rn = new RawNode(this.config());
  }

  apply(e: Entry): void {
    if (e.type === "ConfChange") {
      // Conf changes are always (re)applied to raft, as the etcd server does after a restart.
      this.rn.applyConfChange(decodeConfChange(e.data));
    } else if (e.data.length > 0 && e.index > this.appliedIndex) {
      this.values.push({ index: e.index, value: dec(e.data) });
    }
    if (e.index > this.appliedIndex) this.appliedIndex = e.index;
  }

  restoreSnapshot(s: Snapshot): void {
    this.values = s.data.length === 0 ? [] : (JSON.parse(dec(s.data)) as [string, string][]).map(toValue);
    this.appliedIndex = s.metadata.index;
  }

  snapshotData(index: bigint): Uint8Array {
    const upTo = this.values.filter((v) => v.index <= index).map((v) => [v.index.toString(), v.value]);
    return enc(JSON.stringify(upTo));
  }

  valueList(): string[] {
    return this.values.map((v) => v.value);
  }
}

const toValue = ([i, v]: [string, string]): AppliedValue => ({ index: BigInt(i), value: v });

const link = (from: NodeId, to: NodeId): string => `${from}>${to}`;

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent but not yet delivered. */
  inflight: Message[] = [];
  /** Every message any node sent, in order (tests may clear it). */
  trace: Message[] = [];
  /** Messages lost to a partition, a crash or a filter. */
  dropped: Message[] = [];
  private readonly cuts = new Set<string>();
  private readonly isolated = new Set<NodeId>();
  private readonly filters: ((m: Message) => boolean)[] = [];
  readonly initialConf: ConfState;

  constructor(
    voters: NodeId[],
    readonly opts: NetworkOptions = {},
  ) {
    const learners = opts.learners ?? [];
    this.initialConf = { voters: [...voters], learners: [...learners] };
    for (const id of [...voters, ...learners]) {
      if (opts.bootstrap === "entries") {
        const n = new TestNode(id, new MemoryStorage(), opts);
        n.rn.bootstrap(voters);
        this.nodes.set(id, n);
      } else {
        this.nodes.set(id, new TestNode(id, new MemoryStorage(this.initialConf), opts));
      }
    }
  }

  /** A cluster of voters 1..n. */
  static create(n: number, opts: NetworkOptions = {}): Network {
    return new Network(
      Array.from({ length: n }, (_, i) => BigInt(i + 1)),
      opts,
    );
  }

  node(id: NodeId | number): TestNode {
    const n = this.nodes.get(BigInt(id));
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** A node that will join through a conf change: it knows only the initial configuration (or nothing). */
  addNode(id: NodeId): TestNode {
    const storage =
      this.opts.bootstrap === "entries" ? new MemoryStorage() : new MemoryStorage(this.initialConf);
    const n = new TestNode(id, storage, this.opts);
    this.nodes.set(id, n);
    return n;
  }

  sortedNodes(): TestNode[] {
    return [...this.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  live(): TestNode[] {
    return this.sortedNodes().filter((n) => !n.crashed);
  }

  /** The live leader with the highest term, if any. */
  leader(): TestNode | undefined {
    let best: TestNode | undefined;
    for (const n of this.live()) {
      if (n.raft.state === "Leader" && (!best || n.raft.term > best.raft.term)) best = n;
    }
    return best;
  }

  // ---- inputs ---------------------------------------------------------------------------------

  campaign(id: NodeId | number): void {
    this.node(id).rn.campaign();
  }

  propose(id: NodeId | number, value: string): void {
    this.node(id).rn.propose(enc(value));
  }

  proposeConfChange(id: NodeId | number, cc: Omit<ConfChange, "context">): void {
    this.node(id).rn.proposeConfChange({ ...cc, context: new Uint8Array(0) });
  }

  readIndex(id: NodeId | number, ctx: string): void {
    this.node(id).rn.readIndex(enc(ctx));
  }

  tick(id: NodeId | number, times = 1): void {
    const n = this.node(id);
    if (n.crashed) return;
    for (let i = 0; i < times; i++) n.rn.tick();
  }

  /** Let time pass with the network running: tick every live node once, then stabilize, `times` times. */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const n of this.live()) n.rn.tick();
      this.stabilize();
    }
  }

  /**
   * Snapshot the node's state machine at `index` (default: raft's applied index) and compact its log there.
   * Like etcd's MemoryStorage.Compact, never past what raft has handed out as applied (after a restart
   * that is behind the durable state machine until the log is replayed). The confState is the current
   * one, so compact at an earlier index only when no conf change lies in between.
   */
  compact(id: NodeId | number, index?: bigint): void {
    const n = this.node(id);
    const applied = n.raft.raftLog.applied;
    const at = index ?? applied;
    if (at > applied) throw new Error(`cannot compact ${n.id} at ${at} > raft applied ${applied}`);
    n.storage.createSnapshot(at, n.raft.trk.confState(), n.snapshotData(at));
    n.storage.compact(at);
  }

  crash(id: NodeId | number): void {
    const n = this.node(id);
    n.crashed = true;
    this.inflight = this.inflight.filter((m) => {
      const lost = m.to === n.id || m.from === n.id;
      if (lost) this.dropped.push(m);
      return !lost;
    });
  }

  restart(id: NodeId | number): void {
    this.node(id).restart();
  }

  // ---- faults ---------------------------------------------------------------------------------

  /** Drop messages from `from` to `to` (one way). */
  drop(from: NodeId, to: NodeId): void {
    this.cuts.add(link(from, to));
  }

  cut(a: NodeId, b: NodeId): void {
    this.drop(a, b);
    this.drop(b, a);
  }

  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  /** Only members of the same group can talk. */
  partition(...groups: NodeId[][]): void {
    for (const g of groups) {
      for (const h of groups) {
        if (g === h) continue;
        for (const a of g) for (const b of h) this.drop(a, b);
      }
    }
  }

  /** Drop every message for which `f` is true, until heal(). */
  dropIf(f: (m: Message) => boolean): void {
    this.filters.push(f);
  }

  heal(): void {
    this.cuts.clear();
    this.isolated.clear();
    this.filters.length = 0;
  }

  private blocked(m: Message): boolean {
    const to = this.nodes.get(m.to);
    if (!to || to.crashed) return true;
    if (this.isolated.has(m.from) || this.isolated.has(m.to)) return true;
    return this.cuts.has(link(m.from, m.to)) || this.filters.some((f) => f(m));
  }

  // ---- the Ready cycle and delivery -------------------------------------------------------------

  /** Persist, send and apply one Ready of node id; false if it had none. */
  processReady(id: NodeId): boolean {
    const n = this.node(id);
    if (n.crashed || !n.rn.hasReady()) return false;
    const rd = n.rn.ready();
    if (rd.snapshot) {
      n.storage.applySnapshot(rd.snapshot);
      n.restoreSnapshot(rd.snapshot);
    }
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    for (const m of rd.messages) {
      this.inflight.push(m);
      this.trace.push(m);
    }
    for (const e of rd.committedEntries) n.apply(e);
    n.readStates.push(...rd.readStates);
    n.rn.advance(rd);
    return true;
  }

  /** Deliver the in-flight messages for which `match` holds (all by default); returns how many were handled. */
  deliver(match: (m: Message) => boolean = () => true): number {
    const batch = this.inflight;
    this.inflight = [];
    let handled = 0;
    for (const m of batch) {
      if (!match(m)) {
        this.inflight.push(m);
        continue;
      }
      handled++;
      this.deliverOne(m);
    }
    return handled;
  }

  private deliverOne(m: Message): void {
    const from = this.nodes.get(m.from);
    const report = from && !from.crashed && m.type === "MsgSnap";
    if (this.blocked(m)) {
      this.dropped.push(m);
      // The transport tells raft about a failed snapshot send, as etcd's rafthttp does.
      if (report) from.rn.reportSnapshot(m.to, "Failure");
      return;
    }
    this.node(m.to).rn.step(cloneMessage(m));
    if (report) from.rn.reportSnapshot(m.to, "Finish");
  }

  /** Run Ready cycles and deliver messages until nothing moves (only among `ids`, if given). */
  stabilize(ids?: NodeId[]): void {
    const only = ids && new Set(ids);
    for (let round = 0; round < MAX_STABILIZE_ROUNDS; round++) {
      let busy = false;
      for (const n of this.sortedNodes()) {
        if (!only || only.has(n.id)) busy = this.processReady(n.id) || busy;
      }
      const delivered = this.deliver((m) => !only || only.has(m.to));
      if (!busy && delivered === 0) return;
    }
    throw new Error(`stabilize did not converge within ${MAX_STABILIZE_ROUNDS} rounds`);
  }

  /** Messages in the trace matching type (and optionally from/to). */
  sent(type: Message["type"], from?: NodeId, to?: NodeId): Message[] {
    return this.trace.filter(
      (m) => m.type === type && (from === undefined || m.from === from) && (to === undefined || m.to === to),
    );
  }

  /** One line per node: role, term, lead, commit, applied and log terms, for failure messages. */
  describe(): string {
    return this.sortedNodes()
      .map((n) => {
        const r = n.raft;
        const log = r.raftLog;
        const terms = log.allEntries().map((e) => e.term);
        const flags = n.crashed ? " CRASHED" : "";
        return `  ${n.id}: ${r.state} term=${r.term} lead=${r.lead} vote=${r.vote} commit=${log.committed} applied=${n.appliedIndex} log=@${log.firstIndex()}[${terms.join(" ")}] voters=[${r.trk.voters.join(" ")}] learners=[${r.trk.learners.join(" ")}] values=[${n.valueList().join(" ")}]${flags}`;
      })
      .join("\n");
  }
}

/** What a real transport does: the receiver gets its own copy. */
function cloneMessage(m: Message): Message {
  const c: Message = { ...m, entries: m.entries.map((e) => ({ ...e, data: e.data.slice() })) };
  if (m.context) c.context = m.context.slice();
  return c;
}
