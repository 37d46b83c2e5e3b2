// Owns runtime reconfiguration: MemberAdd/Remove/Update/Promote with etcd's pre-checks (strict reconfig check,
// learner readiness), proposing the ConfChange and waiting for it, and applying committed ConfChanges to the
// membership, raft and the transport (etcd's configure / applyConfChange).
import {
  type ConfChangeContext,
  type ConfChangeRefusal,
  decodeConfChangeContext,
  encodeConfChangeContext,
  type Member,
  type RaftCluster,
} from "../membership/cluster.js";
import { parsePeerURLs } from "../membership/urls.js";
import type { Status } from "../raft/rawnode.js";
import type { ConfChange } from "../raft/types.js";
import { ServerError, type ServerErrorKind } from "./errors.js";
import { memberId as deriveMemberId, idToHex } from "./ids.js";
import { WaitRegistry } from "./wait.js";

/** etcd's HealthInterval: members must have been connected this long for a reconfiguration to be safe. */
export const HEALTH_INTERVAL_MS = 5000;
/** etcd's readyPercent: a learner is promotable once its match index is at least this share of the leader's. */
export const LEARNER_READY_PERCENT = 0.9;
/** How long a removed member keeps running so its removal reaches the others (etcd: 10 heartbeats of 100 ms). */
export const REMOVED_STOP_DELAY_MS = 1000;

const REFUSAL_ERRORS: Record<ConfChangeRefusal, ServerErrorKind> = {
  IDRemoved: "MemberNotFound",
  IDNotFound: "MemberNotFound",
  IDExists: "MemberExists",
  PeerURLExists: "PeerURLExists",
  MemberNotLearner: "MemberNotLearner",
  TooManyLearners: "TooManyLearners",
};

export interface MembershipHost {
  memberId: bigint;
  cluster(): RaftCluster;
  strictReconfigCheck: boolean;
  /** HEALTH_INTERVAL_MS unless a test shortens it. */
  healthIntervalMs: number;
  leader(): bigint;
  raftStatus(): Status;
  /** Proposes the conf change once there is a leader, until deadline (ms since epoch). */
  proposeConfChange(cc: ConfChange, deadline: number, alive: () => boolean): Promise<void>;
  applyToRaft(cc: ConfChange): void;
  nextId(): bigint;
  activeSince(id: bigint): Date | undefined;
  addPeer(m: Member): void;
  removePeer(id: bigint): void;
  /** This member was removed: stop it (after a delay, so the removal propagates). */
  removedSelf(): void;
  /** The error a request that timed out at `start` gets (etcd's parseProposeCtxErr). */
  timeoutError(start: number): ServerError;
  /** Forwards a promotion to the leader (etcd's promoteMemberHTTP). */
  forwardPromote(id: bigint, deadline: number): Promise<Member[]>;
  requestTimeoutMs: number;
  logger: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

type ConfResult = { members: Member[] } | { err: ServerError };

export class MembershipOps {
  private readonly waits = new WaitRegistry<ConfResult>();

  constructor(private readonly host: MembershipHost) {}

  // ---- requests ---------------------------------------------------------------------------------

  /** MemberAdd: the new member's ID is derived from its peer URLs and the current time, as etcd does. */
  async addMember(peerURLs: string[], isLearner: boolean): Promise<{ member: Member; members: Member[] }> {
    const parsed = parsePeerURLs(peerURLs);
    if ("error" in parsed) throw new ServerError("MemberBadURLs");
    const member: Member = {
      id: deriveMemberId(parsed.urls, "", Math.floor(Date.now() / 1000)),
      name: "",
      peerURLs: parsed.urls,
      clientURLs: [],
      isLearner,
    };
    this.mayAddMember(member);
    const members = await this.configure(
      { type: isLearner ? "AddLearnerNode" : "AddNode", nodeId: member.id },
      member,
      false,
    );
    return { member, members };
  }

  async removeMember(id: bigint): Promise<Member[]> {
    this.mayRemoveMember(id);
    return this.configure({ type: "RemoveNode", nodeId: id }, undefined, false);
  }

