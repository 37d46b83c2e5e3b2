// Specifies member/cluster ID derivation against IDs printed by a real etcd 3.4.23.
import assert from "node:assert/strict";
import { test } from "node:test";
import { clusterId, idToHex, memberId } from "./ids.js";

test("member and cluster IDs match real etcd for the same peer URL and token", () => {
  // etcd --initial-advertise-peer-urls http://127.0.0.1:23800 (token etcd-cluster) logged
  // local-member-id 2e1259d415f2a040, cluster-id 48276a8f75b6a87.
  const id = memberId(["http://127.0.0.1:23800"], "etcd-cluster");
  assert.equal(idToHex(id), "2e1259d415f2a040");
  assert.equal(idToHex(clusterId([id])), "48276a8f75b6a87");
});

test("member ID does not depend on peer URL order", () => {
  assert.equal(
    memberId(["http://b:2380", "http://a:2380"], "t"),
    memberId(["http://a:2380", "http://b:2380"], "t"),
  );
});
