// Owns what a follower asks of the leader outside raft (etcd's leasehttp and promoteMemberHTTP): wait for a
// leader, try each of its peer URLs, retry until the request deadline, and rebuild the leader's typed errors.
import type { Member } from "../membership/cluster.js";
import type { LeaseTimeToLiveRequest, LeaseTimeToLiveResponse } from "../proto/index.js";
import type { PeerTlsOptions } from "../transport/index.js";
import { ServerError, type ServerErrorKind } from "./errors.js";
import { PeerHttpError, promoteOnPeer, renewOnPeer, timeToLiveOnPeer } from "./peer_client.js";

/** Pause between rounds over the leader's URLs (etcd throttles its retries to 50 ms). */
export const FORWARD_RETRY_MS = 50;

export interface ForwardHost {
  memberId: bigint;
  /** The current leader's member record; undefined while there is none. */
  leaderMember(): Member | undefined;
  /** Resolves on the next leader change, or after ms. */
  nextLeaderEvent(ms: number): Promise<void>;
  isStopped(): boolean;
  electionMs: number;
  /** For https:// peer URLs. */
  peerTls?: PeerTlsOptions;
}

/** Errors the leader reports by kind that end a forwarded request (others are retried). */
const FINAL_KINDS: ReadonlySet<string> = new Set<ServerErrorKind>([
  "LeaseNotFound",
  "MemberNotFound",
  "MemberNotLearner",
  "LearnerNotReady",
]);

export class LeaderForwarder {
  constructor(private readonly host: ForwardHost) {}

  /** etcd's waitLeader: the leader, waiting an election at a time; NoLeader once the deadline passes. */
  async waitLeader(deadline: number): Promise<Member> {
    for (;;) {
      if (this.host.isStopped()) throw new ServerError("Stopped");
      const m = this.host.leaderMember();
      if (m && m.peerURLs.length > 0) return m;
      const left = deadline - Date.now();
      if (left <= 0) throw new ServerError("NoLeader");
      await this.host.nextLeaderEvent(Math.min(left, this.host.electionMs));
    }
  }

  /**
   * Runs `call` against the leader's peer URLs until it answers or says something final, until the deadline.
   * `local` runs instead when this member turns out to be the leader.
   */
  private async onLeader<T>(
    deadline: number,
    call: (url: string, timeoutMs: number) => Promise<T>,
    local: () => Promise<T>,
  ): Promise<T> {
    for (;;) {
      const leader = await this.waitLeader(deadline);
      if (leader.id === this.host.memberId) return local();
      for (const url of leader.peerURLs) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        try {
          return await call(url, left);
        } catch (err) {
          const kind = err instanceof PeerHttpError ? err.body : "";
          if (FINAL_KINDS.has(kind)) throw new ServerError(kind as ServerErrorKind);
        }
      }
      if (Date.now() >= deadline) throw new ServerError("Timeout");
      await new Promise((r) => setTimeout(r, FORWARD_RETRY_MS));
    }
  }

  renew(id: bigint, deadline: number, local: () => Promise<bigint>): Promise<bigint> {
    return this.onLeader(deadline, (url, ms) => renewOnPeer(url, id, ms, this.host.peerTls), local);
  }

  timeToLive(
    req: LeaseTimeToLiveRequest,
    deadline: number,
    local: () => Promise<LeaseTimeToLiveResponse>,
  ): Promise<LeaseTimeToLiveResponse> {
    return this.onLeader(deadline, (url, ms) => timeToLiveOnPeer(url, req, ms, this.host.peerTls), local);
  }

  promote(id: bigint, deadline: number, local: () => Promise<Member[]>): Promise<Member[]> {
    return this.onLeader(deadline, (url, ms) => promoteOnPeer(url, id, ms, this.host.peerTls), local);
  }
}
