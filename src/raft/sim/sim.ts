// Owns one seeded whole-cluster run: the virtual clock and event loop, message delivery, the fault and heal phases, liveness.
import { AssertionError } from "../assert.js";
import { Rand } from "../rand.js";
import { ProposalDroppedError } from "../rawnode.js";
import type { ConfChange, Message, MessageType, NodeId, SnapshotStatus } from "../types.js";
import { Admin } from "./admin.js";
import { Checker, InvariantViolation } from "./checker.js";
import { Clients } from "./clients.js";
import { Disk } from "./disk.js";
import { EventQueue } from "./events.js";
import { chooseKnobs, describeKnobs, type Knobs, raftConfig, snapshotPolicy, TICK } from "./knobs.js";
import { Nemesis } from "./nemesis.js";
import { Network } from "./network.js";
import { type NodeHost, SimNode } from "./node.js";
import { fmtConfState, fmtMsg, fmtTime, type TraceFn } from "./trace.js";
import { Workload } from "./workload.js";
import { newStats, type Stats, type World } from "./world.js";

type SimEvent =
  | { kind: "tick" }
  /** A MsgSnap's first copy carries its sender's incarnation: the transport reports the outcome to it. */
  | { kind: "deliver"; m: Message; snapFrom?: { node: SimNode; inc: number } }
  | { kind: "sync"; node: SimNode; inc: number }
  | { kind: "call"; f: () => void }
  | { kind: "report"; node: SimNode; inc: number; about: NodeId; snap: SnapshotStatus | undefined };

/** Messages only a leader sends: whoever sends one in term T is T's leader. */
const LEADER_MSGS: ReadonlySet<MessageType> = new Set(["MsgApp", "MsgHeartbeat", "MsgSnap", "MsgTimeoutNow"]);

export class LivenessFailure extends Error {
  override name = "LivenessFailure";
}

export interface SimOptions {
  trace?: TraceFn;
  /** Override knobs chosen from the seed (tests). */
  tweak?: (k: Knobs) => void;
  /** Sabotage (tests of the checker): every disk's fsync lags one sync behind. */
  laggingFsync?: boolean;
}

export class Simulation implements World, NodeHost {
  readonly seed: number;
  readonly rand: Rand;
  readonly knobs: Knobs;
  readonly trace: TraceFn | undefined;
  readonly checker = new Checker();
  readonly net: Network;
  readonly workload = new Workload();
  readonly stats: Stats = newStats();
  readonly nodes = new Map<NodeId, SimNode>();
  now = 0;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nemesis = new Nemesis(this);
  private readonly admin = new Admin(this);
  private readonly clients = new Clients(this);
  private readonly stopping = new Set<NodeId>();
  private nextId: NodeId = 1n;
  healing = false;
  private healStart = 0;

  private readonly laggingFsync: boolean;

  constructor(seed: number, opts: SimOptions = {}) {
    this.seed = seed;
    this.laggingFsync = opts.laggingFsync ?? false;
    this.rand = new Rand(seed);
    this.knobs = chooseKnobs(this.rand);
    opts.tweak?.(this.knobs);
    const out = opts.trace;
    // Every line starts with the virtual time in ticks.
    this.trace = out === undefined ? undefined : (line) => out(`[${fmtTime(this.now).padStart(6)}] ${line}`);
    this.net = new Network(this.rand, { ...this.knobs.net });
  }

