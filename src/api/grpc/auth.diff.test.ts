// Proves the Auth service and auth enforcement against a real etcd 3.4: the same etcdctl user/role/auth sequence
// runs against /usr/bin/etcd and etcd-ts and must print the same thing, byte for byte, once cluster ID, member
// ID and raft term are normalized (revisions included: both servers start fresh).
import { after, before, describe, test } from "node:test";
import {
  assertSameCtl,
  type CtlStep,
  ctlOutcome,
  hasEtcd,
  type Pair,
  startPair,
} from "../../testing/differential.js";
import { type CtlResult, hasEtcdctl } from "../../testing/etcdctl.js";

const skip = !hasEtcdctl()
  ? "etcdctl (Debian etcd-client) is not installed"
  : !hasEtcd()
    ? "no real etcd at /usr/bin/etcd (Debian etcd-server) to compare with"
    : false;

/** etcdctl's outcome with the member's address (which some errors print) left out. */
function outcome(r: CtlResult, args: string[]): ReturnType<typeof ctlOutcome> {
  const o = ctlOutcome(r, args);
  const port = (t: string): string => t.replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT");
  return { ...o, stdout: port(o.stdout), stderr: port(o.stderr) };
}

const ROOT = ["--user", "root:rootpw"];
const ALICE = ["--user", "alice:alicepw"];

