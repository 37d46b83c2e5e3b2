// Specifies the auth store as etcd 3.4 applies auth requests: errors, root protections, the auth revision,
// persistence in the auth buckets, and the permission checks made with a request's user and revision.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Backend } from "../backend/index.js";
import { Permission_Type, User } from "../proto/index.js";
import { AuthError, type AuthErrorKind } from "./errors.js";
import { AUTH_USERS_BUCKET, AuthStore } from "./store.js";

const b = (s: string) => Buffer.from(s);
let dir: string;
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "etcd-ts-auth-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function open(path = join(dir, `db${++n}`)): { be: Backend; store: AuthStore; path: string } {
  const be = Backend.open({ path });
  return { be, store: new AuthStore(be), path };
}

function fails(kind: AuthErrorKind, fn: () => void): void {
  assert.throws(fn, (e: unknown) => e instanceof AuthError && e.kind === kind);
}

describe("auth store", () => {
  test("users and roles: etcd's errors, sorted roles, revision bumps only on change", async () => {
    const { be, store } = open();
    try {
      be.batch(() => {
        assert.equal(store.revision, 1n); // etcd commits revision 1 when it creates the store
        fails("UserEmpty", () => store.userAdd("", "h", undefined));
        fails("RoleEmpty", () => store.roleAdd(""));
        store.userAdd("u", "$2a$10$x", undefined);
        assert.equal(store.revision, 2n);
        fails("UserAlreadyExist", () => store.userAdd("u", "h", undefined));
        fails("UserNotFound", () => store.userGet("nobody"));
        store.roleAdd("r2");
        store.roleAdd("r1");
        fails("RoleAlreadyExist", () => store.roleAdd("r1"));
        fails("RoleNotFound", () => store.userGrantRole("u", "nope"));
        fails("UserNotFound", () => store.userGrantRole("nobody", "r1"));
        store.userGrantRole("u", "r2");
        store.userGrantRole("u", "r1");
        store.userGrantRole("u", "root"); // the root role needs no role object
        const rev = store.revision;
        store.userGrantRole("u", "r1"); // again: a no-op without a new revision
        assert.equal(store.revision, rev);
        assert.deepEqual(store.userGet("u"), ["r1", "r2", "root"]);
        fails("RoleNotGranted", () => store.userRevokeRole("u", "zz"));
        store.userRevokeRole("u", "r2");
        assert.deepEqual(store.userGet("u"), ["r1", "root"]);
        store.userAdd("a", "h", undefined);
        assert.deepEqual(store.userList(), ["a", "u"]);
        assert.deepEqual(store.roleList(), ["r1", "r2"]);
        store.roleDelete("r1"); // also revoked from every user
        assert.deepEqual(store.userGet("u"), ["root"]);
        fails("RoleNotFound", () => store.roleDelete("r1"));
        store.userDelete("a");
        fails("UserNotFound", () => store.userDelete("a"));
        assert.equal(store.revision, 11n);
      });
    } finally {
      await be.close();
    }
  });

  test("permissions stay sorted by key; a repeated grant updates the type; revoke needs an exact match", async () => {
    const { be, store } = open();
    try {
      be.batch(() => {
        store.roleAdd("r");
        store.roleGrantPermission("r", {
          permType: Permission_Type.READ,
          key: b("pub/"),
          rangeEnd: b("pub0"),
        });
        store.roleGrantPermission("r", { permType: Permission_Type.WRITE, key: b("a"), rangeEnd: b("") });
        store.roleGrantPermission("r", {
          permType: Permission_Type.READWRITE,
          key: b("pub/"),
          rangeEnd: b("pub0"),
        });
        const perms = store.roleGet("r").map((p) => [p.permType, p.key.toString(), p.rangeEnd.toString()]);
        assert.deepEqual(perms, [
          [Permission_Type.WRITE, "a", ""],
          [Permission_Type.READWRITE, "pub/", "pub0"],
        ]);
        fails("PermissionNotGranted", () => store.roleRevokePermission("r", b("pub/"), b("")));
        fails("RoleNotFound", () => store.roleRevokePermission("x", b("a"), b("")));
        fails("PermissionNotGiven", () => store.roleGrantPermission("r", undefined));
        store.roleRevokePermission("r", b("pub/"), b("pub0"));
        assert.equal(store.roleGet("r").length, 1);
      });
    } finally {
      await be.close();
    }
  });

  test("enable needs root with role root; root is protected while enabled; state persists", async () => {
    const { be, store, path } = open();
    be.batch(() => {
      fails("RootUserNotExist", () => store.authEnable());
      store.userAdd("root", "h", undefined);
      fails("RootRoleNotExist", () => store.authEnable());
      store.userGrantRole("root", "root");
      const rev = store.revision;
      store.authEnable();
      store.authEnable(); // enabling again is a no-op
      assert.equal(store.revision, rev, "etcd 3.4 does not bump the revision on enable");
      assert.ok(store.enabled);
      fails("InvalidAuthMgmt", () => store.userDelete("root"));
      fails("InvalidAuthMgmt", () => store.userRevokeRole("root", "root"));
      store.roleAdd("root");
      fails("InvalidAuthMgmt", () => store.roleDelete("root"));
      store.userAdd("np", "", { noPassword: true });
    });
    // The user is stored as etcd stores it: authpb.User under its name.
    const raw = be.bucket(AUTH_USERS_BUCKET).get(b("root"));
    assert.ok(raw);
    assert.deepEqual(User.decode(raw).roles, ["root"]);
    fails("NoPasswordUser", () => store.passwordOf("np"));
    fails("AuthFailed", () => store.passwordOf("nobody"));
    fails("AuthFailed", () => store.checkAuthenticate("np"));
    const rev = store.revision;
    await be.close();

    const be2 = Backend.open({ path });
    try {
      const again = new AuthStore(be2);
      assert.ok(again.enabled);
      assert.equal(again.revision, rev);
      be2.batch(() => again.authDisable());
      assert.ok(!again.enabled);
      assert.equal(again.revision, rev + 1n);
      fails("AuthNotEnabled", () => again.passwordOf("root"));
      fails("AuthNotEnabled", () => again.checkAuthenticate("root"));
      again.isAdminPermitted(undefined); // nothing is checked while auth is off
    } finally {
      await be2.close();
    }
  });

  test("permission checks: empty user, stale revision, root bypass, admin", async () => {
    const { be, store } = open();
    try {
      be.batch(() => {
        store.userAdd("root", "h", undefined);
        store.userGrantRole("root", "root");
        store.roleAdd("r");
        store.roleGrantPermission("r", { permType: Permission_Type.READ, key: b("k"), rangeEnd: b("") });
        store.userAdd("u", "h", undefined);
        store.userGrantRole("u", "r");
        store.authEnable();
      });
      const rev = store.revision;
      const u = { username: "u", revision: rev };
      store.isRangePermitted(u, b("k"), b(""));
      fails("PermissionDenied", () => store.isPutPermitted(u, b("k")));
      fails("PermissionDenied", () => store.isRangePermitted(u, b("k"), b("l")));
      fails("UserEmpty", () => store.isRangePermitted(undefined, b("k"), b("")));
      fails("AuthOldRevision", () =>
        store.isRangePermitted({ username: "u", revision: rev - 1n }, b("k"), b("")),
      );
      fails("PermissionDenied", () =>
        store.isRangePermitted({ username: "gone", revision: rev }, b("k"), b("")),
      );
      store.isPutPermitted({ username: "root", revision: rev }, b("anything"));
      store.isAdminPermitted({ username: "root", revision: 0n });
      fails("PermissionDenied", () => store.isAdminPermitted(u));
      fails("UserNotFound", () => store.isAdminPermitted({ username: "gone", revision: rev }));
      fails("UserEmpty", () => store.isAdminPermitted(undefined));
      // A grant bumps the revision and the cached permissions are rebuilt.
      be.batch(() =>
        store.roleGrantPermission("r", { permType: Permission_Type.READWRITE, key: b("k"), rangeEnd: b("") }),
      );
      store.isPutPermitted({ username: "u", revision: store.revision }, b("k"));
      assert.ok(store.hasRole("u", "r"));
      assert.ok(!store.hasRole("u", "root"));
    } finally {
      await be.close();
    }
  });
});
