// Owns the raft wire and state types shared by the consensus core, its simulator, the WAL and the transport.

/** A member ID. 0n means "none" (no leader, no vote). */
export type NodeId = bigint;
export const NONE: NodeId = 0n;

export type EntryType = "Normal" | "ConfChange";

export interface Entry {
  term: bigint;
  index: bigint;
  type: EntryType;
  data: Uint8Array;
}

export type MessageType =
  | "MsgHup" // local: start an election
  | "MsgBeat" // local: leader sends heartbeats
  | "MsgProp" // a proposal (local, or forwarded by a follower)
  | "MsgApp"
  | "MsgAppResp"
  | "MsgVote"
  | "MsgVoteResp"
  | "MsgSnap"
  | "MsgHeartbeat"
  | "MsgHeartbeatResp"
  | "MsgUnreachable" // local: transport reports a peer unreachable
  | "MsgSnapStatus" // local: transport reports a snapshot's fate
  | "MsgCheckQuorum" // local: leader checks it still hears from a quorum
  | "MsgTransferLeader"
  | "MsgTimeoutNow"
  | "MsgReadIndex"
  | "MsgReadIndexResp"
  | "MsgPreVote"
  | "MsgPreVoteResp";

export interface SnapshotMetadata {
  confState: ConfState;
  index: bigint;
  term: bigint;
}

export interface Snapshot {
  data: Uint8Array;
  metadata: SnapshotMetadata;
}

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: bigint;
  /** Term of the entry at `index` (MsgApp: the entry before `entries`; votes: candidate's last term). */
  logTerm: bigint;
  index: bigint;
  entries: Entry[];
  commit: bigint;
  snapshot?: Snapshot;
  reject: boolean;
  rejectHint: bigint;
  context?: Uint8Array;
}

export interface HardState {
  term: bigint;
  vote: NodeId;
  commit: bigint;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export type ConfChangeType = "AddNode" | "RemoveNode" | "UpdateNode" | "AddLearnerNode";

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  /** Opaque to raft (etcd puts the member's JSON here). */
  context: Uint8Array;
}

export type StateType = "Follower" | "Candidate" | "Leader" | "PreCandidate";

export interface SoftState {
  lead: NodeId;
  raftState: StateType;
}

/** The answer to a readIndex() request: once applied >= index, a read under requestCtx is linearizable. */
export interface ReadState {
  index: bigint;
  requestCtx: Uint8Array;
}

export type SnapshotStatus = "Finish" | "Failure";

export const emptyHardState = (): HardState => ({ term: 0n, vote: NONE, commit: 0n });

export const isEmptyHardState = (hs: HardState): boolean =>
  hs.term === 0n && hs.vote === NONE && hs.commit === 0n;

export const hardStateEqual = (a: HardState, b: HardState): boolean =>
  a.term === b.term && a.vote === b.vote && a.commit === b.commit;

export const emptySnapshot = (): Snapshot => ({
  data: new Uint8Array(0),
  metadata: { confState: { voters: [], learners: [] }, index: 0n, term: 0n },
});

export const isEmptySnapshot = (s: Snapshot | undefined): boolean =>
  s === undefined || s.metadata.index === 0n;

/** A message with every field at its zero value except those given. */
export function msg(fields: Partial<Message> & Pick<Message, "type">): Message {
  return {
    to: NONE,
    from: NONE,
    term: 0n,
    logTerm: 0n,
    index: 0n,
    entries: [],
    commit: 0n,
    reject: false,
    rejectHint: 0n,
    ...fields,
  };
}

/** Size in bytes of an entry's payload as counted against size limits (etcd counts the encoded entry). */
export const entrySize = (e: Entry): number => e.data.length + 16;

export const isLocalMsg = (t: MessageType): boolean =>
  t === "MsgHup" ||
  t === "MsgBeat" ||
  t === "MsgUnreachable" ||
  t === "MsgSnapStatus" ||
  t === "MsgCheckQuorum";

export const isResponseMsg = (t: MessageType): boolean =>
  t === "MsgAppResp" ||
  t === "MsgVoteResp" ||
  t === "MsgHeartbeatResp" ||
  t === "MsgUnreachable" ||
  t === "MsgPreVoteResp";

export const voteRespMsgType = (t: MessageType): MessageType => {
  if (t === "MsgVote") return "MsgVoteResp";
  if (t === "MsgPreVote") return "MsgPreVoteResp";
  throw new Error(`not a vote message: ${t}`);
};
