// Specifies the byte formats: revision bucket keys and mvccpb.KeyValue, which must match etcd's exactly.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decodeKey, decodeKeyValue, encodeKeyValue, type KeyValue } from "./kv.js";
import { bytesToRev, compareRev, isTombstone, revToBytes } from "./revision.js";

describe("revision keys", () => {
  test("17 bytes: 8-byte BE main, '_', 8-byte BE sub; tombstones add 't'", () => {
    const k = revToBytes({ main: 2n, sub: 1n });
    assert.equal(k.toString("hex"), "0000000000000002" + "5f" + "0000000000000001");
    const t = revToBytes({ main: 0x0102n, sub: 0n }, true);
    assert.equal(t.toString("hex"), "0000000000000102" + "5f" + "0000000000000000" + "74");
    assert.ok(isTombstone(t) && !isTombstone(k));
    assert.deepEqual(bytesToRev(t), { main: 0x0102n, sub: 0n });
  });

  test("byte order of keys is revision order", () => {
    const r = fc.record({ main: fc.bigInt(0n, 2n ** 62n), sub: fc.bigInt(0n, 2n ** 20n) });
    fc.assert(
      fc.property(r, r, fc.boolean(), (a, c, tomb) => {
        const byBytes = Math.sign(Buffer.compare(revToBytes(a, tomb), revToBytes(c)));
        const byRev = Math.sign(compareRev(a, c));
        return byRev !== 0 ? byBytes === byRev : true;
      }),
    );
  });
});

describe("KeyValue protobuf", () => {
  test("matches etcd's encoding of a simple KeyValue", () => {
    const kv: KeyValue = {
      key: Buffer.from("foo"),
      createRevision: 2n,
      modRevision: 2n,
      version: 1n,
      value: Buffer.from("bar"),
      lease: 0n,
    };
    assert.equal(encodeKeyValue(kv).toString("hex"), "0a03666f6f" + "1002" + "1802" + "2001" + "2a03626172");
  });

  test("omits zero fields; a tombstone record is just the key", () => {
    const kv: KeyValue = {
      key: Buffer.from("k"),
      createRevision: 0n,
      modRevision: 0n,
      version: 0n,
      value: Buffer.alloc(0),
      lease: 0n,
    };
    assert.equal(encodeKeyValue(kv).toString("hex"), "0a016b");
  });

  test("int64 varints: multi-byte and negative (10 bytes)", () => {
    const kv: KeyValue = {
      key: Buffer.from("k"),
      createRevision: 300n,
      modRevision: 2n ** 62n,
      version: 1n,
      value: Buffer.alloc(0),
      lease: -1n,
    };
    const enc = encodeKeyValue(kv);
    assert.ok(enc.toString("hex").includes("10ac02"), "300 = ac 02");
    assert.ok(enc.toString("hex").endsWith("30ffffffffffffffffff01"), "-1 = ten bytes");
    assert.deepEqual(decodeKeyValue(enc), kv);
  });

  test("round-trips any KeyValue; decodeKey agrees", () => {
    const i64 = fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);
    const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
    fc.assert(
      fc.property(
        fc.record({
          key: bytes,
          createRevision: i64,
          modRevision: i64,
          version: i64,
          value: bytes,
          lease: i64,
        }),
        (rec) => {
          const kv: KeyValue = { ...rec };
          const enc = encodeKeyValue(kv);
          assert.deepEqual(decodeKeyValue(enc), kv);
          assert.deepEqual(decodeKey(enc), kv.key);
        },
      ),
    );
  });

  test("skips unknown fields", () => {
    // field 7 varint 5, field 8 bytes "zz", then key "a"
    const buf = Buffer.from("3805" + "42027a7a" + "0a0161", "hex");
    assert.deepEqual(decodeKeyValue(buf).key, Buffer.from("a"));
  });
});
