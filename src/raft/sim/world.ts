// Owns the seam between the simulation loop and the actors that drive it (clients, admin, nemesis), and run stats.
import type { Rand } from "../rand.js";
import type { NodeId } from "../types.js";
import type { Checker } from "./checker.js";
import type { Knobs } from "./knobs.js";
import type { Network } from "./network.js";
import type { SimNode } from "./node.js";
import type { TraceFn } from "./trace.js";
import type { Workload } from "./workload.js";

export interface Stats {
  ticks: number;
  healTicks: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  crashes: number;
  /** Crashes that hit a node between a Ready's write and its sync. */
  crashesUnsynced: number;
  /** Crashes where part of the unsynced writes survived. */
  tornCrashes: number;
  restarts: number;
  partitions: number;
  leaders: number;
  snapshotsSent: number;
  confChanges: number;
  transfers: number;
  proposals: number;
  proposalsDropped: number;
  committed: number;
  /** Committed proposals a client retry committed a second time. */
  duplicateCommits: number;
  reads: number;
  readsChecked: number;
  staleLeaseReads: number;
}

export function newStats(): Stats {
  return {
    ticks: 0,
    healTicks: 0,
    delivered: 0,
    dropped: 0,
    duplicated: 0,
    crashes: 0,
    crashesUnsynced: 0,
    tornCrashes: 0,
    restarts: 0,
    partitions: 0,
    leaders: 0,
    snapshotsSent: 0,
    confChanges: 0,
    transfers: 0,
    proposals: 0,
    proposalsDropped: 0,
    committed: 0,
    duplicateCommits: 0,
    reads: 0,
    readsChecked: 0,
    staleLeaseReads: 0,
  };
}

export interface World {
  readonly rand: Rand;
  readonly knobs: Knobs;
  readonly now: number;
  readonly trace: TraceFn | undefined;
  readonly checker: Checker;
  readonly net: Network;
  readonly workload: Workload;
  readonly stats: Stats;
  /** The fault phase is over. */
  readonly healing: boolean;
  readonly nodes: ReadonlyMap<NodeId, SimNode>;
  upNodes(): SimNode[];
  /** The up node that believes it leads the highest term, if any. */
  leader(): SimNode | undefined;
  /** Create and start a new, empty member with a fresh id (it joins once a conf change adds it). */
  addNode(): SimNode;
  crash(n: SimNode): void;
  /** Run f after `delay` virtual time units (it must re-check the state it acts on). */
  at(delay: number, f: () => void): void;
  restart(n: SimNode): void;
  /** Stop a removed node a little later (never within the current step). */
  stopLater(id: NodeId): void;
  /** Run a call on a node, tolerating the errors raft returns to callers (a dropped proposal). */
  guard(n: SimNode, f: () => void): boolean;
}