  /** MemberUpdate changes peer URLs only (etcd does not validate their form here). */
  async updateMember(id: bigint, peerURLs: string[]): Promise<Member[]> {
    const member: Member = { id, name: "", peerURLs: [...peerURLs], clientURLs: [], isLearner: false };
    return this.configure({ type: "UpdateNode", nodeId: id }, member, false);
  }

  /** Only the leader knows whether a learner has caught up: a follower forwards to it over the peer port. */
  async promoteMember(id: bigint): Promise<Member[]> {
    try {
      return await this.promoteLocal(id);
    } catch (err) {
      if (!(err instanceof ServerError && err.kind === "NotLeader")) throw err;
    }
    return this.host.forwardPromote(id, Date.now() + this.host.requestTimeoutMs);
  }

  /** Promotion on this member; NotLeader when it is not the leader. */
  async promoteLocal(id: bigint): Promise<Member[]> {
    this.isLearnerReady(id);
    if (this.host.strictReconfigCheck && !this.host.cluster().isReadyToPromoteMember()) {
      this.host.logger.warn(
        { "member-id": idToHex(id) },
        "rejecting member promote request; not enough healthy members",
      );
      throw new ServerError("MemberNotEnoughStarted");
    }
    const member: Member = { id, name: "", peerURLs: [], clientURLs: [], isLearner: false };
    return this.configure({ type: "AddNode", nodeId: id }, member, true);
  }

  private mayAddMember(m: Member): void {
    if (!this.host.strictReconfigCheck) return;
    const cluster = this.host.cluster();
    if (!m.isLearner && !cluster.isReadyToAddVotingMember()) {
      this.host.logger.warn(
        { "member-id": idToHex(m.id) },
        "rejecting member add request; not enough healthy members",
      );
      throw new ServerError("MemberNotEnoughStarted");
    }
    if (!this.connectedFullySince(Date.now() - this.host.healthIntervalMs, cluster.votingMembers())) {
      this.host.logger.warn(
        { "member-id": idToHex(m.id) },
        "rejecting member add request; local member has not been connected to all peers, reconfigure breaks active quorum",
      );
      throw new ServerError("Unhealthy");
    }
  }

  private mayRemoveMember(id: bigint): void {
    if (!this.host.strictReconfigCheck) return;
    const cluster = this.host.cluster();
    // Removing a learner never affects the quorum.
    if (cluster.member(id)?.isLearner) return;
    if (!cluster.isReadyToRemoveVotingMember(id)) {
      this.host.logger.warn(
        { "member-id": idToHex(id) },
        "rejecting member remove request; not enough healthy members",
      );
      throw new ServerError("MemberNotEnoughStarted");
    }
    // A member that is down is not part of the active quorum: removing it is safe.
    if (id !== this.host.memberId && this.host.activeSince(id) === undefined) return;
    const voters = cluster.votingMembers();
    const since = Date.now() - this.host.healthIntervalMs;
    const active = voters.filter(
      (m) => m.id === this.host.memberId || this.connectedSince(m.id, since),
    ).length;
    if (active - 1 < 1 + Math.floor((voters.length - 1) / 2)) {
      this.host.logger.warn(
        { "member-id": idToHex(id) },
        "rejecting member remove request; local member has not been connected to all peers, reconfigure breaks active quorum",
      );
      throw new ServerError("Unhealthy");
    }
  }

  /** etcd's isLearnerReady: NotLeader off the leader; LearnerNotReady while its match is under 90 % of ours. */
  private isLearnerReady(id: bigint): void {
    const st = this.host.raftStatus();
    if (!st.progress) throw new ServerError("NotLeader");
    const learner = st.progress.get(id);
    if (!learner) return; // not found or not a learner: the apply-time check says which
    const leaderMatch = st.progress.get(st.id)?.match ?? st.lastIndex;
    if (Number(learner.match) < Number(leaderMatch) * LEARNER_READY_PERCENT)
      throw new ServerError("LearnerNotReady");
  }

  private connectedSince(id: bigint, since: number): boolean {
    const t = this.host.activeSince(id);
    return t !== undefined && t.getTime() <= since;
  }

