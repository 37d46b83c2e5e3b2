// Specifies --auto-compaction-retention through a real server process: old revisions become unreadable by themselves.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { etcdctl, hasEtcdctl } from "../testing/etcdctl.js";
import { startServer } from "../testing/server_process.js";

test("periodic auto-compaction compacts away revisions older than the retention", {
  skip: hasEtcdctl() ? false : "etcdctl (Debian etcd-client) is not installed",
}, async () => {
  const s = await startServer({
    extraArgs: ["--auto-compaction-mode=periodic", "--auto-compaction-retention=1s"],
  });
  try {
    assert.equal((await etcdctl(s.endpoint, ["put", "k", "v1"])).code, 0);
    assert.equal((await etcdctl(s.endpoint, ["put", "k", "v2"])).code, 0);
    const deadline = Date.now() + 30_000;
    let last = "";
    for (;;) {
      await etcdctl(s.endpoint, ["put", "tick", "x"]);
      const r = await etcdctl(s.endpoint, ["get", "k", "--rev=2"]);
      last = r.stderr;
      if (/required revision has been compacted/.test(r.stderr)) break;
      assert.ok(Date.now() < deadline, `no auto-compaction within 30 s (last: ${last || r.stdout})`);
      await sleep(200);
    }
    assert.equal((await etcdctl(s.endpoint, ["get", "k", "--print-value-only"])).stdout, "v2\n");
    assert.match(s.logs(), /completed auto periodic compaction/);
  } finally {
    await s.stop();
    s.cleanup();
  }
});
