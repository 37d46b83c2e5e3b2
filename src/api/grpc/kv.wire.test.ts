// Specifies the KV service through the real wire: an etcd-ts server process driven by Debian's etcdctl.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { etcdctl, hasEtcdctl } from "../../testing/etcdctl.js";
import { type ServerProcess, startServer } from "../../testing/server_process.js";

const skip = hasEtcdctl() ? false : "etcdctl (Debian etcd-client) is not installed";

describe("KV over the wire with etcdctl", { skip }, () => {
  let s: ServerProcess;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.stop();
    s.cleanup();
  });

  test("put then get returns the value with etcd's revisions", async () => {
    assert.equal((await etcdctl(s.endpoint, ["put", "k1", "v1"])).stdout, "OK\n");
    const r = await etcdctl(s.endpoint, ["get", "k1", "-w", "json"]);
    const j = JSON.parse(r.stdout);
    assert.equal(j.count, 1);
    assert.equal(Buffer.from(j.kvs[0].key, "base64").toString(), "k1");
    assert.equal(Buffer.from(j.kvs[0].value, "base64").toString(), "v1");
    assert.equal(j.kvs[0].version, 1);
    assert.equal(j.kvs[0].create_revision, j.kvs[0].mod_revision);
    assert.equal(j.header.revision, j.kvs[0].mod_revision);
  });

  test("empty key is refused with etcd's error", async () => {
    const r = await etcdctl(s.endpoint, ["put", "", "v"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /etcdserver: key is not provided/);
  });

  test("delete of a missing key does not bump the revision", async () => {
    const before = JSON.parse((await etcdctl(s.endpoint, ["get", "k1", "-w", "json"])).stdout).header
      .revision;
    assert.equal((await etcdctl(s.endpoint, ["del", "nope"])).stdout, "0\n");
    const afterRev = JSON.parse((await etcdctl(s.endpoint, ["get", "k1", "-w", "json"])).stdout).header
      .revision;
    assert.equal(afterRev, before);
  });

  test("txn in interactive mode takes the success branch on a matching compare", async () => {
    const r = await etcdctl(s.endpoint, ["txn"], 'value("k1") = "v1"\n\nput k2 v2\n\nput k2 other\n\n');
    assert.equal(r.stdout, "SUCCESS\n\nOK\n");
    assert.equal((await etcdctl(s.endpoint, ["get", "k2", "--print-value-only"])).stdout, "v2\n");
  });

  test("compaction makes older revisions unreadable", async () => {
    await etcdctl(s.endpoint, ["put", "c", "1"]);
    const rev = JSON.parse((await etcdctl(s.endpoint, ["put", "c", "2", "-w", "json"])).stdout).header
      .revision;
    assert.equal(
      (await etcdctl(s.endpoint, ["compaction", String(rev)])).stdout,
      `compacted revision ${rev}\n`,
    );
    const r = await etcdctl(s.endpoint, ["get", "c", `--rev=${rev - 1}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /etcdserver: mvcc: required revision has been compacted/);
  });

  test("endpoint status reports this member as leader", async () => {
    const r = await etcdctl(s.endpoint, ["endpoint", "status", "-w", "json"]);
    const [st] = JSON.parse(r.stdout);
    assert.equal(st.Status.leader, st.Status.header.member_id);
    assert.ok(st.Status.raftIndex >= st.Status.raftAppliedIndex);
  });
});

describe("durability across kill -9", { skip }, () => {
  test("an acknowledged write survives SIGKILL with the same revision", async () => {
    const s = await startServer();
    try {
      for (let i = 0; i < 20; i++)
        assert.equal((await etcdctl(s.endpoint, ["put", `d${i}`, `v${i}`])).code, 0);
      const rev = JSON.parse((await etcdctl(s.endpoint, ["get", "d19", "-w", "json"])).stdout).header
        .revision;
      await s.kill();
      const s2 = await startServer({ dataDir: s.dataDir });
      try {
        const j = JSON.parse((await etcdctl(s2.endpoint, ["get", "d", "--prefix", "-w", "json"])).stdout);
        assert.equal(j.count, 20);
        assert.equal(j.header.revision, rev);
      } finally {
        await s2.stop();
      }
    } finally {
      await s.kill();
      s.cleanup();
    }
  });
});
