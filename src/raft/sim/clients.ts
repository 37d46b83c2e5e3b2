// Owns what the simulated clients do each tick: propose writes, retry the ones not yet committed, start ReadIndex reads.
import { TICK } from "./knobs.js";
import type { SimNode } from "./node.js";
import { proposalData, readCtx } from "./statemachine.js";
import type { Proposal } from "./workload.js";
import type { World } from "./world.js";

/** Retries sent per tick at most (a client library's retry budget). */
const MAX_RETRIES_PER_TICK = 8;
/** Ticks a client waits before retrying a proposal that raft refused outright. */
const DROP_BACKOFF_TICKS = 2;
/** Writes in flight at once across all clients (a bounded client pool), so a slow cluster is not flooded. */
const MAX_OUTSTANDING = 32;
/** Retry timeouts double per try, up to this many doublings. */
const MAX_BACKOFF_DOUBLINGS = 3;

export class Clients {
  private readonly w: World;

  constructor(w: World) {
    this.w = w;
  }

  /** One tick. In the heal phase no new writes start: the ones in flight must all commit. */
  step(healing: boolean): void {
    const { rand, knobs, workload, now } = this.w;
    if (!healing) {
      for (const rate of [knobs.proposeRate, knobs.proposeRate / 3]) {
        if (rand.chance(rate) && workload.pending < MAX_OUTSTANDING) this.propose(workload.newProposal());
      }
    }
    let budget = MAX_RETRIES_PER_TICK;
    // Once healed, clients reconnect and retry at the base timeout (their backoff was for the faults).
    const doublings = healing ? 0 : MAX_BACKOFF_DOUBLINGS;
    const timeout = (tries: number): number => knobs.retryTicks * TICK * 2 ** Math.min(tries - 1, doublings);
    for (const p of workload.due(now, timeout, DROP_BACKOFF_TICKS * TICK)) {
      if (budget-- === 0) break;
      this.propose(p, healing);
    }
    if (rand.chance(knobs.readRate)) this.read();
  }

  private pick(preferLeader: boolean): SimNode | undefined {
    const leader = this.w.leader();
    if (leader !== undefined && (preferLeader || this.w.rand.chance(0.5))) return leader;
    const up = this.w.upNodes();
    return up.length === 0 ? undefined : this.w.rand.pick(up);
  }

  private propose(p: Proposal, preferLeader = false): void {
    const node = this.pick(preferLeader);
    if (node === undefined) return;
    this.w.workload.attempted(p, node.id, this.w.now);
    this.w.stats.proposals++;
    this.w.trace?.(`CLIENT propose p${p.id} at n${node.id} (try ${p.tries})`);
    if (!this.w.guard(node, () => node.call((rn) => rn.propose(proposalData(p.id))))) {
      // Refused at once (no leader, transfer, too much uncommitted): the client backs off briefly.
      this.w.stats.proposalsDropped++;
      p.dropped = true;
    }
  }

  private read(): void {
    const node = this.pick(false);
    if (node === undefined) return;
    const { workload, checker } = this.w;
    const r = workload.newRead(node.id, node.incarnation, checker.maxAcked);
    this.w.trace?.(`CLIENT read r${r.id} at n${node.id} (must see index >= ${r.bound})`);
    if (!this.w.guard(node, () => node.call((rn) => rn.readIndex(readCtx(r.id)))))
      workload.reads.delete(r.id);
  }
}
