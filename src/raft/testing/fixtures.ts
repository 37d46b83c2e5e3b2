// Owns small builders shared by the raft unit tests: test storages, single Raft instances, entries, messages.
import { Raft } from "../raft.js";
import { Rand } from "../rand.js";
import { type Config, RawNode } from "../rawnode.js";
import { MemoryStorage } from "../storage.js";
import type { Entry, EntryType, Message, NodeId, Snapshot } from "../types.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const enc = (s: string): Uint8Array => encoder.encode(s);
export const dec = (b: Uint8Array): string => decoder.decode(b);

/** An entry; `data` is a string for readability. */
export function entry(
  index: number | bigint,
  term: number | bigint,
  data = "",
  type: EntryType = "Normal",
): Entry {
  return { index: BigInt(index), term: BigInt(term), type, data: enc(data) };
}

/** Entries at consecutive indexes starting at `first`, one per term given. */
export function entries(first: number, ...terms: number[]): Entry[] {
  return terms.map((t, i) => entry(first + i, t));
}

export const ids = (...xs: number[]): NodeId[] => xs.map((x) => BigInt(x));

/** A storage that already knows its configuration (etcd's newTestMemoryStorage(withPeers(...))). */
export function newTestStorage(voters: number[], learners: number[] = []): MemoryStorage {
  return new MemoryStorage({ voters: ids(...voters), learners: ids(...learners) });
}

export type TestConfig = Partial<Omit<Config, "id" | "storage">>;

export function testConfig(id: number | bigint, storage: MemoryStorage, opts: TestConfig = {}): Config {
  return {
    id: BigInt(id),
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    rand: new Rand(Number(id) * 7919),
    ...opts,
  };
}

/** A Raft over `storage` with electionTick 10 and heartbeatTick 1 unless overridden. */
export function newTestRaft(id: number | bigint, storage: MemoryStorage, opts: TestConfig = {}): Raft {
  return new Raft(testConfig(id, storage, opts));
}

export function newTestRawNode(id: number | bigint, storage: MemoryStorage, opts: TestConfig = {}): RawNode {
  return new RawNode(testConfig(id, storage, opts));
}

/** Take (and clear) the messages a Raft has queued. */
export function readMessages(r: Raft): Message[] {
  const out = r.msgs;
  r.msgs = [];
  return out;
}

/** The terms of every entry in the log, from firstIndex to lastIndex. */
export function logTerms(r: Raft): bigint[] {
  return r.raftLog.allEntries().map((e) => e.term);
}

export function snapshotOf(index: number, term: number, voters: number[], learners: number[] = []): Snapshot {
  return {
    data: new Uint8Array(0),
    metadata: {
      index: BigInt(index),
      term: BigInt(term),
      confState: { voters: ids(...voters), learners: ids(...learners) },
    },
  };
}

/** Make r the leader of its term without a real election (etcd's becomeCandidate + becomeLeader). */
export function forceLeader(r: Raft): void {
  r.becomeCandidate();
  r.becomeLeader();
}
