// Specifies auth across a 3-member cluster: users, roles and the enabled flag replicate through raft; a simple
// token issued by one member is known to every member (the Authenticate entry carries it), and a password
// change on one member revokes the token everywhere.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { AuthClient, KVClient, PutRequest, RangeRequest, WatchClient } from "../proto/index.js";
import { call, TestCluster, waitFor } from "./cluster_test_util.js";

const b = (s: string): Buffer => Buffer.from(s);
const md = (token?: string): Metadata => {
  const m = new Metadata();
  if (token !== undefined) m.set("token", token);
  return m;
};

describe("auth in a 3-member cluster", () => {
  let c: TestCluster;
  let auth: AuthClient[];
  let kv: KVClient[];
  before(async () => {
    c = await TestCluster.start(3, { bcryptCost: 4 });
    const addr = (i: number): string => `127.0.0.1:${c.specs[i]!.clientPort}`;
    auth = [0, 1, 2].map((i) => new AuthClient(addr(i), credentials.createInsecure()));
    kv = [0, 1, 2].map((i) => new KVClient(addr(i), credentials.createInsecure()));
  });
  after(async () => {
    for (const x of [...(auth ?? []), ...(kv ?? [])]) x.close();
    await c?.close();
  });

  test("a user made on one member, a token issued by another, used on the third", async () => {
    const root = (i: number, token?: string) => ({ a: auth[i]!, m: md(token) });
    await call((cb) =>
      root(0).a.userAdd({ name: "root", password: "rootpw", hashedPassword: "" }, root(0).m, cb),
    );
    await call((cb) => root(1).a.userGrantRole({ user: "root", role: "root" }, root(1).m, cb));
    await call((cb) => root(2).a.roleAdd({ name: "reader" }, cb));
    await call((cb) => auth[2]!.authEnable({}, cb));
    const rootTok = (
      await call<{ token: string }>((cb) => auth[1]!.authenticate({ name: "root", password: "rootpw" }, cb))
    ).token;
    assert.match(rootTok, /^[a-zA-Z]{16}\.\d+$/);
    await call((cb) =>
      auth[0]!.userAdd({ name: "alice", password: "alicepw", hashedPassword: "" }, md(rootTok), cb),
    );
    await call((cb) =>
      auth[0]!.roleGrantPermission(
        { name: "reader", perm: { permType: 0, key: b("pub/"), rangeEnd: b("pub0") } },
        md(rootTok),
        cb,
      ),
    );
    await call((cb) => auth[2]!.userGrantRole({ user: "alice", role: "reader" }, md(rootTok), cb));
    await call((cb) =>
      kv[2]!.put(PutRequest.fromPartial({ key: b("pub/a"), value: b("1") }), md(rootTok), cb),
    );

    // Alice authenticates on member 0 and reads on members 1 and 2 with that token.
    const tok = (
      await call<{ token: string }>((cb) => auth[0]!.authenticate({ name: "alice", password: "alicepw" }, cb))
    ).token;
    for (const i of [1, 2]) {
      const r = await call<{ kvs: { value: Buffer }[] }>((cb) =>
        kv[i]!.range(RangeRequest.fromPartial({ key: b("pub/a") }), md(tok), cb),
      );
      assert.equal(r.kvs[0]?.value.toString(), "1", `member ${i}`);
      const denied = await call((cb) =>
        kv[i]!.put(PutRequest.fromPartial({ key: b("pub/a"), value: b("2") }), md(tok), cb),
      ).catch((e: ServiceError) => e);
      assert.equal((denied as ServiceError).code, status.PERMISSION_DENIED);
      assert.equal((denied as ServiceError).details, "etcdserver: permission denied");
    }
    // A watch on member 2 with the same token: allowed on pub/, refused elsewhere with etcd's reason.
    const w = new WatchClient(`127.0.0.1:${c.specs[2]!.clientPort}`, credentials.createInsecure());
    try {
      const stream = w.watch(md(tok));
      const created = new Promise<{ canceled: boolean; cancelReason: string }>((resolve) =>
        stream.once("data", resolve),
      );
      stream.write({
        requestUnion: {
          $case: "createRequest",
          value: {
            key: b("secret"),
            rangeEnd: b(""),
            startRevision: 0n,
            progressNotify: false,
            filters: [],
            prevKv: false,
            watchId: 0n,
            fragment: false,
          },
        },
      });
      const r = await created;
      assert.equal(r.canceled, true);
      assert.equal(r.cancelReason, "rpc error: code = PermissionDenied desc = etcdserver: permission denied");
      stream.on("error", () => undefined); // cancelling reports CANCELLED on the stream
      stream.cancel();
    } finally {
      w.close();
    }

    // Changing the password on member 1 revokes the token on every member.
    await call((cb) =>
      auth[1]!.userChangePassword({ name: "alice", password: "new", hashedPassword: "" }, md(rootTok), cb),
    );
    for (const i of [0, 2]) {
      await waitFor(async () => {
        const e = await call((cb) =>
          kv[i]!.range(RangeRequest.fromPartial({ key: b("pub/a") }), md(tok), cb),
        ).catch((err: ServiceError) => err);
        return (e as ServiceError).code === status.UNAUTHENTICATED;
      }, `member ${i} to forget the revoked token`);
    }
    const users = await call<{ users: string[] }>((cb) => auth[2]!.userList({}, md(rootTok), cb));
    assert.deepEqual(users.users, ["alice", "root"]);
  });
});
