// Owns the cluster's membership: members (ID, name, peer and client URLs, learner flag), removed IDs, and
// etcd's rules for which configuration changes are valid — all persisted in the backend.
import type { Backend } from "../backend/index.js";

export const MEMBERS_BUCKET = "members";
export const MEMBERS_REMOVED_BUCKET = "members_removed";
export const CLUSTER_BUCKET = "cluster";

/** etcd 3.4/3.5 allow at most one learner (3.6's --max-learners). */
export const MAX_LEARNERS = 1;

export interface Member {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** What a ConfChange carries in its context: the member, whether it is a promotion, the proposer's request ID. */
export interface ConfChangeContext {
  member: Member;
  isPromote: boolean;
  /** The proposing member's wait ID (0n in bootstrap entries). */
  requestId: bigint;
}

/** The JSON etcd puts in a ConfChange's context (and that we persist): IDs as decimal numbers' text. */
interface StoredMember {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner?: boolean;
  isPromote?: boolean;
  requestId?: string;
}

/** Why a configuration change is refused at apply time (etcd's membership errors). */
export type ConfChangeRefusal =
  | "IDRemoved"
  | "IDNotFound"
  | "IDExists"
  | "PeerURLExists"
  | "MemberNotLearner"
  | "TooManyLearners";

export type ConfChangeKind = "AddNode" | "AddLearnerNode" | "RemoveNode" | "UpdateNode";

const keyOf = (id: bigint): Buffer => Buffer.from(id.toString(16));
const CLUSTER_VERSION_KEY = Buffer.from("clusterVersion");
const REJECTED_PREFIX = "rejected_confchange/";
const rejectedKey = (index: bigint): Buffer =>
  Buffer.from(`${REJECTED_PREFIX}${index.toString(16).padStart(16, "0")}`);

export function encodeMember(m: Member): Uint8Array {
  return encodeConfChangeContext({ member: m, isPromote: false, requestId: 0n });
}

export function decodeMember(data: Uint8Array): Member {
  return decodeConfChangeContext(data).member;
}

export function encodeConfChangeContext(c: ConfChangeContext): Uint8Array {
  const m = c.member;
  const s: StoredMember = {
    id: m.id.toString(),
    name: m.name,
    peerURLs: m.peerURLs,
    clientURLs: m.clientURLs,
  };
  if (m.isLearner) s.isLearner = true;
  if (c.isPromote) s.isPromote = true;
  if (c.requestId !== 0n) s.requestId = c.requestId.toString();
  return Buffer.from(JSON.stringify(s));
}

export function decodeConfChangeContext(data: Uint8Array): ConfChangeContext {
  const s = JSON.parse(Buffer.from(data).toString("utf8")) as StoredMember;
  return {
    member: {
      id: BigInt(s.id ?? "0"),
      name: s.name ?? "",
      peerURLs: s.peerURLs ?? [],
      clientURLs: s.clientURLs ?? [],
      isLearner: s.isLearner ?? false,
    },
    isPromote: s.isPromote ?? false,
    requestId: BigInt(s.requestId ?? "0"),
  };
}

/** etcd's Member.IsStarted: a member that has published its name. */
export const isStarted = (m: Member): boolean => m.name !== "";

export class RaftCluster {
  private readonly members = new Map<bigint, Member>();
  private readonly removed = new Set<bigint>();

  constructor(
    private readonly backend: Backend,
    readonly clusterId: bigint,
  ) {
    for (const { value } of backend.bucket(MEMBERS_BUCKET).scan(Buffer.alloc(0))) {
      const m = decodeMember(value);
      this.members.set(m.id, m);
    }
    for (const { key } of backend.bucket(MEMBERS_REMOVED_BUCKET).scan(Buffer.alloc(0))) {
      this.removed.add(BigInt(`0x${key.toString()}`));
    }
  }

  member(id: bigint): Member | undefined {
    return this.members.get(id);
  }

  memberByName(name: string): Member | undefined {
    return this.list().find((m) => m.name === name);
  }

