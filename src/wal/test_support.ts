// Owns what the WAL tests share: temp dirs, a plain model of the expected state, and random operations on it.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { Entry, HardState, SnapshotMetadata } from "../raft/types.js";
import type { WalState } from "./replay.js";

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "etcd-ts-wal-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const META = new TextEncoder().encode("member=8e9e05c52164694d cluster=cdf818194e3a8c32");

export const entry = (index: bigint, term: bigint, data = `e${index}`): Entry => ({
  index,
  term,
  type: "Normal",
  data: new TextEncoder().encode(data),
});

export const marker = (index: bigint, term: bigint, voters: bigint[] = [1n]): SnapshotMetadata => ({
  index,
  term,
  confState: { voters, learners: [] },
});

/** The expected state, kept the plain way: the log as an array after the snapshot, MemoryStorage-style. */
export class Model {
  hardState: HardState = { term: 0n, vote: 0n, commit: 0n };
  snapshot: SnapshotMetadata = marker(0n, 0n, []);
  log: Entry[] = [];

  get last(): bigint {
    return this.log.at(-1)?.index ?? this.snapshot.index;
  }

  termAt(i: bigint): bigint | undefined {
    if (i === this.snapshot.index) return this.snapshot.term;
    return this.log.find((e) => e.index === i)?.term;
  }

  /** One entry record: overwrite from its index on. */
  entry(e: Entry): void {
    this.log = this.log.filter((x) => x.index < e.index);
    this.log.push(e);
  }

  /** Whether save() writes a hard state record (it skips an unchanged one). */
  writesHardState(hs: HardState | undefined): hs is HardState {
    return (
      hs !== undefined &&
      (hs.term !== this.hardState.term ||
        hs.vote !== this.hardState.vote ||
        hs.commit !== this.hardState.commit)
    );
  }

  save(hs: HardState | undefined, entries: readonly Entry[]): void {
    for (const e of entries) this.entry(e);
    if (this.writesHardState(hs)) this.hardState = { ...hs };
  }

  /** Matching term at the index: compaction. Otherwise the leader's snapshot replaces the whole log. */
  marker(m: SnapshotMetadata): void {
    if (this.termAt(m.index) === m.term) this.log = this.log.filter((e) => e.index > m.index);
    else this.log = [];
    this.snapshot = m;
  }

  clone(): Model {
    const m = new Model();
    m.hardState = { ...this.hardState };
    m.snapshot = this.snapshot;
    m.log = [...this.log];
    return m;
  }
}

export function assertState(actual: WalState, model: Model, context = ""): void {
  assert.deepStrictEqual(actual.metadata, META, `metadata ${context}`);
  assert.deepStrictEqual(actual.hardState, model.hardState, `hardState ${context}`);
  assert.deepStrictEqual(actual.snapshot, model.snapshot, `snapshot ${context}`);
  assert.deepStrictEqual(
    actual.entries.map((e) => e.index),
    model.log.map((e) => e.index),
    `entry indexes ${context}`,
  );
  assert.deepStrictEqual(actual.entries, model.log, `entries ${context}`);
}

export type Op =
  | { kind: "save"; hs: HardState | undefined; entries: Entry[] }
  | { kind: "snap"; marker: SnapshotMetadata }
  | { kind: "reopen" }
  | { kind: "release"; index: bigint };

/** Random numbers that become a valid operation only against the model's state at the time (see toOp). */
export interface OpSeed {
  kind: "save" | "snap" | "reopen" | "release";
  pick: number;
  count: number;
  term: number;
  match: boolean;
  hs: { term: number; vote: number; commit: number } | undefined;
  data: Uint8Array;
}

export const opSeed = (
  kinds: OpSeed["kind"][] = ["save", "save", "save", "save", "snap", "reopen", "release"],
) =>
  fc.record({
    kind: fc.constantFrom(...kinds),
    pick: fc.nat(),
    count: fc.integer({ min: 0, max: 4 }),
    term: fc.integer({ min: 1, max: 6 }),
    match: fc.boolean(),
    hs: fc.option(fc.record({ term: fc.nat(5), vote: fc.nat(3), commit: fc.nat(40) }), { nil: undefined }),
    data: fc.uint8Array({ maxLength: 700, size: "max" }),
  });

/** Picks a valid operation the way raft would issue one: appends at or below the end, markers not backwards. */
export function toOp(s: OpSeed, model: Model): Op {
  const pick = (lo: bigint, hi: bigint): bigint => lo + (BigInt(s.pick) % (hi - lo + 1n));
  switch (s.kind) {
    case "save": {
      const first = pick(model.snapshot.index + 1n, model.last + 1n);
      const entries: Entry[] = [];
      for (let i = 0; i < s.count; i++) {
        entries.push({
          index: first + BigInt(i),
          term: BigInt(s.term),
          type: i % 3 === 2 ? "ConfChange" : "Normal",
          data: s.data.slice(0, Math.max(0, s.data.length - 97 * i)),
        });
      }
      const hs = s.hs && { term: BigInt(s.hs.term), vote: BigInt(s.hs.vote), commit: BigInt(s.hs.commit) };
      return { kind: "save", hs, entries };
    }
    case "snap": {
      const index = pick(model.snapshot.index, model.last + 2n);
      const known = model.termAt(index);
      const term =
        index === model.snapshot.index ? model.snapshot.term : s.match && known ? known : BigInt(s.term + 10);
      const voters = [...s.data.slice(0, 3)].map(BigInt);
      return { kind: "snap", marker: { index, term, confState: { voters, learners: [BigInt(s.count)] } } };
    }
    case "release":
      return { kind: "release", index: pick(0n, model.snapshot.index + 2n) };
    case "reopen":
      return { kind: "reopen" };
  }
}
