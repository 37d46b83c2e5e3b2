// Specifies the lessor with a fake clock: grants (minimum TTL, duplicates, limits), revoke, renew, TimeToLive,
// expiry order and limits, promote/demote, pile-up spreading, checkpoints and persistence across reopen.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { Backend } from "../backend/backend.js";
import { KVStore } from "../mvcc/store.js";
import { decodeLease, LEASE_BUCKET, leaseKey } from "./codec.js";
import { LeaseError } from "./errors.js";
import {
  ErrNotPrimary,
  FOREVER_TTL,
  Lessor,
  type LessorOptions,
  MAX_LEASE_TTL,
  minLeaseTTL,
} from "./lessor.js";

const b = (s: string): Buffer => Buffer.from(s);
const kind = (k: string) => (err: unknown) => err instanceof LeaseError && err.kind === k;

class Clock {
  t = 1_000_000;
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A lessor on a fresh backend in a temp dir; `reopen()` restarts it on the same file with the same clock. */
class Fixture {
  readonly dir = mkdtempSync(join(tmpdir(), "etcd-ts-lease-"));
  readonly clock = new Clock();
  backend = Backend.open({ path: join(this.dir, "db") });
  lessor: Lessor;
  constructor(readonly opts: Partial<LessorOptions> = {}) {
    this.lessor = this.open();
  }
  private open(): Lessor {
    return Lessor.open(this.backend, { now: this.clock.now, minLeaseTTL: 2, ...this.opts });
  }
  grant(id: bigint, ttl: bigint) {
    return this.backend.batch(() => this.lessor.grant(id, ttl));
  }
  async reopen(): Promise<Lessor> {
    await this.backend.close();
    this.backend = Backend.open({ path: join(this.dir, "db") });
    this.lessor = this.open();
    return this.lessor;
  }
  async cleanup(): Promise<void> {
    await this.backend.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let fixtures: Fixture[] = [];
const fresh = (opts?: Partial<LessorOptions>): Fixture => {
  const f = new Fixture(opts);
  fixtures.push(f);
  return f;
};
afterEach(async () => {
  for (const f of fixtures) await f.cleanup();
  fixtures = [];
});

describe("grant", () => {
  test("etcd's minimum TTL is 1.5 election timeouts rounded up to seconds (defaults: 2 s)", () => {
    assert.equal(minLeaseTTL(10, 100), 2); // 15 ticks * 100 ms = 1.5 s
    assert.equal(minLeaseTTL(50, 100), 8); // 7.5 s
    assert.equal(minLeaseTTL(10, 50), 1); // 0.75 s
    assert.equal(minLeaseTTL(11, 100), 2); // (3*11)/2 = 16 ticks, integer division as in etcd
  });

  test("a TTL below the minimum is raised to it (etcd raises TTL 1 to 2); others are kept", () => {
    const f = fresh();
    assert.equal(f.grant(1n, 1n).ttl, 2);
    assert.equal(f.grant(2n, 0n).ttl, 2);
    assert.equal(f.grant(3n, -5n).ttl, 2);
    assert.equal(f.grant(4n, 10n).ttl, 10);
    assert.equal(f.grant(5n, MAX_LEASE_TTL).ttl, 9_000_000_000);
  });

  test("errors: duplicate ID, TTL above 9e9, ID 0", () => {
    const f = fresh();
    f.grant(7n, 10n);
    assert.throws(() => f.grant(7n, 10n), kind("LeaseExist"));
    assert.throws(() => f.grant(8n, MAX_LEASE_TTL + 1n), kind("LeaseTTLTooLarge"));
    assert.throws(() => f.grant(0n, 10n), kind("LeaseNotFound"));
    assert.equal(f.lessor.size, 1);
  });

  test("leases are stored as etcd stores them and survive a reopen (TTL raised to the minimum on load)", async () => {
    const f = fresh();
    f.grant(-7n, 100n);
    f.grant(0x694dn, 5n);
    const raw = f.backend.bucket(LEASE_BUCKET).get(leaseKey(0x694dn));
    assert.deepEqual(decodeLease(raw!), { id: 0x694dn, ttl: 5n, remainingTTL: 0n });
    const le = await f.reopen();
    assert.deepEqual(
      le.leases().map((l) => [l.id, l.ttl]),
      [
        [-7n, 100],
        [0x694dn, 5],
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
  });

  test("a lease granted while not primary has no deadline: TimeToLive reports Go's forever", () => {
    const f = fresh();
    f.grant(1n, 10n);
    assert.equal(f.lessor.timeToLive(1n, false)?.ttl, FOREVER_TTL);
    f.lessor.promote(0);
    f.grant(2n, 10n);
    assert.equal(f.lessor.timeToLive(2n, false)?.ttl, 10n);
  });
});

describe("keys, revoke, TimeToLive, renew", () => {
  test("attach/detach track keys; revoke returns them in byte order and forgets the lease", () => {
    const f = fresh();
    f.grant(1n, 10n);
    for (const k of ["b", "a", "\xff", "ab"]) f.lessor.attach(1n, Buffer.from(k, "latin1"));
    f.lessor.detach(1n, b("ab"));
    f.lessor.attach(99n, b("orphan")); // unknown lease: ignored, as etcd logs and goes on
    assert.deepEqual(f.lessor.timeToLive(1n, true)?.keys, [b("a"), b("b"), Buffer.from([0xff])]);
    const keys = f.backend.batch(() => f.lessor.revoke(1n));
    assert.deepEqual(keys, [b("a"), b("b"), Buffer.from([0xff])]);
    assert.equal(f.lessor.lookup(1n), undefined);
    assert.equal(f.backend.bucket(LEASE_BUCKET).get(leaseKey(1n)), undefined);
    assert.throws(() => f.backend.batch(() => f.lessor.revoke(1n)), kind("LeaseNotFound"));
  });

  test("TimeToLive truncates to whole seconds; unknown lease is undefined", () => {
    const f = fresh();
    f.lessor.promote(0);
    f.grant(1n, 10n);
    assert.deepEqual(f.lessor.timeToLive(1n, false), { ttl: 10n, grantedTTL: 10n, keys: [] });
    f.clock.advance(1);
    assert.equal(f.lessor.timeToLive(1n, false)?.ttl, 9n); // etcd answers 9 right after granting 10
    f.clock.advance(9_500);
    assert.equal(f.lessor.timeToLive(1n, false)?.ttl, 0n);
    assert.equal(f.lessor.timeToLive(2n, false), undefined);
  });

  test("renew: primary only; resets to the granted TTL; unknown and expired leases are not found", () => {
    const f = fresh();
    f.grant(1n, 10n);
    assert.throws(() => f.lessor.renew(1n), ErrNotPrimary);
    f.lessor.promote(0);
    f.clock.advance(6_000);
    assert.equal(f.lessor.renew(1n), 10);
    assert.equal(f.lessor.timeToLive(1n, false)?.ttl, 10n);
    assert.throws(() => f.lessor.renew(2n), kind("LeaseNotFound"));
    f.clock.advance(10_000);
    assert.throws(() => f.lessor.renew(1n), kind("LeaseNotFound"));
  });

  test("keys put through the KV store with a lease are re-attached when the store reopens", async () => {
    const f = fresh();
    f.grant(5n, 60n);
    let kv = KVStore.open(f.backend, { leaseHooks: f.lessor });
    const w = kv.write();
    w.put(b("k1"), b("v"), 5n);
    w.put(b("k2"), b("v"), 5n);
    w.end();
    const d = kv.write();
    d.deleteRange(b("k2"), undefined);
    d.end();
    assert.deepEqual(f.lessor.timeToLive(5n, true)?.keys, [b("k1")]);
    await kv.close();
    const le = await f.reopen();
    kv = KVStore.open(f.backend, { leaseHooks: le });
    assert.deepEqual(le.timeToLive(5n, true)?.keys, [b("k1")]);
    await kv.close();
  });
});

describe("expiry (primary only)", () => {
  test("expired leases come out in deadline order, at most `limit` at a time, never while not primary", () => {
    const f = fresh();
    f.lessor.promote(0);
    f.grant(3n, 30n);
    f.grant(1n, 10n);
    f.grant(2n, 20n);
    f.grant(4n, 40n);
    f.clock.advance(9_999);
    assert.deepEqual(f.lessor.expired(10), []);
    f.clock.advance(25_000);
    assert.deepEqual(f.lessor.expired(2), [1n, 2n]);
    assert.deepEqual(f.lessor.expired(10), [3n]);
    f.lessor.checkInvariants();
    f.lessor.demote();
    f.clock.advance(100_000);
    assert.deepEqual(f.lessor.expired(10), []);
    f.lessor.checkInvariants();
  });

  test("an expired lease not yet revoked is offered again after the retry interval", () => {
    const f = fresh({ expiredRetryMs: 3000 });
    f.lessor.promote(0);
    f.grant(1n, 2n);
    f.clock.advance(2_000);
    assert.deepEqual(f.lessor.expired(10), [1n]);
    f.clock.advance(2_999);
    assert.deepEqual(f.lessor.expired(10), []);
    f.clock.advance(1);
    assert.deepEqual(f.lessor.expired(10), [1n]);
    f.backend.batch(() => f.lessor.revoke(1n));
    f.clock.advance(10_000);
    assert.deepEqual(f.lessor.expired(10), []);
  });

  test("promote restarts every deadline from now + TTL + the election timeout; demote stops expiry", () => {
    const f = fresh();
    f.grant(1n, 10n);
    f.clock.advance(60_000); // time passes while a follower: nothing counts down
    f.lessor.promote(1_000);
    assert.equal(f.lessor.timeToLive(1n, false)?.ttl, 11n);
    f.clock.advance(10_999);
    assert.deepEqual(f.lessor.expired(10), []);
    f.clock.advance(1);
    assert.deepEqual(f.lessor.expired(10), [1n]);
    f.lessor.demote();
    assert.equal(f.lessor.timeToLive(1n, false)?.ttl, FOREVER_TTL);
  });

  test("promote spreads piled-up deadlines: at most 3/4 of the revoke rate expire in any second", () => {
    const rate = 8;
    const f = fresh({ revokeRate: rate });
    for (let i = 1; i <= 20; i++) f.grant(BigInt(i), 10n);
    f.lessor.promote(0);
    const perSecond = new Map<number, number>();
    for (const l of f.lessor.leases()) {
      const s = Math.floor((l.expiry - f.clock.t) / 1000);
      perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
    }
    assert.ok(
      [...perSecond.values()].every((n) => n <= (3 * rate) / 4),
      JSON.stringify([...perSecond]),
    );
    assert.equal(Math.min(...perSecond.keys()), 10);
    f.lessor.checkInvariants();
  });

  test("leases() lists soonest deadline first", () => {
    const f = fresh();
    f.lessor.promote(0);
    f.grant(1n, 100n);
    f.grant(2n, 5n);
    f.grant(3n, 50n);
    assert.deepEqual(
      f.lessor.leases().map((l) => l.id),
      [2n, 3n, 1n],
    );
  });
});

describe("checkpoints", () => {
  const opts = { checkpointing: true, checkpointIntervalMs: 60_000 };

  test("due checkpoints report the remaining TTL of leases longer than the interval, at most `limit`", () => {
    const f = fresh(opts);
    f.lessor.promote(0);
    f.grant(1n, 300n);
    f.grant(2n, 400n);
    f.grant(3n, 30n); // shorter than the interval: never checkpointed
    f.clock.advance(59_999);
    assert.deepEqual(f.lessor.dueCheckpoints(10), []);
    f.clock.advance(1);
    assert.deepEqual(f.lessor.dueCheckpoints(1), [{ ID: 1n, remainingTTL: 240n }]);
    assert.deepEqual(f.lessor.dueCheckpoints(10), [{ ID: 2n, remainingTTL: 340n }]);
    assert.deepEqual(f.lessor.dueCheckpoints(10), []);
  });

  test("an applied checkpoint reschedules the next one and is what a promote counts from", () => {
    const f = fresh(opts);
    f.lessor.promote(0);
    f.grant(1n, 300n);
    f.clock.advance(60_000);
    const [cp] = f.lessor.dueCheckpoints(10);
    f.backend.batch(() => f.lessor.checkpoint(cp!.ID, cp!.remainingTTL));
    f.clock.advance(60_000);
    assert.deepEqual(f.lessor.dueCheckpoints(10), [{ ID: 1n, remainingTTL: 180n }]);
    f.lessor.demote();
    f.lessor.promote(0);
    assert.equal(f.lessor.timeToLive(1n, false)?.ttl, 240n);
    assert.equal(f.lessor.needsCheckpointClear(1n), true);
  });

  test("with persistence, a restart continues from the checkpointed TTL; without, from the full TTL", async () => {
    for (const persistCheckpoints of [true, false]) {
      const f = fresh({ ...opts, persistCheckpoints });
      f.lessor.promote(0);
      f.grant(1n, 300n);
      f.backend.batch(() => f.lessor.checkpoint(1n, 120n));
      const le = await f.reopen();
      le.promote(0);
      assert.equal(le.timeToLive(1n, false)?.ttl, persistCheckpoints ? 120n : 300n);
    }
  });

  test("nothing is scheduled when checkpointing is off", () => {
    const f = fresh({ checkpointIntervalMs: 60_000 });
    f.lessor.promote(0);
    f.grant(1n, 300n);
    f.clock.advance(120_000);
    assert.deepEqual(f.lessor.dueCheckpoints(10), []);
  });
});