  /** Members ordered by ID, as etcd lists them. */
  list(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  votingMembers(): Member[] {
    return this.list().filter((m) => !m.isLearner);
  }

  isRemoved(id: bigint): boolean {
    return this.removed.has(id);
  }

  removedIds(): bigint[] {
    return [...this.removed];
  }

  /** Add or replace a member; must run inside the apply loop's backend batch. */
  add(m: Member): void {
    this.members.set(m.id, m);
    this.backend.bucket(MEMBERS_BUCKET).put(keyOf(m.id), encodeMember(m));
  }

  /** Removes a member for good: its ID can never rejoin (etcd's members_removed). */
  remove(id: bigint): void {
    this.members.delete(id);
    this.removed.add(id);
    this.backend.bucket(MEMBERS_BUCKET).delete(keyOf(id));
    this.backend.bucket(MEMBERS_REMOVED_BUCKET).put(keyOf(id), Buffer.from("removed"));
  }

  /** Publish a member's name and client URLs (etcd's "published local member to cluster"). */
  setAttributes(id: bigint, name: string, clientURLs: string[]): void {
    const m = this.members.get(id);
    if (!m) return;
    this.add({ ...m, name, clientURLs });
  }

  promote(id: bigint): void {
    const m = this.members.get(id);
    if (m) this.add({ ...m, isLearner: false });
  }

  updatePeerURLs(id: bigint, peerURLs: string[]): void {
    const m = this.members.get(id);
    if (m) this.add({ ...m, peerURLs });
  }

  /**
   * etcd's ValidateConfigurationChange, run when the change applies (on every member, so all decide alike):
   * undefined when the change may apply, else why it is refused.
   */
  validate(
    kind: ConfChangeKind,
    id: bigint,
    ctx: ConfChangeContext | undefined,
  ): ConfChangeRefusal | undefined {
    if (this.removed.has(id)) return "IDRemoved";
    const cur = this.members.get(id);
    switch (kind) {
      case "AddNode":
      case "AddLearnerNode": {
        if (ctx?.isPromote) {
          if (!cur) return "IDNotFound";
          return cur.isLearner ? undefined : "MemberNotLearner";
        }
        if (cur) return "IDExists";
        const urls = new Set(this.list().flatMap((m) => m.peerURLs));
        if ((ctx?.member.peerURLs ?? []).some((u) => urls.has(u))) return "PeerURLExists";
        if (ctx?.member.isLearner || kind === "AddLearnerNode") {
          const learners = this.list().filter((m) => m.isLearner).length;
          if (learners + 1 > MAX_LEARNERS) return "TooManyLearners";
        }
        return undefined;
      }
      case "RemoveNode":
        return cur ? undefined : "IDNotFound";
      case "UpdateNode": {
        if (!cur) return "IDNotFound";
        const urls = new Set(this.list().flatMap((m) => (m.id === id ? [] : m.peerURLs)));
        return (ctx?.member.peerURLs ?? []).some((u) => urls.has(u)) ? "PeerURLExists" : undefined;
      }
      default: {
        const never: never = kind;
        throw new Error(`unknown conf change ${never}`);
      }
    }
  }

  /**
   * Records that the conf change entry at `index` was refused, so a replay after a restart (which re-applies
   * conf changes to raft without re-validating them) skips it too.
   */
  markRejected(index: bigint): void {
    this.backend.bucket(CLUSTER_BUCKET).put(rejectedKey(index), Buffer.from("1"));
  }

  /** The cluster version set through raft (etcd keeps it in the cluster bucket); undefined before. */
  version(): string | undefined {
    return this.backend.bucket(CLUSTER_BUCKET).get(CLUSTER_VERSION_KEY)?.toString();
  }

  setVersion(v: string): void {
    this.backend.bucket(CLUSTER_BUCKET).put(CLUSTER_VERSION_KEY, Buffer.from(v));
  }

  wasRejected(index: bigint): boolean {
    return this.backend.bucket(CLUSTER_BUCKET).get(rejectedKey(index)) !== undefined;
  }

  /** etcd's IsReadyToAddVotingMember: started voters stay a quorum once the new member counts. */
  isReadyToAddVotingMember(): boolean {
    let members = 1;
    let started = 0;
    for (const m of this.votingMembers()) {
      if (isStarted(m)) started++;
      members++;
    }
    // Adding a second member to a one-member cluster (restoring from a backup) is allowed.
    if (started === 1 && members === 2) return true;
    return started >= Math.floor(members / 2) + 1;
  }

  /** etcd's IsReadyToRemoveVotingMember: the remaining started voters are still a quorum. */
  isReadyToRemoveVotingMember(id: bigint): boolean {
    let members = 0;
    let started = 0;
    for (const m of this.votingMembers()) {
      if (m.id === id) continue;
      if (isStarted(m)) started++;
      members++;
    }
    return started >= Math.floor(members / 2) + 1;
  }

  /** etcd's IsReadyToPromoteMember: the learner counts as started in the future quorum. */
  isReadyToPromoteMember(): boolean {
    let members = 1;
    let started = 1;
    for (const m of this.votingMembers()) {
      if (isStarted(m)) started++;
      members++;
    }
    return started >= Math.floor(members / 2) + 1;
  }
}
