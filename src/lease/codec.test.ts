// Specifies the lease bucket's encoding: etcd's 8-byte big-endian key and leasepb.Lease bytes.

import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeLease, encodeLease, leaseKey } from "./codec.js";

test("leasepb.Lease{ID: 1, TTL: 10} is 08 01 10 0a, zero fields omitted, as gogoproto writes it", () => {
  assert.equal(encodeLease({ id: 1n, ttl: 10n, remainingTTL: 0n }).toString("hex"), "0801100a");
  assert.equal(encodeLease({ id: 1n, ttl: 10n, remainingTTL: 7n }).toString("hex"), "0801100a1807");
});

test("round trip, including negative IDs (ten-byte varints) and big TTLs", () => {
  for (const r of [
    { id: -7n, ttl: 9_000_000_000n, remainingTTL: 0n },
    { id: (1n << 63n) - 1n, ttl: 2n, remainingTTL: 1n },
  ]) {
    assert.deepEqual(decodeLease(encodeLease(r)), r);
  }
});

test("the key is the ID as 8 big-endian bytes (two's complement)", () => {
  assert.equal(leaseKey(0x694dn).toString("hex"), "000000000000694d");
  assert.equal(leaseKey(-1n).toString("hex"), "ffffffffffffffff");
});
