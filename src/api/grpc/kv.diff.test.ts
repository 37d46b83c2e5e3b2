// Proves the KV service against a real etcd 3.4: the same etcdctl command sequences run against /usr/bin/etcd and
// etcd-ts must print the same thing, byte for byte, once cluster ID, member ID and raft term are normalized.
// Both servers start fresh, so revisions must match too (the first write of each gets revision 2).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  assertSameCtl,
  type CtlStep,
  hasEtcd,
  jsonShape,
  type Pair,
  startPair,
} from "../../testing/differential.js";
import { etcdctl, hasEtcdctl } from "../../testing/etcdctl.js";

const skip = !hasEtcdctl()
  ? "etcdctl (Debian etcd-client) is not installed"
  : !hasEtcd()
    ? "no real etcd at /usr/bin/etcd (Debian etcd-server) to compare with"
    : false;

/** A txn as `etcdctl txn` reads it: compares, blank line, success ops, blank line, failure ops, blank line. */
const txn = (compares: string[], success: string[], failure: string[], ...flags: string[]): CtlStep => ({
  args: ["txn", ...flags],
  input: `${[compares, success, failure].map((lines) => lines.map((l) => `${l}\n`).join("")).join("\n")}\n`,
});

describe("etcdctl against real etcd 3.4 and etcd-ts: identical output", { skip }, () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair();
  });
  after(async () => {
    await pair?.stop();
  });

  const same = (steps: CtlStep[]): Promise<void> => assertSameCtl(pair, steps);

  test("a fresh store: nothing there at revision 1, the first put makes revision 2", () =>
    same([
      ["get", "p/a", "-w", "json"],
      ["put", "p/a", "1", "-w", "json"],
      ["get", "p/a", "-w", "json"],
    ]));

  test("put with every flag, and its errors", () =>
    same([
      ["put", "p/b", "2"],
      ["put", "p/c", "3", "-w", "fields"],
      ["put", "p/a", "11", "--prev-kv"],
      ["put", "p/a", "12", "--prev-kv", "-w", "json"],
      ["put", "p/a", "13", "--prev-kv", "-w", "fields"],
      ["put", "p/new", "n", "--prev-kv", "-w", "json"],
      ["put", "p/a", "--ignore-value", "--prev-kv", "-w", "json"],
      ["put", "p/a", "v", "--ignore-lease", "--prev-kv"],
      ["put", "p/a", "x", "--ignore-value"],
      ["put", "p/absent", "--ignore-value"],
      ["put", "p/absent", "v", "--ignore-lease"],
      ["put", "p/a", "v", "--lease", "1234abcd"],
      ["put", "p/a", "v", "--lease", "1234abcd", "--ignore-lease"],
      ["put", "", "v"],
      ["put", "p/dash", "--", "-starts-with-dash"],
      { args: ["put", "p/stdin"], input: "from stdin" },
      ["put", "p/empty", ""],
      ["put", "--hex", "p/hex", "v"],
      ["put", "p/d", "0", "-w", "protobuf"],
      ["get", "p/", "--prefix", "-w", "json"],
    ]));

  test("get: single keys, ranges [key, end), --prefix, --from-key, --limit, --rev", () =>
    same([
      ["get", "p/a"],
      ["get", "p/missing"],
      ["get", "p/missing", "-w", "json"],
      ["get", "p/missing", "-w", "fields"],
      ["get", ""],
      ["get", "p/", "--prefix"],
      ["get", "p/a", "p/c"],
      ["get", "p/c", "p/a"],
      ["get", "p/b", "--from-key"],
      ["get", "", "--from-key", "--keys-only"],
      ["get", "p/", "--prefix", "--limit", "2", "-w", "json"],
      ["get", "p/", "--prefix", "--limit", "2", "-w", "fields"],
      ["get", "p/", "--prefix", "--limit", "100", "-w", "json"],
      ["get", "p/", "--prefix", "--rev", "3", "-w", "json"],
      ["get", "p/a", "--rev", "2"],
      ["get", "p/a", "--rev", "1", "-w", "json"],
      ["get", "p/a", "--rev", "10000"],
      ["get", "p/a", "--rev", "-1", "-w", "json"],
    ]));

  test("get: --sort-by every target with each --order, --keys-only, --print-value-only", () => {
    const steps: CtlStep[] = [];
    for (const target of ["CREATE", "KEY", "MODIFY", "VALUE", "VERSION"]) {
      steps.push(["get", "p/", "--prefix", "--sort-by", target]);
      for (const order of ["ASCEND", "DESCEND"]) {
        steps.push(["get", "p/", "--prefix", "--sort-by", target, "--order", order, "--keys-only"]);
        steps.push([
          "get",
          "p/",
          "--prefix",
          "--sort-by",
          target,
          "--order",
          order,
          "--limit",
          "3",
          "-w",
          "json",
        ]);
      }
    }
    steps.push(
      ["get", "p/", "--prefix", "--order", "DESCEND"],
      ["get", "p/", "--prefix", "--order", "DESCEND", "--limit", "2", "-w", "json"],
      ["get", "p/", "--prefix", "--order", "ASCEND", "--limit", "2", "-w", "json"],
      ["get", "p/", "--prefix", "--sort-by", "BOGUS"],
      ["get", "p/", "--prefix", "--order", "SIDEWAYS"],
      ["get", "p/", "--prefix", "--keys-only"],
      ["get", "p/", "--prefix", "--keys-only", "-w", "json"],
      ["get", "p/", "--prefix", "--print-value-only"],
      ["get", "p/", "--prefix", "--print-value-only", "--hex"],
    );
    return same(steps);
  });

  test("get: --consistency, output formats and --hex", () =>
    same([
      ["get", "p/", "--prefix", "--consistency=s", "-w", "json"],
      ["get", "p/", "--prefix", "--consistency=l", "-w", "json"],
      ["get", "p/", "--prefix", "--consistency=x"],
      ["get", "p/", "--prefix", "-w", "simple"],
      ["get", "p/", "--prefix", "-w", "fields"],
      ["get", "p/", "--prefix", "-w", "protobuf"],
      ["get", "p/", "--prefix", "-w", "table"],
      ["get", "p/", "--prefix", "--hex"],
      ["get", "p/", "--prefix", "--hex", "-w", "json"],
      ["get", "p/", "--prefix", "--hex", "-w", "fields"],
      ["get", "p/", "--prefix", "--keys-only", "-w", "fields"],
    ]));

  test("del: missing keys, --prev-kv, --prefix, --from-key, ranges [key, end)", () =>
    same([
      ["put", "d/a", "1"],
      ["put", "d/b", "2"],
      ["put", "d/c", "3"],
      ["put", "d/d", "4"],
      ["put", "d/e", "5"],
      ["put", "dz/x", "6"],
      ["del", "d/none"],
      ["del", "d/none", "-w", "json"],
      ["del", ""],
      ["del", "d/a", "--prev-kv"],
      ["del", "d/b", "d/d", "--prev-kv", "-w", "json"],
      ["del", "d/d", "d/b"],
      ["put", "d/b", "again"],
      ["del", "d/", "--prefix", "--prev-kv", "-w", "fields"],
      ["get", "d", "--from-key", "-w", "json"],
      ["put", "d/f", "6", "-w", "protobuf"],
      ["del", "dz", "--from-key", "-w", "protobuf"],
      ["get", "d", "--from-key", "-w", "json"],
    ]));

  test("txn: compares on version, create, mod and value with = != < >, both branches", () =>
    same([
      ["put", "t/k1", "v1"],
      ["put", "t/k2", "v2"],
      ["put", "t/k1", "v1b"],
      txn(['value("t/k1") = "v1b"'], ["put t/k3 v3", "get t/k1"], ["put t/k4 v4"]),
      txn(
        ['value("t/k1") = "nope"'],
        ["put t/k3 v3"],
        ["put t/k4 v4", "get t/k4", "del t/k2 --prev-kv"],
        "-w",
        "json",
      ),
      txn(['version("t/k1") = "2"', 'mod("t/k1") > "2"', 'create("t/k1") < "10"'], ["get t/ --prefix"], []),
      txn(['version("t/k1") != "2"'], ["put t/x 1"], ["put t/y 2 --prev-kv"]),
      txn(
        ['ver("t/k1") > "0"', 'c("t/k1") > "0"', 'm("t/k1") != "0"', 'val("t/k1") > "a"'],
        ["put t/z 1"],
        [],
      ),
      txn(['val("t/k1") < "a"'], ["put t/z 2"], ["get t/z"]),
      txn(
        ['create("t/absent") = "0"', 'version("t/absent") = "0"', 'mod("t/absent") = "0"'],
        ["put t/absent c"],
        [],
      ),
      txn(['value("t/missing") = ""'], ["put t/never x"], ["get t/never"]),
      txn(['mod("t/k1") < "1"'], [], ["get t/k1 --keys-only"]),
      txn([], [], []),
      txn([], ["get t/ --prefix --limit 1 --rev 3"], [], "-w", "json"),
      txn([], ["get t/k1"], [], "--hex"),
      txn(['value("t/k1") = "v1b"'], ["put t/k3 v3b", "get t/k3"], [], "-i"),
    ]));

  test("txn: sub-response revisions inside a write, and -w fields/json/protobuf", () =>
    same([
      txn([], ["get t/k1", "put t/k5 v --prev-kv", "get t/k5", "del t/none"], [], "-w", "fields"),
      txn([], ["del t/none", "get t/k1", "put t/k6 v"], [], "-w", "json"),
      txn([], ["get t/k1", "del t/k6 --prev-kv"], [], "-w", "protobuf"),
      txn([], ["del t/none"], [], "-w", "json"),
      txn(['value("t/k1") = "v1b"'], ["get t/k1"], [], "-w", "simple"),
    ]));

  test("txn errors: duplicate keys, ignore flags, leases, revisions, bad input", () =>
    same([
      txn([], ["put t/dup 1", "put t/dup 2"], []),
      txn([], ["del t/ --prefix", "put t/k1 x"], []),
      txn([], ["del t/a t/z", "put t/q x"], []),
      txn([], ["put t/q x", "del t/a t/z"], []),
      txn([], ["del t/a t/z", "del t/k1"], ["put t/dup 1", "put t/dup 1"]),
      txn([], ["put t/k9 1", "del t/k --from-key"], []),
      txn([], ["put t/q 1"], ["put t/q 2"]),
      txn([], ["get t/k1 --rev 100000"], []),
      txn([], ["put t/q 3", "get t/k1 --rev 100000"], []),
      txn([], ["put t/absent2 --ignore-value"], []),
      txn([], ["put t/absent2 v --ignore-lease"], []),
      txn([], ["put t/q 1 --lease 123"], []),
      txn([], ["put '' x"], []),
      txn(['value("") = "x"'], [], []),
      txn([], ["watch t/k1"], []),
      ["get", "t/", "--prefix", "-w", "json"],
    ]));

  test("compaction: --physical, twice, older, future, then reads around the compact revision", () =>
    same([
      ["put", "c/a", "1"],
      ["put", "c/a", "2"],
      ["put", "c/a", "3"],
      ["compaction", "5"],
      ["compaction", "5"],
      ["compaction", "4"],
      ["compaction", "100000"],
      ["compaction", "0"],
      ["compaction", "x"],
      ["compaction", "7", "--physical"],
      ["compaction", "8", "-w", "json"],
      ["compaction", "9", "-w", "fields"],
      ["get", "c/a", "--rev", "8"],
      ["get", "c/a", "--rev", "9", "-w", "json"],
      ["get", "p/", "--prefix", "--rev", "9", "-w", "json"],
      ["get", "c/a", "-w", "json"],
      txn([], ["get c/a --rev 8"], []),
      txn([], ["get c/a --rev 9"], [], "-w", "json"),
      ["endpoint", "hashkv", "-w", "fields"],
    ]));

  test("endpoint status and member list: the same JSON shape, same version and revision", async () => {
    for (const args of [
      ["endpoint", "status", "-w", "json"],
      ["member", "list", "-w", "json"],
    ]) {
      const [want, got] = await Promise.all([
        etcdctl(pair.etcd.endpoint, args),
        etcdctl(pair.ours.endpoint, args),
      ]);
      assert.equal(got.code, want.code);
      const [w, g] = [JSON.parse(want.stdout), JSON.parse(got.stdout)];
      assert.deepEqual(jsonShape(g), jsonShape(w), args.join(" "));
      if (args[0] === "endpoint") {
        // The same requests took the same raft log entries (refused ones too, when etcd refuses them at apply).
        for (const k of ["version", "raftIndex", "raftAppliedIndex"])
          assert.equal(g[0].Status[k], w[0].Status[k], k);
        assert.equal(g[0].Status.header.revision, w[0].Status.header.revision);
      }
    }
    const fields = ["endpoint", "status", "-w", "fields"];
    const [want, got] = await Promise.all([
      etcdctl(pair.etcd.endpoint, fields),
      etcdctl(pair.ours.endpoint, fields),
    ]);
    const names = (s: string) => s.split("\n").map((l) => l.split(" : ")[0]);
    assert.deepEqual(names(got.stdout), names(want.stdout));
  });

  test("sort ties among more than 12 keys come out in Go's pdqsort order", () => {
    const steps: CtlStep[] = [];
    for (let i = 0; i < 20; i++) steps.push(["put", `s/${String(i).padStart(2, "0")}`, `v${i % 3}`]);
    for (const target of ["VALUE", "VERSION"]) {
      for (const order of ["ASCEND", "DESCEND"])
        steps.push(["get", "s/", "--prefix", "--sort-by", target, "--order", order, "--keys-only"]);
    }
    return same(steps);
  });

  test("alarm list and disarm: etcd answers without a header", () =>
    same([
      ["alarm", "list", "-w", "json"],
      ["alarm", "disarm", "-w", "json"],
      ["alarm", "list"],
    ]));
});
