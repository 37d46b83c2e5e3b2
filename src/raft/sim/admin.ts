// Owns the operator's actions during the fault phase: membership changes (add voter/learner, promote, remove) and leader transfers.
import type { ConfChange, NodeId } from "../types.js";
import { TICK } from "./knobs.js";
import type { SimNode } from "./node.js";
import { fmtConfChange } from "./trace.js";
import type { World } from "./world.js";

/** Members (voters + learners) the operator grows the cluster to at most. */
const MAX_MEMBERS = 7;
/** The operator never shrinks below this many voters. */
const MIN_VOTERS = 3;

export class Admin {
  private readonly w: World;
  /** The conf change proposed and not yet seen applied (one at a time, like etcd's server). */
  private pending: { cc: ConfChange; deadline: number } | undefined;
  private readonly appliedAt = new Set<bigint>();

  constructor(w: World) {
    this.w = w;
  }

  step(): void {
    const { rand, knobs, now } = this.w;
    if (this.pending !== undefined && now > this.pending.deadline) {
      this.w.trace?.(`ADMIN gives up waiting for ${fmtConfChange(this.pending.cc)}`);
      this.pending = undefined;
    }
    const leader = this.w.leader();
    if (leader === undefined) return;
    if (rand.chance(knobs.transferRate)) this.transfer(leader);
    if (this.pending === undefined && rand.chance(knobs.confChangeRate)) this.changeMembership(leader);
  }

  private transfer(leader: SimNode): void {
    const targets = leader.confState.voters.filter((id) => id !== leader.id);
    if (targets.length === 0) return;
    const to = this.w.rand.pick(targets);
    this.w.stats.transfers++;
    this.w.trace?.(`ADMIN transfer leadership n${leader.id} -> n${to}`);
    this.w.guard(leader, () => leader.call((rn) => rn.transferLeader(to)));
  }

  private changeMembership(leader: SimNode): void {
    const { rand } = this.w;
    const { voters, learners } = leader.confState;
    const choices: (() => ConfChange)[] = [];
    const cc = (type: ConfChange["type"], nodeId: NodeId): ConfChange => ({
      type,
      nodeId,
      context: new Uint8Array(0),
    });
    if (voters.length + learners.length < MAX_MEMBERS) {
      choices.push(() => cc("AddLearnerNode", this.w.addNode().id));
      choices.push(() => cc("AddNode", this.w.addNode().id));
    }
    if (learners.length > 0) {
      choices.push(() => cc("AddNode", rand.pick(learners)));
      choices.push(() => cc("RemoveNode", rand.pick(learners)));
    }
    if (voters.length > MIN_VOTERS) choices.push(() => cc("RemoveNode", rand.pick(voters)));
    if (choices.length === 0) return;
    const change = rand.pick(choices)();
    this.pending = { cc: change, deadline: this.w.now + 8 * this.w.knobs.electionTick * TICK };
    this.w.trace?.(`ADMIN propose ${fmtConfChange(change)} at n${leader.id}`);
    this.w.guard(leader, () => leader.call((rn) => rn.proposeConfChange(change)));
  }

  /** A node applied a conf change entry. The first application of each entry is the change taking effect. */
  applied(node: SimNode, cc: ConfChange, index: bigint): void {
    if (this.appliedAt.has(index)) return;
    this.appliedAt.add(index);
    this.w.stats.confChanges++;
    this.w.trace?.(`CONF ${fmtConfChange(cc)} applied at index ${index} (first by n${node.id})`);
    const p = this.pending?.cc;
    if (p !== undefined && p.type === cc.type && p.nodeId === cc.nodeId) this.pending = undefined;
    if (cc.type === "RemoveNode") this.w.stopLater(cc.nodeId);
  }

  /** The heal phase makes no more changes. */
  stop(): void {
    this.pending = undefined;
  }
}
