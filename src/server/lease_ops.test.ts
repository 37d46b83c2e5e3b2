// Specifies LeaseOps over a fake raft that applies each proposal at once: grant/revoke/renew/TimeToLive answers,
// a revoke's deletes in one revision, renew waiting for promotion, and the rate-limited expiry duties.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { Backend } from "../backend/backend.js";
import { LeaseError } from "../lease/errors.js";
import { Lessor, type LessorOptions } from "../lease/index.js";
import { KVStore } from "../mvcc/store.js";
import type { InternalRaftRequest } from "../proto/index.js";
import { ServerError } from "./errors.js";
import {
  CHECKPOINTS_PER_ROUND,
  LeaseOps,
  type LeaseOpsHooks,
  MAX_PENDING_REVOKES,
  REVOKES_PER_ROUND,
} from "./lease_ops.js";

const b = (s: string): Buffer => Buffer.from(s);
const kind = (k: string) => (err: unknown) =>
  (err instanceof ServerError || err instanceof LeaseError) && err.kind === k;
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A member whose "raft" applies every proposal immediately; `holdRevokes` parks revoke proposals. */
class FakeMember {
  readonly dir = mkdtempSync(join(tmpdir(), "etcd-ts-leaseops-"));
  t = 1_000_000;
  readonly backend = Backend.open({ path: join(this.dir, "db") });
  readonly lessor: Lessor;
  readonly kv: KVStore;
  readonly ops: LeaseOps;
  readonly proposals: Partial<InternalRaftRequest>[] = [];
  holdRevokes = false;
  readonly held: Array<() => void> = [];
  leaderId = 1n;
  private index = 0n;
  private ids = 0n;

  constructor(opts: Partial<LessorOptions> = {}, hooks: Partial<LeaseOpsHooks> = {}) {
    this.lessor = Lessor.open(this.backend, { now: () => this.t, minLeaseTTL: 2, ...opts });
    this.kv = KVStore.open(this.backend, { leaseHooks: this.lessor });
    this.ops = new LeaseOps(this.lessor, this.kv, {
      propose: (r) => this.propose(r),
      linearizableRead: async () => undefined,
      header: (revision) => ({ clusterId: 9n, memberId: 1n, revision, raftTerm: 2n }),
      nextId: () => ++this.ids,
      leader: () => this.leaderId,
      requestTimeoutMs: 5_000,
      ...hooks,
    });
  }

  private async propose(r: Partial<InternalRaftRequest>) {
    this.proposals.push(r);
    if (r.leaseRevoke && this.holdRevokes) await new Promise<void>((resolve) => this.held.push(resolve));
    const ci = { index: ++this.index, term: 2n };
    return this.backend.batch(() => {
      if (r.leaseGrant) return this.ops.applyGrant(r.leaseGrant, ci);
      if (r.leaseRevoke) return this.ops.applyRevoke(r.leaseRevoke, ci);
      if (r.leaseCheckpoint) return this.ops.applyCheckpoint(r.leaseCheckpoint, ci);
      throw new Error("unexpected proposal");
    });
  }

  put(key: string, lease: bigint): void {
    const w = this.kv.write();
    w.put(b(key), b("v"), lease);
    w.end();
  }

