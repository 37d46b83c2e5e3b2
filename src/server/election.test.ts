// Specifies the server-side Election (v3election) in-process, on a real single member: campaign queueing, the
// leader key, proclaim/resign guarded by the create revision, cleanup of canceled candidates, and Observe's
// ordered stream of leaders and values (including more updates than its watch holds at once).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MAX_PENDING_WATCH_RESPONSES, RecipeError } from "./concurrency.js";
import {
  campaign,
  ERR_ELECTION_NO_LEADER,
  ERR_ELECTION_NOT_LEADER,
  type LeaderState,
  leader,
  observe,
  proclaim,
  resign,
} from "./election.js";
import { b, peek, startMember, type TestMember } from "./recipe_test_util.js";

const never = new AbortController().signal;
const hex = (id: bigint): string => id.toString(16);
const recipeError = (message: string) => (err: unknown) =>
  err instanceof RecipeError && err.message === message;
const show = (s: LeaderState): string => `${s.kv.key}=${s.kv.value}@${s.header.revision}`;

describe("server-side Election (v3election)", { timeout: 60_000 }, () => {
  let m: TestMember;
  before(async () => {
    m = await startMember();
  });
  after(async () => {
    await m?.stop();
  });

  test("campaign, leader, proclaim and resign", async () => {
    await assert.rejects(leader(m.backend, b("e")), recipeError(ERR_ELECTION_NO_LEADER));
    const l = await m.grant();
    const c = await campaign(m.backend, b("e"), l, b("v1"), never);
    assert.equal(c.leader.key.toString(), `e/${hex(l)}`);
    assert.equal(c.leader.name.toString(), "e");
    assert.equal(c.leader.lease, l);
    assert.equal(c.leader.rev, c.header.revision, "rev is the key's create revision");
    const now = await leader(m.backend, b("e"));
    assert.equal(now.kv.value.toString(), "v1");

    const p = await proclaim(m.backend, c.leader.key, c.leader.rev, l, b("v2"));
    assert.equal((await leader(m.backend, b("e"))).kv.modRevision, p.revision);
    await assert.rejects(
      proclaim(m.backend, c.leader.key, c.leader.rev + 100n, l, b("v3")),
      recipeError(ERR_ELECTION_NOT_LEADER),
    );
    const wrong = await resign(m.backend, c.leader.key, c.leader.rev + 100n);
    assert.equal(wrong.revision, p.revision, "a resign that does not match changes nothing (no error)");
    await resign(m.backend, c.leader.key, c.leader.rev);
    await assert.rejects(leader(m.backend, b("e")), recipeError(ERR_ELECTION_NO_LEADER));
    await m.revoke(l);
  });

  test("campaigning again on the same lease reuses the key and proclaims a different value", async () => {
    const l = await m.grant();
    const first = await campaign(m.backend, b("again"), l, b("a"), never);
    const second = await campaign(m.backend, b("again"), l, b("b"), never);
    assert.deepEqual(second.leader, first.leader);
    assert.equal(second.header.revision, first.header.revision, "the header is the first txn's (a read)");
    assert.deepEqual(await m.keys("again/"), [`again/${hex(l)}=b`]);
    await m.revoke(l);
  });

  test("a candidate leads once every older one resigned; a canceled candidate resigns", async () => {
    const [la, lb, lc] = [await m.grant(), await m.grant(), await m.grant()];
    const a = await campaign(m.backend, b("q"), la, b("a"), never);
    const ac = new AbortController();
    const pb = campaign(m.backend, b("q"), lb, b("b"), ac.signal);
    const pc = campaign(m.backend, b("q"), lc, b("c"), never);
    await m.barrier();
    assert.deepEqual(await m.keys("q/"), [`q/${hex(la)}=a`, `q/${hex(lb)}=b`, `q/${hex(lc)}=c`]);
    ac.abort();
    await assert.rejects(pb, recipeError("context canceled"));
    assert.deepEqual(await m.keys("q/"), [`q/${hex(la)}=a`, `q/${hex(lc)}=c`]);
    assert.equal(await peek(pc), "pending");
    await resign(m.backend, a.leader.key, a.leader.rev);
    const c = await pc;
    assert.equal(c.leader.key.toString(), `q/${hex(lc)}`);
    assert.equal((await leader(m.backend, b("q"))).kv.value.toString(), "c");
    await m.revoke(la);
    await m.revoke(lc);
  });

  test("observe: the first put, every proclamation, then the next leader; ends on abort", async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    const it = observe(m.backend, b("obs"), ac.signal);
    const next = async (): Promise<string> => {
      const r = await it.next();
      assert.ok(!r.done);
      return show(r.value);
    };
    const first = next(); // no leader yet: waits for the first put under the prefix
    await m.barrier();
    const [la, lb] = [await m.grant(), await m.grant()];
    const a = await campaign(m.backend, b("obs"), la, b("a1"), never);
    seen.push(await first);
    const pb = campaign(m.backend, b("obs"), lb, b("b1"), never);
    const p = await proclaim(m.backend, a.leader.key, a.leader.rev, la, b("a2"));
    seen.push(await next());
    const r = await resign(m.backend, a.leader.key, a.leader.rev);
    const bl = await pb;
    seen.push(await next());
    const ka = `obs/${hex(la)}`;
    const kb = `obs/${hex(lb)}`;
    assert.deepEqual(seen, [
      `${ka}=a1@${a.header.revision}`,
      `${ka}=a2@${p.revision}`,
      `${kb}=b1@${r.revision}`, // the next leader is read after the resign, at its revision
    ]);
    assert.equal(bl.leader.key.toString(), kb);
    const pending = it.next();
    ac.abort();
    await assert.rejects(pending, recipeError("context canceled"));
    await m.revoke(la);
    await m.revoke(lb);
  });

  test("observe keeps every value in order when it falls behind (its watch is parked, then resumed)", async () => {
    const l = await m.grant();
    const c = await campaign(m.backend, b("burst"), l, b("v0"), never);
    const ac = new AbortController();
    const it = observe(m.backend, b("burst"), ac.signal);
    assert.equal((await it.next()).value?.kv.value.toString(), "v0");
    const n = MAX_PENDING_WATCH_RESPONSES * 3;
    for (let i = 1; i <= n; i++) await proclaim(m.backend, c.leader.key, c.leader.rev, l, b(`v${i}`));
    const values: string[] = [];
    for (let i = 1; i <= n; i++) values.push(String((await it.next()).value?.kv.value));
    assert.deepEqual(
      values,
      Array.from({ length: n }, (_, i) => `v${i + 1}`),
    );
    ac.abort();
    await it.return(undefined);
    await m.revoke(l);
  });
});