describe("etcdctl user/role/auth against real etcd 3.4 and etcd-ts: identical output", { skip }, () => {
  let pair: Pair;
  before(async () => {
    // The lowest bcrypt cost keeps the test quick; both servers get it.
    pair = await startPair(["--bcrypt-cost", "4"]);
  });
  after(async () => {
    await pair?.stop();
  });

  const same = (steps: CtlStep[]): Promise<void> => assertSameCtl(pair, steps, outcome);

  test("users and roles while auth is off, and their errors", () =>
    same([
      ["user", "add", "root:rootpw"],
      ["user", "add", "root:again"],
      ["user", "add", "alice:alicepw", "-w", "json"],
      ["user", "add", "--no-password", "nopw"],
      ["user", "list"],
      ["user", "list", "-w", "json"],
      ["user", "get", "nobody"],
      ["role", "add", "reader"],
      ["role", "add", "reader"],
      ["role", "add", "writer", "-w", "json"],
      ["role", "list", "-w", "json"],
      ["role", "grant-permission", "--prefix", "reader", "read", "pub/"],
      ["role", "grant-permission", "reader", "readwrite", "alice/", "alice0"],
      ["role", "grant-permission", "reader", "write", "w"],
      ["role", "grant-permission", "reader", "read", "w"],
      ["role", "grant-permission", "--from-key", "writer", "write", "z"],
      ["role", "grant-permission", "nope", "read", "k"],
      ["role", "get", "reader"],
      ["role", "get", "reader", "-w", "json"],
      ["role", "get", "writer", "-w", "json"],
      ["role", "get", "nope"],
      ["role", "revoke-permission", "reader", "nothing"],
      ["role", "revoke-permission", "writer", "z"],
      ["role", "revoke-permission", "writer", "z", "--from-key"],
      ["user", "grant-role", "alice", "reader"],
      ["user", "grant-role", "alice", "reader"],
      ["user", "grant-role", "alice", "nope"],
      ["user", "grant-role", "nobody", "reader"],
      ["user", "grant-role", "alice", "writer"],
      ["user", "get", "alice"],
      ["user", "get", "alice", "--detail"],
      ["user", "get", "alice", "-w", "json"],
      ["user", "revoke-role", "alice", "nope"],
      ["user", "revoke-role", "alice", "writer"],
      ["role", "delete", "writer"],
      ["role", "delete", "writer"],
      ["user", "delete", "nopw"],
      ["user", "delete", "nopw"],
      ["get", "anything", "-w", "json"],
    ]));

  test("enabling auth: root user and role checks, then enforcement", () =>
    same([
      ["auth", "enable"],
      ["user", "grant-role", "root", "root"],
      ["auth", "enable"],
      ["get", "pub/a"],
      ["put", "pub/a", "1"],
      ["user", "list"],
      [...ROOT, "put", "pub/a", "1", "-w", "json"],
      [...ROOT, "put", "secret", "s"],
      [...ROOT, "put", "alice/x", "ax"],
      [...ROOT, "get", "--prefix", "", "-w", "json"],
      [...ROOT, "user", "list", "-w", "json"],
      [...ROOT, "role", "list"],
      [...ROOT, "auth", "enable"],
      ["--user", "root:wrong", "get", "pub/a"],
      ["--user", "nobody:pw", "get", "pub/a"],
      [...ALICE, "get", "pub/a", "-w", "json"],
      [...ALICE, "get", "--prefix", "pub/", "-w", "json"],
      [...ALICE, "get", "pub/a", "pub/z"],
      [...ALICE, "get", "secret"],
      [...ALICE, "get", "--prefix", ""],
      [...ALICE, "put", "pub/a", "2"],
      [...ALICE, "put", "alice/y", "ay", "-w", "json"],
      [...ALICE, "put", "alice/y", "ay2", "--prev-kv"],
      [...ALICE, "del", "alice/y", "--prev-kv", "-w", "json"],
      [...ALICE, "del", "--prefix", "alice/"],
      [...ALICE, "del", "secret"],
      [...ALICE, "put", "w", "v"],
      [...ALICE, "get", "w", "-w", "json"],
      [...ALICE, "user", "get", "alice"],
      [...ALICE, "user", "get", "root"],
      [...ALICE, "role", "get", "reader"],
      [...ALICE, "role", "get", "root"],
      [...ALICE, "user", "list"],
      [...ALICE, "role", "add", "x"],
      [...ALICE, "auth", "disable"],
      [...ALICE, "compaction", "1"],
      [...ALICE, "alarm", "list"],
      [...ALICE, "defrag"],
      [...ALICE, "endpoint", "hashkv"],
      [...ALICE, "member", "add", "m2", "--peer-urls=http://127.0.0.1:1"],
      [...ALICE, "watch", "secret"],
      [...ALICE, "lock", "pub/lock", "echo", "locked"],
      [...ALICE, "lock", "alice/lock", "echo", "locked"],
      ["lock", "alice/lock", "echo", "locked"],
    ]));

  test("transactions: compares need read, every op its own permission", () =>
    same([
      { args: [...ALICE, "txn"], input: 'value("pub/a") = "1"\n\nput alice/t v\n\nget secret\n\n' },
      { args: [...ALICE, "txn"], input: 'value("secret") = "s"\n\nput alice/t v\n\n\n' },
      { args: [...ALICE, "txn"], input: "\nget pub/a\nput pub/b x\n\n\n" },
      { args: [...ALICE, "txn", "-w", "json"], input: "\nget pub/a\nget alice/t\n\n\n" },
    ]));

  test("root protections, password changes, auth disable", () =>
    same([
      [...ROOT, "user", "delete", "root"],
      [...ROOT, "user", "revoke-role", "root", "root"],
      [...ROOT, "role", "add", "root"],
      [...ROOT, "role", "delete", "root"],
      [...ROOT, "role", "get", "root", "-w", "json"],
      { args: [...ROOT, "user", "passwd", "alice", "--interactive=false"], input: "newpw\n" },
      [...ALICE, "get", "pub/a"],
      ["--user", "alice:newpw", "get", "pub/a", "-w", "json"],
      [...ROOT, "role", "delete", "reader"],
      ["--user", "alice:newpw", "get", "pub/a"],
      [...ROOT, "user", "delete", "alice", "-w", "json"],
      [...ROOT, "auth", "disable"],
      ["auth", "disable"],
      ["get", "secret", "-w", "json"],
      ["--user", "root:wrong", "get", "secret", "-w", "json"],
      ["user", "delete", "root"],
      ["role", "delete", "root"],
      ["user", "list", "-w", "json"],
    ]));
});