  async cleanup(): Promise<void> {
    this.ops.stop();
    await this.kv.close();
    await this.backend.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let members: FakeMember[] = [];
const fresh = (opts?: Partial<LessorOptions>, hooks?: Partial<LeaseOpsHooks>): FakeMember => {
  const m = new FakeMember(opts, hooks);
  members.push(m);
  return m;
};
afterEach(async () => {
  for (const m of members) await m.cleanup();
  members = [];
});

describe("requests", () => {
  test("grant: ID 0 takes a positive ID from the request ID generator; TTL raised; header at the store revision", async () => {
    const m = fresh(
      {},
      {
        nextId: (() => {
          const ids = [1n << 63n, (1n << 63n) | 5n];
          return () => ids.shift()!;
        })(),
      },
    );
    const r = await m.ops.leaseGrant({ ID: 0n, TTL: 1n });
    assert.deepEqual(r, {
      header: { clusterId: 9n, memberId: 1n, revision: 1n, raftTerm: 2n },
      ID: 5n,
      TTL: 2n,
      error: "",
    });
    await assert.rejects(m.ops.leaseGrant({ ID: 5n, TTL: 10n }), kind("LeaseExist"));
  });

  test("revoke deletes every attached key in one revision with a DELETE event each", async () => {
    const m = fresh();
    m.ops.promote(0);
    await m.ops.leaseGrant({ ID: 7n, TTL: 60n });
    m.put("b", 7n);
    m.put("a", 7n);
    m.put("other", 0n);
    const res = m.backend.batch(() => m.ops.applyRevoke({ ID: 7n }, { index: 100n }));
    assert.equal(res.revision, 5n);
    assert.deepEqual(
      res.changes.map((e) => [e.type, e.kv.key.toString(), e.kv.modRevision]),
      [
        ["DELETE", "a", 5n],
        ["DELETE", "b", 5n],
      ],
    );
    assert.equal(m.kv.range(b("a"), b("z")).count, 1);
    assert.equal(m.kv.consistentIndex, 100n);
    await assert.rejects(m.ops.leaseRevoke({ ID: 7n }), kind("LeaseNotFound"));
  });

  test("TimeToLive: unknown lease is TTL -1 without error; keys on request", async () => {
    const m = fresh();
    m.ops.promote(0);
    await m.ops.leaseGrant({ ID: 3n, TTL: 10n });
    m.put("k", 3n);
    const unknown = await m.ops.leaseTimeToLive({ ID: 4n, keys: true });
    assert.deepEqual(
      { ...unknown, header: undefined },
      { header: undefined, ID: 4n, TTL: -1n, grantedTTL: 0n, keys: [] },
    );
    m.t += 500;
    const known = await m.ops.leaseTimeToLive({ ID: 3n, keys: true });
    assert.deepEqual([known.TTL, known.grantedTTL, known.keys], [9n, 10n, [b("k")]]);
    assert.equal(known.header?.revision, 2n);
    assert.deepEqual((await m.ops.leaseLeases()).leases, [{ ID: 3n }]);
  });

  test("renew: the granted TTL for a live lease, LeaseNotFound otherwise", async () => {
    const m = fresh();
    m.ops.promote(0);
    await m.ops.leaseGrant({ ID: 3n, TTL: 10n });
    m.t += 9_000;
    assert.equal(await m.ops.leaseRenew(3n), 10n);
    await assert.rejects(m.ops.leaseRenew(4n), kind("LeaseNotFound"));
  });

  test("renew before this member's lessor is promoted waits for the promotion", async () => {
    const m = fresh();
    await m.ops.leaseGrant({ ID: 3n, TTL: 10n });
    const renewed = m.ops.leaseRenew(3n);
    await flush();
    m.ops.promote(1_000);
    assert.equal(await renewed, 10n);
  });

  test("renew with no leader fails with NoLeader once the request timeout passes", async () => {
    const m = fresh({}, { requestTimeoutMs: 20 });
    m.leaderId = 0n;
    await assert.rejects(m.ops.leaseRenew(3n), kind("NoLeader"));
  });

  test("a renew of a checkpointed lease first proposes clearing its remaining TTL", async () => {
    const m = fresh({ checkpointing: true, checkpointIntervalMs: 60_000 });
    m.ops.promote(0);
    await m.ops.leaseGrant({ ID: 3n, TTL: 300n });
    await m.ops.leaseRenew(3n);
    assert.equal(m.proposals.filter((p) => p.leaseCheckpoint).length, 0);
    m.t += 60_000;
    m.ops.runDuties();
    await flush();
    assert.deepEqual(m.proposals.at(-1)?.leaseCheckpoint, { checkpoints: [{ ID: 3n, remainingTTL: 240n }] });
    assert.equal(m.lessor.lookup(3n)?.remainingTTL, 240);
    assert.equal(await m.ops.leaseRenew(3n), 300n);
    assert.deepEqual(m.proposals.at(-1)?.leaseCheckpoint, { checkpoints: [{ ID: 3n, remainingTTL: 0n }] });
    assert.equal(m.lessor.lookup(3n)?.remainingTTL, 0);
  });
});

describe("leader duties", () => {
  test("an expired lease is revoked through raft and its keys deleted; nothing happens after demote", async () => {
    const m = fresh();
    m.ops.promote(0);
    await m.ops.leaseGrant({ ID: 1n, TTL: 5n });
    await m.ops.leaseGrant({ ID: 2n, TTL: 5n });
    m.put("k", 1n);
    m.t += 4_999;
    m.ops.runDuties();
    await flush();
    assert.equal(m.lessor.size, 2);
    m.t += 1;
    m.ops.demote();
    m.ops.runDuties();
    await flush();
    assert.equal(m.lessor.size, 2);
    m.ops.promote(0);
    m.t += 5_000;
    m.ops.runDuties();
    await flush();
    assert.equal(m.lessor.size, 0);
    assert.equal(m.kv.range(b("k"), undefined).count, 0);
  });

  test(`at most ${MAX_PENDING_REVOKES} revokes in flight and ${REVOKES_PER_ROUND} per round`, async () => {
    const m = fresh();
    m.ops.promote(0);
    const n = REVOKES_PER_ROUND + 100;
    for (let i = 1; i <= n; i++) await m.ops.leaseGrant({ ID: BigInt(i), TTL: 10n });
    m.holdRevokes = true;
    m.t += 10_000;
    m.ops.runDuties();
    await flush();
    const revokes = () => m.proposals.filter((p) => p.leaseRevoke).length;
    assert.equal(revokes(), MAX_PENDING_REVOKES);
    while (m.held.length > 0) {
      for (const release of m.held.splice(0)) release();
      await flush();
      assert.ok(m.held.length <= MAX_PENDING_REVOKES);
    }
    assert.equal(revokes(), REVOKES_PER_ROUND);
    assert.equal(m.lessor.size, 100);
    m.holdRevokes = false;
    m.ops.runDuties();
    await flush();
    assert.equal(m.lessor.size, 0);
  });

  test(`at most ${CHECKPOINTS_PER_ROUND} checkpoints per round, in one proposal`, async () => {
    const m = fresh({ checkpointing: true, checkpointIntervalMs: 60_000 });
    m.ops.promote(0);
    for (let i = 1; i <= CHECKPOINTS_PER_ROUND + 10; i++)
      await m.ops.leaseGrant({ ID: BigInt(i), TTL: 600n });
    m.t += 60_000;
    m.ops.runDuties();
    m.ops.runDuties();
    await flush();
    const sizes = m.proposals.flatMap((p) =>
      p.leaseCheckpoint ? [p.leaseCheckpoint.checkpoints.length] : [],
    );
    assert.deepEqual(sizes, [CHECKPOINTS_PER_ROUND, 10]);
  });
});
