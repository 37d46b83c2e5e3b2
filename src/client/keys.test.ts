// Specifies the client's key conventions: prefix ends and range options as clientv3 spells them on the wire.
import assert from "node:assert/strict";
import { test } from "node:test";
import { prefixEnd, resolveRange, toBuffer } from "./keys.js";

const hex = (b: Buffer): string => b.toString("hex");

test("prefixEnd increments the last byte below 0xff and drops the rest", () => {
  const cases: Array<[number[], number[]]> = [
    [[0x61], [0x62]],
    [[0x61, 0xff], [0x62]],
    [
      [0x61, 0x62, 0xff, 0xff],
      [0x61, 0x63],
    ],
    [[0xff], [0x00]],
    [[0xff, 0xff], [0x00]],
    [[], [0x00]],
  ];
  for (const [key, end] of cases)
    assert.equal(hex(prefixEnd(Buffer.from(key))), hex(Buffer.from(end)), `key ${key}`);
});

test("range options: prefix, fromKey, rangeEnd, and the empty-key forms", () => {
  assert.deepEqual(resolveRange("a/", { prefix: true }), {
    key: Buffer.from("a/"),
    rangeEnd: Buffer.from("a0"),
  });
  assert.deepEqual(resolveRange("", { prefix: true }), { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
  assert.deepEqual(resolveRange("k", { fromKey: true }), {
    key: Buffer.from("k"),
    rangeEnd: Buffer.from([0]),
  });
  assert.deepEqual(resolveRange("", { fromKey: true }), {
    key: Buffer.from([0]),
    rangeEnd: Buffer.from([0]),
  });
  assert.deepEqual(resolveRange("a", { rangeEnd: "c" }), {
    key: Buffer.from("a"),
    rangeEnd: Buffer.from("c"),
  });
  assert.deepEqual(resolveRange("a"), { key: Buffer.from("a"), rangeEnd: Buffer.alloc(0) });
  assert.throws(() => resolveRange("a", { prefix: true, fromKey: true }), TypeError);
});

test("toBuffer: strings are UTF-8, a Uint8Array is wrapped without copying", () => {
  assert.equal(hex(toBuffer("é")), "c3a9");
  const u = new Uint8Array([1, 2, 3, 4]).subarray(1, 3);
  const b = toBuffer(u);
  assert.equal(hex(b), "0203");
  u[0] = 9;
  assert.equal(b[0], 9);
});