  private connectedFullySince(since: number, members: readonly Member[]): boolean {
    return members.every((m) => m.id === this.host.memberId || this.connectedSince(m.id, since));
  }

  /** Proposes a ConfChange and waits until it applied on this member: the members after it, or its error. */
  private async configure(
    cc: Omit<ConfChange, "context">,
    member: Member | undefined,
    isPromote: boolean,
  ): Promise<Member[]> {
    const requestId = this.host.nextId();
    const ctx: ConfChangeContext = {
      member: member ?? { id: cc.nodeId, name: "", peerURLs: [], clientURLs: [], isLearner: false },
      isPromote,
      requestId,
    };
    const full: ConfChange = { ...cc, context: encodeConfChangeContext(ctx) };
    const start = Date.now();
    const deadline = start + this.host.requestTimeoutMs;
    const done = this.waits.register(requestId);
    const timer = setTimeout(
      () => this.waits.fail(requestId, this.host.timeoutError(start)),
      this.host.requestTimeoutMs,
    );
    this.host
      .proposeConfChange(full, deadline, () => this.waits.isRegistered(requestId))
      .catch((err: unknown) => this.waits.fail(requestId, err));
    try {
      const res = await done;
      if ("err" in res) throw res.err;
      return res.members;
    } finally {
      clearTimeout(timer);
    }
  }

  failAll(err: unknown): void {
    this.waits.failAll(err);
  }

  // ---- apply ------------------------------------------------------------------------------------

  /**
   * Applies a committed ConfChange at `index`. A fresh one (above the backend's consistent index) is validated
   * and changes the membership; a replayed one only rebuilds raft's configuration, skipping ones refused before.
   */
  apply(index: bigint, cc: ConfChange, fresh: boolean): void {
    const cluster = this.host.cluster();
    const ctx = cc.context.length > 0 ? decodeConfChangeContext(cc.context) : undefined;
    if (!fresh) {
      if (!cluster.wasRejected(index)) this.host.applyToRaft(cc);
      return;
    }
    const refusal = cluster.validate(cc.type, cc.nodeId, ctx);
    if (refusal !== undefined) {
      cluster.markRejected(index);
      this.host.logger.warn(
        { "member-id": idToHex(cc.nodeId), type: cc.type, reason: refusal },
        "refused configuration change",
      );
      if (ctx) this.waits.trigger(ctx.requestId, { err: new ServerError(REFUSAL_ERRORS[refusal]) });
      return;
    }
    this.host.applyToRaft(cc);
    const self = this.host.memberId;
    switch (cc.type) {
      case "AddNode":
      case "AddLearnerNode": {
        if (ctx?.isPromote) {
          cluster.promote(cc.nodeId);
          this.host.logger.info({ "promoted-member-id": idToHex(cc.nodeId) }, "promote member");
          break;
        }
        const m: Member = {
          ...(ctx?.member ?? emptyMember(cc.nodeId)),
          id: cc.nodeId,
          isLearner: cc.type === "AddLearnerNode",
        };
        cluster.add(m);
        this.host.addPeer(m);
        this.host.logger.info(
          { "added-peer-id": idToHex(m.id), "added-peer-peer-urls": m.peerURLs },
          "added member",
        );
        break;
      }
      case "RemoveNode":
        cluster.remove(cc.nodeId);
        this.host.logger.info({ "removed-member-id": idToHex(cc.nodeId) }, "removed member");
        if (cc.nodeId === self) this.host.removedSelf();
        else this.host.removePeer(cc.nodeId);
        break;
      case "UpdateNode":
        cluster.updatePeerURLs(cc.nodeId, ctx?.member.peerURLs ?? []);
        if (cc.nodeId !== self) this.host.addPeer(cluster.member(cc.nodeId)!);
        this.host.logger.info(
          { "updated-member-id": idToHex(cc.nodeId), "updated-peer-urls": ctx?.member.peerURLs ?? [] },
          "updated member",
        );
        break;
    }
    if (ctx) this.waits.trigger(ctx.requestId, { members: cluster.list() });
  }
}

const emptyMember = (id: bigint): Member => ({
  id,
  name: "",
  peerURLs: [],
  clientURLs: [],
  isLearner: false,
});
