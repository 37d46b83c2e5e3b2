// Specifies a key's revision history (etcd's keyIndex): get at a revision, tombstones, compaction, keep, since.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KeyIndex } from "./key_index.js";
import type { Revision } from "./revision.js";

const r = (main: number, sub = 0): Revision => ({ main: BigInt(main), sub: BigInt(sub) });
const revs = (ki: KeyIndex) => ki.generations.map((g) => g.revs.map((x) => `${x.main}.${x.sub}`));

/** put(2) put(4) tomb(6) put(8) put(10) tomb(12) put(14) put(14.1) tomb(16) — etcd's key_index_test fixture. */
function fixture(): KeyIndex {
  const ki = new KeyIndex("foo");
  ki.put(r(2));
  ki.put(r(4));
  ki.tombstone(r(6));
  ki.put(r(8));
  ki.put(r(10));
  ki.tombstone(r(12));
  ki.put(r(14));
  ki.put(r(14, 1));
  ki.tombstone(r(16));
  return ki;
}

describe("KeyIndex", () => {
  test("get: the version live at a revision; absent between generations", () => {
    const ki = fixture();
    const cases: Array<[number, string | undefined]> = [
      // [atRev, "modified created version"]
      [0, undefined],
      [1, undefined],
      [2, "2 2 1"],
      [3, "2 2 1"],
      [4, "4 2 2"],
      [5, "4 2 2"],
      [6, undefined],
      [7, undefined],
      [8, "8 8 1"],
      [11, "10 8 2"],
      [12, undefined],
      [13, undefined],
      [14, "14.1 14 2"],
      [15, "14.1 14 2"],
      [16, undefined],
      [17, undefined],
    ];
    for (const [at, want] of cases) {
      const got = ki.get(BigInt(at));
      const str = got
        ? `${got.modified.main}${got.modified.sub ? `.${got.modified.sub}` : ""} ${got.created.main} ${got.version}`
        : undefined;
      assert.equal(str, want, `at ${at}`);
    }
  });

  test("tombstone only on a live key; put after tombstone starts a new generation at version 1", () => {
    const ki = new KeyIndex("k");
    ki.put(r(2));
    assert.equal(ki.tombstone(r(3)), true);
    assert.equal(ki.tombstone(r(4)), false);
    ki.put(r(5));
    assert.deepEqual(ki.get(5n), { modified: r(5), created: r(5), version: 1n });
    assert.throws(() => ki.put(r(5)), /not after/);
  });

  test("compact keeps the latest revision <= n unless it is a tombstone", () => {
    const cases: Array<[number, string[][], string | undefined]> = [
      [1, [["2.0", "4.0", "6.0"], ["8.0", "10.0", "12.0"], ["14.0", "14.1", "16.0"], []], undefined],
      [2, [["2.0", "4.0", "6.0"], ["8.0", "10.0", "12.0"], ["14.0", "14.1", "16.0"], []], "2.0"],
      [5, [["4.0", "6.0"], ["8.0", "10.0", "12.0"], ["14.0", "14.1", "16.0"], []], "4.0"],
      [6, [["8.0", "10.0", "12.0"], ["14.0", "14.1", "16.0"], []], undefined],
      [7, [["8.0", "10.0", "12.0"], ["14.0", "14.1", "16.0"], []], undefined],
      [11, [["10.0", "12.0"], ["14.0", "14.1", "16.0"], []], "10.0"],
      [12, [["14.0", "14.1", "16.0"], []], undefined],
      [14, [["14.1", "16.0"], []], "14.1"],
      [15, [["14.1", "16.0"], []], "14.1"],
      [16, [[]], undefined],
      [17, [[]], undefined],
    ];
    for (const [at, want, kept] of cases) {
      const ki = fixture();
      const keep = ki.keep(BigInt(at));
      const k = ki.compact(BigInt(at));
      assert.deepEqual(revs(ki), want, `compact(${at})`);
      const str = (x: Revision | undefined) => (x ? `${x.main}.${x.sub}` : undefined);
      assert.equal(str(k), kept, `kept at ${at}`);
      assert.equal(str(keep), kept, `keep(${at})`);
      assert.equal(ki.isEmpty(), at >= 16);
    }
  });

  test("compaction preserves what later revisions read", () => {
    for (let at = 1; at <= 17; at++) {
      const ki = fixture();
      const before = [];
      for (let q = at; q <= 18; q++) before.push(ki.get(BigInt(q)));
      if (!ki.isEmpty()) ki.compact(BigInt(at));
      const after = [];
      for (let q = at; q <= 18; q++) after.push(ki.isEmpty() ? undefined : ki.get(BigInt(q)));
      assert.deepEqual(after, before, `compact(${at})`);
    }
  });

  test("since: revisions from a main revision, last sub per main", () => {
    const ki = fixture();
    const str = (rs: Revision[]) => rs.map((x) => `${x.main}.${x.sub}`);
    assert.deepEqual(str(ki.since(13n)), ["14.1", "16.0"]);
    assert.deepEqual(str(ki.since(9n)), ["10.0", "12.0", "14.1", "16.0"]);
    assert.deepEqual(str(ki.since(1n)).length, 8);
  });

  test("hasRevision", () => {
    const ki = fixture();
    assert.ok(
      ki.hasRevision(r(14, 1)) && ki.hasRevision(r(6)) && !ki.hasRevision(r(7)) && !ki.hasRevision(r(14, 2)),
    );
    ki.compact(10n);
    assert.ok(ki.hasRevision(r(10)) && !ki.hasRevision(r(8)));
  });
});
