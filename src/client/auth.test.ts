// Specifies the Auth wrapper and the client's auth option against a real server: users, roles, permissions,
// a token per client, typed auth errors, and re-authentication when the auth revision moves.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Client } from "./client.js";
import {
  AuthFailedError,
  AuthManagementError,
  EtcdError,
  PermissionDeniedError,
  Status,
  UserEmptyError,
} from "./errors.js";
import { str, TestServer, take, within } from "./test_util.js";

const unimplemented = (e: unknown): boolean => e instanceof EtcdError && e.code === Status.UNIMPLEMENTED;

test("auth: users, roles, permissions, clients with credentials, token refresh", async () => {
  const s = await TestServer.start();
  const admin = new Client({ endpoints: [s.endpoint] });
  const clients: Client[] = [admin];
  const login = (username: string, password: string): Client => {
    const c = new Client({ endpoints: [s.endpoint], auth: { username, password } });
    clients.push(c);
    return c;
  };
  try {
    await admin.auth.userAdd("root", "rootpw");
    await admin.auth.roleAdd("root");
    await admin.auth.userGrantRole("root", "root");
    await admin.auth.roleAdd("reader");
    await admin.auth.roleGrantPermission("reader", "read", "pub/", { prefix: true });
    await admin.auth.roleGrantPermission("reader", "readwrite", "alice/", { prefix: true });
    const perms = (await admin.auth.roleGet("reader")).perm;
    assert.deepEqual(perms.map((p) => [p.permType, str(p.key), str(p.rangeEnd)]).sort(), [
      [0, "pub/", "pub0"],
      [2, "alice/", "alice0"],
    ]);
    await admin.auth.userAdd("alice", "alicepw");
    await admin.auth.userGrantRole("alice", "reader");
    assert.deepEqual((await admin.auth.userGet("alice")).roles, ["reader"]);
    assert.deepEqual((await admin.auth.userList()).users.sort(), ["alice", "root"]);
    assert.deepEqual((await admin.auth.roleList()).roles.sort(), ["reader", "root"]);
    await assert.rejects(admin.auth.userAdd("alice", "x"), AuthManagementError);
    await admin.auth.authEnable();

    await assert.rejects(admin.kv.get("pub/x"), UserEmptyError);
    const root = login("root", "rootpw");
    await root.kv.put("pub/x", "1");
    await root.kv.put("secret", "s");
    const alice = login("alice", "alicepw");
    assert.equal(str((await alice.kv.get("pub/x")).kvs[0]!.value), "1");
    await assert.rejects(alice.kv.put("pub/x", "2"), PermissionDeniedError);
    await assert.rejects(alice.kv.get("secret"), PermissionDeniedError);
    await assert.rejects(login("alice", "wrong").kv.get("pub/x"), AuthFailedError);
    const token = await admin.auth.authenticate("alice", "alicepw");
    assert.ok(token.token.length > 0);

    // Watches carry the token; a range without permission is refused with etcd's reason.
    const w = alice.watch.watch("pub/", { prefix: true });
    await within(w.created, "alice's watch");
    await root.kv.put("pub/y", "2");
    assert.equal(str((await take(w[Symbol.asyncIterator](), 1))[0]!.events[0]!.kv?.key), "pub/y");
    const denied = alice.watch.watch("secret");
    await assert.rejects(within(denied.created, "refusal"), (e: unknown) => {
      assert.ok(e instanceof PermissionDeniedError, String(e));
      assert.equal(e.code, Status.PERMISSION_DENIED);
      assert.equal(e.message, "etcdserver: permission denied");
      return true;
    });

    // Changing a password revokes the user's tokens: the next call gets "invalid auth token", and the client
    // authenticates again and retries; a new watcher on the stream opened with the old token reopens it.
    const tokenOf = (c: Client) => (c as unknown as { caller: { token?: string } }).caller.token;
    const before = tokenOf(alice);
    await root.auth.userChangePassword("alice", "alicepw");
    await alice.kv.put("alice/k", "v");
    assert.notEqual(tokenOf(alice), before);
    const w2 = alice.watch.watch("alice/", { prefix: true });
    await within(w2.created, "a watch after the token was revoked");
    await root.kv.put("pub/z", "3");
    const next = await take(w[Symbol.asyncIterator](), 1, "the first watch, on the reopened stream");
    assert.equal(str(next[0]!.events[0]!.kv?.key), "pub/z");
    await root.auth.roleAdd("other");
    await root.auth.userGrantRole("alice", "other");

    await root.auth.roleRevokePermission("reader", "alice/", { prefix: true });
    await root.auth.userRevokeRole("alice", "other");
    await root.auth.roleDelete("other");
    await root.auth.userChangePassword("alice", "newpw");
    assert.equal((await login("alice", "newpw").kv.get("pub/x")).count, 1n);
    await assert.rejects(root.auth.userDelete("root"), AuthManagementError); // root is protected while enabled
    await root.auth.userDelete("alice");
    const status = await root.auth.authStatus().then(
      (r) => r,
      (e: unknown) => (unimplemented(e) ? undefined : Promise.reject(e)),
    );
    // AuthStatus is etcd 3.5+: 3.4 answers Unimplemented; etcd-ts serves it.
    if (status) assert.equal(status.enabled, true);
    await root.auth.authDisable();
    assert.equal((await admin.kv.get("pub/x")).count, 1n);
  } finally {
    for (const c of clients) await c.close();
    await s.dispose();
  }
});
