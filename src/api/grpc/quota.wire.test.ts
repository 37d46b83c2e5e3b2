// Specifies the backend quota and the NOSPACE alarm over the wire (etcdctl), as etcd 3.4 behaves.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { etcdctl, hasEtcdctl } from "../../testing/etcdctl.js";
import { type ServerProcess, startServer } from "../../testing/server_process.js";

const skip = hasEtcdctl() ? false : "etcdctl (Debian etcd-client) is not installed";
const BIG = "x".repeat(20_000);

describe("--quota-backend-bytes and the NOSPACE alarm", { skip }, () => {
  let s: ServerProcess;
  before(async () => {
    s = await startServer({ extraArgs: ["--quota-backend-bytes=300000"] });
  });
  after(async () => {
    await s.stop();
    s.cleanup();
  });

  test("writes past the quota raise NOSPACE; reads and deletes still work; disarm clears it", async () => {
    let err = "";
    for (let i = 0; i < 200 && err === ""; i++) {
      const r = await etcdctl(s.endpoint, ["put", `k${i}`, BIG]);
      if (r.code !== 0) err = r.stderr;
    }
    assert.match(err, /etcdserver: mvcc: database space exceeded/);
    // JSON.parse would round the 64-bit ID: take it from `member list` (hex) instead.
    const memberId = BigInt(`0x${(await etcdctl(s.endpoint, ["member", "list"])).stdout.split(",")[0]}`);
    const status = JSON.parse((await etcdctl(s.endpoint, ["endpoint", "status", "-w", "json"])).stdout)[0]
      .Status;
    // etcd prints the alarm in gogoproto's text form, trailing space included.
    assert.equal(
      (await etcdctl(s.endpoint, ["alarm", "list"])).stdout,
      `memberID:${memberId} alarm:NOSPACE \n`,
    );
    assert.deepEqual(status.errors, [`memberID:${memberId} alarm:NOSPACE `]);
    // The alarm is cluster-wide state: even a tiny put is refused now.
    const small = await etcdctl(s.endpoint, ["put", "tiny", "v"]);
    assert.match(small.stderr, /etcdserver: mvcc: database space exceeded/);
    assert.equal((await etcdctl(s.endpoint, ["get", "k0", "--keys-only"])).stdout, "k0\n\n");
    assert.equal((await etcdctl(s.endpoint, ["del", "k0"])).stdout, "1\n");
    assert.equal(
      (await etcdctl(s.endpoint, ["alarm", "disarm"])).stdout,
      `memberID:${memberId} alarm:NOSPACE \n`,
    );
    assert.equal((await etcdctl(s.endpoint, ["alarm", "list"])).stdout, "");
  });
});
