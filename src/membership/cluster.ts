// Owns the cluster's membership: members (ID, name, peer and client URLs, learner flag), persisted in the backend.
import type { Backend } from "../backend/index.js";

export const MEMBERS_BUCKET = "members";
export const CLUSTER_BUCKET = "cluster";

export interface Member {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** The JSON etcd puts in a ConfChange's context (and that we persist): IDs as decimal numbers' text. */
interface StoredMember {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner?: boolean;
}

const keyOf = (id: bigint): Buffer => Buffer.from(id.toString(16));

export function encodeMember(m: Member): Uint8Array {
  const s: StoredMember = {
    id: m.id.toString(),
    name: m.name,
    peerURLs: m.peerURLs,
    clientURLs: m.clientURLs,
  };
  if (m.isLearner) s.isLearner = true;
  return Buffer.from(JSON.stringify(s));
}

export function decodeMember(data: Uint8Array): Member {
  const s = JSON.parse(Buffer.from(data).toString("utf8")) as StoredMember;
  return {
    id: BigInt(s.id),
    name: s.name ?? "",
    peerURLs: s.peerURLs ?? [],
    clientURLs: s.clientURLs ?? [],
    isLearner: s.isLearner ?? false,
  };
}

export class RaftCluster {
  private readonly members = new Map<bigint, Member>();

  constructor(
    private readonly backend: Backend,
    readonly clusterId: bigint,
  ) {
    for (const { value } of backend.bucket(MEMBERS_BUCKET).scan(Buffer.alloc(0))) {
      const m = decodeMember(value);
      this.members.set(m.id, m);
    }
  }

  member(id: bigint): Member | undefined {
    return this.members.get(id);
  }

  /** Members ordered by ID, as etcd lists them. */
  list(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Add or replace a member; must run inside the apply loop's backend batch. */
  add(m: Member): void {
    this.members.set(m.id, m);
    this.backend.bucket(MEMBERS_BUCKET).put(keyOf(m.id), encodeMember(m));
  }

  remove(id: bigint): void {
    this.members.delete(id);
    this.backend.bucket(MEMBERS_BUCKET).delete(keyOf(id));
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
}
