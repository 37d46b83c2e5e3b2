// Owns the per-seed choice of cluster configuration and fault rates, all drawn from the seed's PRNG.
import type { Rand } from "../rand.js";
import type { NetFaults } from "./network.js";
import type { RaftConfig, SnapshotPolicy } from "./node.js";

/** Virtual time units per tick; message and disk delays are drawn in these units. */
export const TICK = 10;

export interface Knobs {
  initialSize: number;
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  readOnly: "Safe" | "LeaseBased";
  stepDownOnRemoval: boolean;
  /** The leader sends appends before its own sync and counts its copy only once synced (the server's mode). */
  leaderAcksOnPersist: boolean;
  disableProposalForwarding: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  maxCommittedSizePerReady: number;
  /** undefined = no limit (raft takes 0 literally, unlike etcd where 0 means no limit). */
  maxUncommittedEntriesSize: number | undefined;
  /** Ticks of the fault phase; then everything heals and liveness must follow within healTicks. */
  faultTicks: number;
  healTicks: number;
  net: NetFaults;
  /** Per-tick probabilities. */
  crashRate: number;
  restartRate: number;
  partitionRate: number;
  healRate: number;
  confChangeRate: number;
  transferRate: number;
  proposeRate: number;
  readRate: number;
  /** Probability that a crash keeps a prefix of the unsynced writes. */
  tornRate: number;
  /** Max virtual time between a Ready's write and its sync (other events interleave); 0 = synchronous. */
  diskDelay: number;
  /** Applied entries between two snapshots, and entries kept behind a compaction. */
  snapshotInterval: number;
  snapshotKeep: number;
  /** Outgoing MsgSnap carry a fresh snapshot (etcd's server); else snapshot after every conf change. */
  mergedSnapshots: boolean;
  /** Ticks a client waits for its proposal to commit before retrying it at another node. */
  retryTicks: number;
}

export function chooseKnobs(r: Rand): Knobs {
  const electionTick = r.pick([10, 10, 12, 15]);
  const checkQuorum = r.chance(0.6);
  const calm = r.chance(0.1); // some seeds run without faults, to check the normal path too
  const f = calm ? 0 : r.pick([0.5, 1, 1, 2]); // fault intensity
  return {
    initialSize: r.pick([3, 3, 3, 5, 5, 5, 1]),
    electionTick,
    heartbeatTick: r.pick([1, 2, 2, 3]),
    preVote: r.chance(0.8),
    checkQuorum,
    readOnly: checkQuorum && r.chance(0.25) ? "LeaseBased" : "Safe",
    stepDownOnRemoval: r.chance(0.5),
    disableProposalForwarding: r.chance(0.1),
    maxSizePerMsg: r.pick([64, 256, 1024, 1 << 20]),
    maxInflightMsgs: r.pick([1, 4, 256]),
    maxCommittedSizePerReady: r.pick([64, 1024, 1 << 20]),
    maxUncommittedEntriesSize: r.pick([undefined, undefined, 512]),
    faultTicks: 250 + r.int(250),
    healTicks: 100 * electionTick,
    net: {
      dropRate: 0.05 * f * r.float(),
      dupRate: 0.05 * f * r.float(),
      minDelay: 1,
      jitter: 1 + r.int(TICK),
      slowRate: 0.1 * f * r.float(),
      slowDelay: TICK * (1 + r.int(4)),
    },
    crashRate: 0.015 * f,
    restartRate: 0.08 + 0.1 * r.float(),
    partitionRate: 0.015 * f,
    healRate: 0.03 + 0.07 * r.float(),
    confChangeRate: calm ? 0.01 : 0.02 * f,
    transferRate: calm ? 0.005 : 0.01 * f,
    proposeRate: 0.3 + 0.7 * r.float(),
    readRate: 0.1 + 0.4 * r.float(),
    tornRate: 0.3,
    diskDelay: r.pick([0, 1, TICK / 2, TICK * 2]),
    snapshotInterval: r.pick([5, 20, 50]),
    snapshotKeep: r.pick([0, 2, 5]),
    mergedSnapshots: r.chance(0.5),
    retryTicks: 3 * electionTick,
    // Drawn last, so every other knob of a seed stays what it was before this knob existed.
    leaderAcksOnPersist: r.chance(0.5),
  };
}

export function describeKnobs(k: Knobs): string {
  const n = k.net;
  return [
    `size=${k.initialSize} election=${k.electionTick} heartbeat=${k.heartbeatTick}`,
    `preVote=${k.preVote} checkQuorum=${k.checkQuorum} readOnly=${k.readOnly} stepDownOnRemoval=${k.stepDownOnRemoval} leaderAcksOnPersist=${k.leaderAcksOnPersist}`,
    `forwarding=${!k.disableProposalForwarding} maxSizePerMsg=${k.maxSizePerMsg} inflight=${k.maxInflightMsgs}`,
    `faultTicks=${k.faultTicks} drop=${n.dropRate.toFixed(3)} dup=${n.dupRate.toFixed(3)} slow=${n.slowRate.toFixed(3)}`,
    `crash=${k.crashRate} partition=${k.partitionRate} conf=${k.confChangeRate} transfer=${k.transferRate}`,
    `diskDelay=${k.diskDelay} snapshotEvery=${k.snapshotInterval} keep=${k.snapshotKeep} merged=${k.mergedSnapshots}`,
  ].join("\n  ");
}

export function raftConfig(k: Knobs): RaftConfig {
  return {
    electionTick: k.electionTick,
    heartbeatTick: k.heartbeatTick,
    maxSizePerMsg: k.maxSizePerMsg,
    maxCommittedSizePerReady: k.maxCommittedSizePerReady,
    maxUncommittedEntriesSize: k.maxUncommittedEntriesSize,
    maxInflightMsgs: k.maxInflightMsgs,
    checkQuorum: k.checkQuorum,
    preVote: k.preVote,
    readOnlyOption: k.readOnly,
    disableProposalForwarding: k.disableProposalForwarding,
    stepDownOnRemoval: k.stepDownOnRemoval,
    leaderAcksOnPersist: k.leaderAcksOnPersist,
  };
}

export function snapshotPolicy(k: Knobs): SnapshotPolicy {
  return { interval: BigInt(k.snapshotInterval), keep: BigInt(k.snapshotKeep), merged: k.mergedSnapshots };
}