  /** Run the fault phase, heal, and wait for liveness. Throws InvariantViolation / LivenessFailure / raft's own assertion. */
  run(): Stats {
    const k = this.knobs;
    this.trace?.(`seed ${this.seed}\n  ${describeKnobs(k)}`);
    const peers: NodeId[] = [];
    for (let i = 0; i < k.initialSize; i++) peers.push(this.nextId + BigInt(i));
    for (const id of peers) this.newNode(id).start(new Rand(this.rand.nextU32()), peers);
    this.nextId += BigInt(k.initialSize);
    this.queue.push(0, { kind: "tick" });
    for (;;) {
      const e = this.queue.pop()!;
      this.now = e.at;
      this.checker.now = e.at;
      this.handle(e.ev);
      if (e.ev.kind === "tick" && this.afterTick()) break;
    }
    this.stats.readsChecked = this.checker.readsChecked;
    this.stats.leaders = this.checker.leaderCount;
    this.stats.staleLeaseReads = this.checker.staleLeaseReads;
    this.stats.reads = this.workload.readsStarted;
    this.stats.duplicateCommits = this.workload.duplicateCommits;
    this.trace?.(`DONE after ${this.stats.ticks} ticks: converged at ${this.leader()?.sm.digest()}`);
    return this.stats;
  }

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case "tick":
        this.tick();
        return;
      case "deliver":
        this.deliver(ev.m, ev.snapFrom);
        return;
      case "sync":
        if (ev.node.up && ev.node.incarnation === ev.inc) this.guard(ev.node, () => ev.node.sync());
        return;
      case "call":
        ev.f();
        return;
      case "report": {
        const { node, about, snap } = ev;
        if (!node.up || node.incarnation !== ev.inc) return;
        this.trace?.(
          `n${node.id} transport reports n${about} ${snap === undefined ? "unreachable" : `snapshot ${snap}`}`,
        );
        this.guard(node, () =>
          node.call((rn) =>
            snap === undefined ? rn.reportUnreachable(about) : rn.reportSnapshot(about, snap),
          ),
        );
        return;
      }
      default: {
        const never: never = ev;
        throw new Error(`unknown event ${String(never)}`);
      }
    }
  }

  private tick(): void {
    this.stats.ticks++;
    const up = this.upNodes();
    // Every node ticks every tick, in a random order.
    for (let i = up.length - 1; i > 0; i--) {
      const j = this.rand.int(i + 1);
      [up[i], up[j]] = [up[j]!, up[i]!];
    }
    for (const n of up) if (n.up) this.guard(n, () => n.tick());
    if (!this.healing) {
      this.nemesis.step();
      this.admin.step();
    }
    this.clients.step(this.healing);
    this.queue.push(this.now + TICK, { kind: "tick" });
  }

  /** Returns true when the run is over (converged after healing). */
  private afterTick(): boolean {
    const k = this.knobs;
    if (!this.healing) {
      if (this.stats.ticks >= k.faultTicks) this.heal();
      return false;
    }
    this.stats.healTicks = this.stats.ticks - this.healStart;
    if (this.converged()) return true;
    if (this.stats.healTicks > k.healTicks) {
      throw new LivenessFailure(
        `t=${fmtTime(this.now)}: no convergence ${k.healTicks} ticks after healing\n${this.describe()}`,
      );
    }
    return false;
  }

  /** End of the fault phase: heal the network, stop drops, restart every crashed member. */
  private heal(): void {
    this.healing = true;
    this.healStart = this.stats.ticks;
    this.net.heal();
    this.net.faults = {
      dropRate: 0,
      dupRate: 0,
      minDelay: 1,
      jitter: this.knobs.net.jitter,
      slowRate: 0,
      slowDelay: 0,
    };
    this.admin.stop();
    this.trace?.("=== HEAL: network healed, drops stopped, restarting crashed nodes ===");
    for (const n of this.nodes.values()) if (n.state === "down") this.restart(n);
  }

  /** A leader, every proposal committed, and every member applied the same state up to the leader's last index. */
  private converged(): boolean {
    const leader = this.leader();
    if (leader === undefined || this.workload.pending > 0) return false;
    const log = leader.rn!.raft.raftLog;
    if (log.committed !== log.lastIndex()) return false;
    const digest = leader.sm.digest();
    for (const id of [...leader.confState.voters, ...leader.confState.learners]) {
      const n = this.nodes.get(id);
      if (n === undefined || !n.up || n.sm.applied !== log.committed || n.sm.digest() !== digest) {
        return false;
      }
    }
    return true;
  }

  describe(): string {
    const lines: string[] = [];
    for (const n of this.nodes.values()) {
      const log = n.rn?.raft.raftLog;
      lines.push(
        `  n${n.id} ${n.state} ${n.role}@${n.term} applied ${n.sm.applied} commit ${log?.committed} last ${log?.lastIndex()} ${fmtConfState(n.confState)}`,
      );
    }
    const pend = this.workload.pendingIds(10).map((id) => `p${id}`);
    lines.push(
      `  leader ${this.leader()?.id ?? "none"}; ${this.workload.pending} proposals uncommitted ${pend.join(" ")}`,
    );
    return lines.join("\n");
  }

  private deliver(m: Message, snapFrom: { node: SimNode; inc: number } | undefined): void {
    const n = this.nodes.get(m.to);
    const lost =
      n === undefined || !n.up
        ? `n${m.to} ${n?.state ?? "unknown"}`
        : this.net.canSend(m.from, m.to)
          ? ""
          : "partition";
    if (snapFrom !== undefined && snapFrom.node.incarnation === snapFrom.inc) {
      this.report(snapFrom.node, m.to, lost ? "Failure" : "Finish", 1);
    }
    if (n === undefined || lost) {
      this.stats.dropped++;
      this.trace?.(`lost (${lost}) ${fmtMsg(m)}`);
      return;
    }
    this.stats.delivered++;
    this.trace?.(`deliver ${fmtMsg(m)}`);
    this.guard(n, () => n.step(m));
  }

  // ---- NodeHost ----

  send(m: Message): void {
    if (m.type === "MsgVoteResp" && !m.reject) this.checker.voteGranted(m.from, m.term, m.to);
    if (LEADER_MSGS.has(m.type)) this.checker.leader(m.term, m.from, m.type);
    const from = this.nodes.get(m.from)!;
    const delays = this.net.route(m.from, m.to);
    if (delays.length === 0) {
      this.stats.dropped++;
      this.trace?.(`drop ${fmtMsg(m)}`);
      if (m.type === "MsgSnap") this.report(from, m.to, "Failure", TICK);
      else if (!this.net.canSend(m.from, m.to) && this.rand.chance(0.3))
        this.report(from, m.to, undefined, TICK);
      return;
    }
    if (delays.length > 1) this.stats.duplicated++;
    const snapFrom = m.type === "MsgSnap" ? { node: from, inc: from.incarnation } : undefined;
    if (snapFrom !== undefined) this.stats.snapshotsSent++;
    delays.forEach((d, i) => {
      this.queue.push(
        this.now + d,
        i === 0 ? { kind: "deliver", m, snapFrom } : { kind: "deliver", m: { ...m } },
      );
    });
  }

  private report(node: SimNode, about: NodeId, snap: SnapshotStatus | undefined, delay: number): void {
    this.queue.push(this.now + delay, { kind: "report", node, inc: node.incarnation, about, snap });
  }

  /** diskDelay 0 models a synchronous Ready loop (write, fsync, send, apply in one go): no crash window. */
  syncLater(node: SimNode): boolean {
    const d = this.knobs.diskDelay;
    if (d === 0) return false;
    this.queue.push(this.now + this.rand.int(d + 1), { kind: "sync", node, inc: node.incarnation });
    return true;
  }

  proposalApplied(node: SimNode, id: number, index: bigint): void {
    const wasPending = this.workload.proposals.get(id)?.committedAt === undefined;
    if (this.workload.applied(node.id, id, index)) this.checker.acked(index);
    if (wasPending) {
      this.stats.committed++;
      this.trace?.(`COMMIT p${id} at index ${index} (first applied by n${node.id})`);
    }
  }

  confChangeApplied(node: SimNode, cc: ConfChange, index: bigint): void {
    this.admin.applied(node, cc, index);
  }

  readAccepted(node: SimNode, id: number): boolean {
    const r = this.workload.reads.get(id);
    return r !== undefined && r.node === node.id && r.incarnation === node.incarnation;
  }

  readServed(node: SimNode, id: number, rsIndex: bigint): void {
    const r = this.workload.reads.get(id);
    if (r === undefined) return;
    this.workload.reads.delete(id);
    this.trace?.(
      `READ r${id} served by n${node.id}: read index ${rsIndex}, applied ${node.sm.applied} (bound ${r.bound})`,
    );
    this.checker.readReturned(
      node.id,
      id,
      r.bound,
      rsIndex,
      node.sm.applied,
      this.knobs.readOnly === "LeaseBased",
    );
  }

  // ---- World ----

  upNodes(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.up) out.push(n);
    return out;
  }

  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.up && n.role === "Leader" && (best === undefined || n.term > best.term)) best = n;
    }
    return best;
  }

  addNode(): SimNode {
    const n = this.newNode(this.nextId++);
    n.start(new Rand(this.rand.nextU32()));
    return n;
  }

  private newNode(id: NodeId): SimNode {
    const k = this.knobs;
    const disk = new Disk({ laggingFsync: this.laggingFsync });
    const n = new SimNode(id, this, raftConfig(k), snapshotPolicy(k), disk);
    this.nodes.set(id, n);
    return n;
  }

  crash(n: SimNode): void {
    const { unsynced, kept } = n.crash(this.rand, this.knobs.tornRate);
    this.stats.crashes++;
    if (unsynced > 0) this.stats.crashesUnsynced++;
    if (kept > 0) this.stats.tornCrashes++;
    this.workload.dropReadsOf(n.id);
  }

  at(delay: number, f: () => void): void {
    this.queue.push(this.now + delay, { kind: "call", f });
  }

  restart(n: SimNode): void {
    this.stats.restarts++;
    n.start(new Rand(this.rand.nextU32()));
  }

  /**
   * Like etcd's stopWithDelay, a removed member keeps running briefly (so a removed leader can pass on
   * the commit, and stepDownOnRemoval matters), then stops for good.
   */
  stopLater(id: NodeId): void {
    if (this.stopping.has(id)) return;
    this.stopping.add(id);
    this.at(this.rand.int(this.knobs.electionTick) * TICK, () => {
      const n = this.nodes.get(id);
      if (n === undefined || n.state === "stopped") return;
      n.stop();
      this.workload.dropReadsOf(id);
    });
  }

  guard(n: SimNode, f: () => void): boolean {
    try {
      f();
      return true;
    } catch (err) {
      if (err instanceof ProposalDroppedError) {
        this.trace?.(`n${n.id} dropped: ${err.message}`);
        return false;
      }
      if (err instanceof AssertionError) {
        throw new AssertionError(`raft assertion on n${n.id} at t=${fmtTime(this.now)}: ${err.message}`, {
          cause: err,
        });
      }
      // Our own checks pass through; anything else raft throws at a caller is a bug in raft.
      if (err instanceof InvariantViolation || err instanceof LivenessFailure || !(err instanceof Error))
        throw err;
      throw new Error(`n${n.id} at t=${fmtTime(this.now)}: ${err.name}: ${err.message}`, { cause: err });
    }
  }
}

/** Run one seed; throws on any violation. */
export function runSeed(seed: number, opts: SimOptions = {}): Stats {
  return new Simulation(seed, opts).run();
}
