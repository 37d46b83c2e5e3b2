// Owns the leader's cluster view: the voter/learner configuration, every member's Progress, votes, quorums.
import { Progress } from "./progress.js";
import type { ConfState, NodeId } from "./types.js";

export type VoteResult = "Pending" | "Lost" | "Won";

export class ProgressTracker {
  /** Sorted, so iteration (and so message order) is deterministic. */
  voters: NodeId[] = [];
  learners: NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  isSingleton(): boolean {
    return this.voters.length === 1;
  }

  quorum(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  /** Every member (voters then learners) in ID order. */
  ids(): NodeId[] {
    return [...this.voters, ...this.learners].sort(cmpBig);
  }

  newProgress(next: bigint, isLearner: boolean): Progress {
    return new Progress(next, this.maxInflight, this.maxInflightBytes, isLearner);
  }

  /** The largest index replicated on a quorum of voters. */
  committed(): bigint {
    if (this.voters.length === 0) return 0n; // no voters: commit nothing new
    const matches = this.voters.map((id) => this.progress.get(id)?.match ?? 0n).sort((a, b) => cmpBig(b, a));
    return matches[this.quorum() - 1]!;
  }

  /** Does a quorum of voters count as recently active? */
  quorumActive(selfId: NodeId): boolean {
    let active = 0;
    for (const id of this.voters) {
      if (id === selfId || this.progress.get(id)?.recentActive) active++;
    }
    return active >= this.quorum();
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: this.voteResult((id) => this.votes.get(id)) };
  }

  /** Won with a quorum of yes, Lost once a quorum can no longer be reached, else Pending. */
  voteResult(vote: (id: NodeId) => boolean | undefined): VoteResult {
    if (this.voters.length === 0) return "Won"; // matches etcd: an empty config wins trivially
    let yes = 0;
    let missing = 0;
    for (const id of this.voters) {
      const v = vote(id);
      if (v === undefined) missing++;
      else if (v) yes++;
    }
    const q = this.quorum();
    if (yes >= q) return "Won";
    if (yes + missing >= q) return "Pending";
    return "Lost";
  }

  /** Replace the configuration; keep progress of members that stay, create it for new ones. */
  setConfig(cs: ConfState, newNext: bigint): void {
    this.voters = [...new Set(cs.voters)].sort(cmpBig);
    this.learners = [...new Set(cs.learners)].filter((id) => !this.voters.includes(id)).sort(cmpBig);
    const keep = new Set([...this.voters, ...this.learners]);
    for (const id of [...this.progress.keys()]) if (!keep.has(id)) this.progress.delete(id);
    for (const id of keep) {
      const isLearner = this.learners.includes(id);
      const pr = this.progress.get(id);
      if (pr) {
        pr.isLearner = isLearner;
      } else {
        const np = this.newProgress(newNext, isLearner);
        // A new member counts as active so CheckQuorum does not depose the leader right away.
        np.recentActive = true;
        this.progress.set(id, np);
      }
    }
  }
}

export const cmpBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);
