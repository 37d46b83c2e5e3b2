// Owns the Cluster API of the client (`client.cluster`): member list, add, remove, update, promote.
import {
  ClusterService,
  type MemberAddResponse,
  type MemberListResponse,
  type MemberPromoteResponse,
  type MemberRemoveResponse,
  type MemberUpdateResponse,
} from "../proto/index.js";
import type { Caller, CallOptions } from "./call.js";

/** A member ID (uint64). */
export type MemberId = bigint;

export interface MemberListOptions extends CallOptions {
  /** Linearizable list (etcd 3.5+; a 3.4 server ignores it and answers from its local view). Default true. */
  linearizable?: boolean;
}

export interface MemberAddOptions extends CallOptions {
  /** Add as a non-voting learner. */
  isLearner?: boolean;
}

/** Membership (`client.cluster`). Changes are never retried once sent. */
export class Cluster {
  /** @internal */
  constructor(private readonly caller: Caller) {}

  memberList(options: MemberListOptions = {}): Promise<MemberListResponse> {
    const req = { linearizable: options.linearizable ?? true };
    return this.caller.unary(ClusterService.memberList, "repeatable", req, options);
  }

  memberAdd(peerURLs: string[], options: MemberAddOptions = {}): Promise<MemberAddResponse> {
    const req = { peerURLs, isLearner: options.isLearner ?? false };
    return this.caller.unary(ClusterService.memberAdd, "nonRepeatable", req, options);
  }

  memberRemove(id: MemberId, options: CallOptions = {}): Promise<MemberRemoveResponse> {
    return this.caller.unary(ClusterService.memberRemove, "nonRepeatable", { ID: id }, options);
  }

  /** Replaces a member's peer URLs. */
  memberUpdate(id: MemberId, peerURLs: string[], options: CallOptions = {}): Promise<MemberUpdateResponse> {
    return this.caller.unary(ClusterService.memberUpdate, "nonRepeatable", { ID: id, peerURLs }, options);
  }

  /** Promotes a learner that has caught up with the leader to a voting member. */
  memberPromote(id: MemberId, options: CallOptions = {}): Promise<MemberPromoteResponse> {
    return this.caller.unary(ClusterService.memberPromote, "nonRepeatable", { ID: id }, options);
  }
}
