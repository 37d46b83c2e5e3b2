// Specifies Election against a real server: campaign, leader, proclaim, observe, resign, the typed errors,
// and failover to the next candidate when the leader's session closes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KeyValue } from "../../proto/index.js";
import { Client } from "../client.js";
import { str, TestServer, take, within } from "../test_util.js";
import { Election, ElectionNoLeaderError, ElectionNotLeaderError, Session } from "./index.js";
import { waitKeyCount } from "./test_util.js";

describe("concurrency election", () => {
  let server: TestServer;
  let client: Client;
  const sessions: Session[] = [];
  const session = async (): Promise<Session> => {
    const s = await Session.create(client, { ttl: 30 });
    sessions.push(s);
    return s;
  };
  before(async () => {
    server = await TestServer.start();
    client = await Client.connect({ endpoints: [server.endpoint] });
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await client?.close();
    await server?.dispose();
  });

  test("campaign, proclaim, resign; observe sees every leader value in order", async () => {
    const [s1, s2, s3] = [await session(), await session(), await session()];
    const e1 = new Election(s1, "el");
    await assert.rejects(e1.leader(), ElectionNoLeaderError);
    await assert.rejects(e1.proclaim("x"), ElectionNotLeaderError);
    const ac = new AbortController();
    const seen = new Election(s3, "el").observe({ signal: ac.signal });
    const firstSeen = seen.next(); // waits for the first leader
    await e1.campaign("a");
    assert.equal(e1.key, `el/${s1.lease.toString(16)}`);
    assert.ok(e1.rev > 0n);
    assert.equal(str((await e1.leader()).value), "a");
    const e2 = new Election(s2, "el");
    const won2 = e2.campaign("b");
    await waitKeyCount(client, "el", 2);
    await e1.proclaim("a2");
    await e1.resign();
    await within(won2, "second candidate leads");
    assert.equal(str((await e2.leader()).value), "b");
    await assert.rejects(e1.proclaim("late"), ElectionNotLeaderError);
    const first = await within(firstSeen, "first observed leader");
    const rest = await take(seen, 2, "observed values");
    assert.deepEqual(
      [first.value, ...rest].map((kv) => str((kv as KeyValue).value)),
      ["a", "a2", "b"],
    );
    ac.abort();
    await e2.resign();
  });

  test("campaigning again through the same session re-proclaims a new value", async () => {
    const s = await session();
    const e = new Election(s, "again");
    await e.campaign("v1");
    const rev = e.rev;
    await new Election(s, "again").campaign("v2");
    assert.equal(str((await e.leader()).value), "v2");
    assert.equal((await e.leader()).createRevision, rev);
    await e.resign();
  });

  test("the next candidate takes over when the leader's session closes", async () => {
    const [s1, s2] = [await session(), await session()];
    await new Election(s1, "fo").campaign("one");
    const e2 = new Election(s2, "fo");
    const won = e2.campaign("two");
    await waitKeyCount(client, "fo", 2);
    await s1.close();
    await within(won, "failover");
    const leader = await e2.leader();
    assert.equal(str(leader.key), e2.key);
    assert.equal(str(leader.value), "two");
  });

  test("an aborted campaign rejects and withdraws its candidacy", async () => {
    const [s1, s2] = [await session(), await session()];
    const e1 = new Election(s1, "ab");
    await e1.campaign("one");
    const ac = new AbortController();
    const lost = new Election(s2, "ab").campaign("two", { signal: ac.signal });
    await waitKeyCount(client, "ab", 2);
    ac.abort(new Error("stop"));
    await assert.rejects(within(lost, "aborted campaign"), /stop/);
    await waitKeyCount(client, "ab", 1);
    await e1.resign();
  });
});
