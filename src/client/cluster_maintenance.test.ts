// Specifies the Cluster and Maintenance wrappers against a real server: every RPC reaches the wire with its
// fields, and its errors come back typed.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { AlarmRequest_AlarmAction, AlarmType } from "../proto/index.js";
import { freePort } from "../testing/server_process.js";
import { Client } from "./client.js";
import {
  BadLeaderTransfereeError,
  EtcdError,
  MemberError,
  MemberNotFoundError,
  NoSpaceError,
  Status,
} from "./errors.js";
import { TestServer } from "./test_util.js";

describe("client cluster and maintenance", () => {
  let server: TestServer;
  let client: Client;
  before(async () => {
    server = await TestServer.start();
    client = await Client.connect({ endpoints: [server.endpoint] });
  });
  after(async () => {
    await client?.close();
    await server?.dispose();
  });

  test("memberList: the one member, linearizable or not", async () => {
    for (const linearizable of [true, false]) {
      const res = await client.cluster.memberList({ linearizable });
      assert.equal(res.members.length, 1);
      assert.equal(res.members[0]!.name, "default");
      assert.deepEqual(res.members[0]!.clientURLs, [`http://${server.endpoint}`]);
      assert.equal(res.members[0]!.ID, res.header!.memberId);
    }
  });

  test("status, hash, hashKV and defragment of a named member", async () => {
    await client.kv.put("m/k", "v");
    const st = await client.maintenance.status({ endpoint: server.endpoint });
    assert.match(st.version, /^3\./);
    assert.equal(st.leader, st.header!.memberId);
    assert.ok(st.dbSize > 0n && st.raftIndex > 0n);
    assert.equal(
      typeof (await client.maintenance.hash({ endpoint: `http://${server.endpoint}` })).hash,
      "number",
    );
    const h1 = await client.maintenance.hashKV(0n);
    const h2 = await client.maintenance.hashKV(0n);
    assert.equal(h1.hash, h2.hash);
    await client.maintenance.defragment({ endpoint: server.endpoint }); // etcd 3.4 answers without a header
  });

  test("alarms: activate NOSPACE, writes fail with NoSpaceError, disarm all", async () => {
    const memberID = (await client.maintenance.status()).header!.memberId;
    assert.deepEqual((await client.maintenance.alarmList()).alarms, []);
    await client.maintenance.alarm(AlarmRequest_AlarmAction.ACTIVATE, { memberID, alarm: AlarmType.NOSPACE });
    assert.deepEqual((await client.maintenance.alarmList()).alarms, [{ memberID, alarm: AlarmType.NOSPACE }]);
    await assert.rejects(client.kv.put("m/k", "v"), NoSpaceError);
    const disarmed = await client.maintenance.alarmDisarm({ memberID: 0n, alarm: AlarmType.NONE });
    assert.deepEqual(disarmed.alarms, [{ memberID, alarm: AlarmType.NOSPACE }]);
    assert.deepEqual((await client.maintenance.alarmList()).alarms, []);
    await client.kv.put("m/k", "v");
  });

  test("snapshot streams the backend in 32 KiB chunks followed by its SHA-256", async () => {
    for (let i = 0; i < 20; i++) await client.kv.put(`m/big/${i}`, "x".repeat(4096));
    const chunks: Buffer[] = [];
    for await (const c of client.maintenance.snapshot({ endpoint: server.endpoint })) chunks.push(c);
    assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
    const data = chunks.slice(0, -2);
    for (const c of data) assert.equal(c.length, 32 * 1024);
    assert.ok(chunks.at(-2)!.length > 0 && chunks.at(-2)!.length <= 32 * 1024);
    assert.equal(chunks.at(-1)!.length, 32);
    const all = Buffer.concat(chunks);
    const sha = createHash("sha256")
      .update(all.subarray(0, all.length - 32))
      .digest();
    assert.deepEqual(all.subarray(all.length - 32), sha);
  });

  test("moveLeader to a member that does not exist", async () => {
    const err = await client.maintenance.moveLeader(12345n).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof BadLeaderTransfereeError, String(err));
  });

  test("membership changes: add a learner, update it, promotion refused, remove it", async () => {
    const peer = `http://127.0.0.1:${await freePort()}`;
    const added = await client.cluster.memberAdd([peer], { isLearner: true });
    const id = added.member!.ID;
    assert.equal(added.member!.isLearner, true);
    assert.equal(added.members.length, 2);
    const peer2 = `http://127.0.0.1:${await freePort()}`;
    const updated = await client.cluster.memberUpdate(id, [peer2]);
    assert.deepEqual(updated.members.find((m) => m.ID === id)?.peerURLs, [peer2]);
    await assert.rejects(client.cluster.memberPromote(id), MemberError);
    assert.equal((await client.cluster.memberRemove(id)).members.length, 1);
    await assert.rejects(client.cluster.memberRemove(id), MemberNotFoundError);
  });

  test("downgrade reaches the server; a 3.4 server answers as grpc-go does for a method it does not serve", async () => {
    const { DowngradeRequest_DowngradeAction } = await import("../proto/index.js");
    const { version } = await client.maintenance.status();
    const call = client.maintenance.downgrade(DowngradeRequest_DowngradeAction.VALIDATE, "3.4.0");
    if (version.startsWith("3.4.")) {
      // etcd-ts serves etcd 3.4's API, and etcd 3.4 has no Downgrade: both send grpc-go's text.
      await assert.rejects(call, (e: unknown) => {
        assert.ok(e instanceof EtcdError, String(e));
        assert.equal(e.code, Status.UNIMPLEMENTED);
        assert.equal(e.message, "unknown method Downgrade for service etcdserverpb.Maintenance");
        return true;
      });
    } else {
      await call.catch((e: unknown) => assert.ok(e instanceof EtcdError, String(e)));
    }
  });
});
