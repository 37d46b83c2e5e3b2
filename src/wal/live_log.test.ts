// Specifies LiveLog's rules case by case: truncation, compaction, a diverging leader snapshot, and the hole
// that released segments leave.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Indexed, LiveLog, LiveLogError } from "./live_log.js";

type Op = ["e", number, number] | ["m", number, number];
const e = (index: number, term: number): Op => ["e", index, term];
const m = (index: number, term: number): Op => ["m", index, term];

function run(ops: Op[], holeEnd = 0): LiveLog<Indexed> {
  const log = new LiveLog<Indexed>(BigInt(holeEnd));
  for (const [kind, index, term] of ops) {
    if (kind === "e") log.append({ index: BigInt(index), term: BigInt(term) });
    else log.marker(BigInt(index), BigInt(term));
  }
  return log;
}

const shape = (log: LiveLog<Indexed>) => log.entries()?.map((x) => `${x.index}/${x.term}`);

describe("LiveLog", () => {
  const cases: Array<{
    name: string;
    ops: Op[];
    holeEnd?: number;
    want: string[] | undefined;
    last: number;
  }> = [
    { name: "appends", ops: [e(1, 1), e(2, 1), e(3, 2)], want: ["1/1", "2/1", "3/2"], last: 3 },
    { name: "a rewrite truncates", ops: [e(1, 1), e(2, 1), e(3, 1), e(2, 2)], want: ["1/1", "2/2"], last: 2 },
    { name: "a rewrite of the first entry", ops: [e(1, 1), e(2, 1), e(1, 3)], want: ["1/3"], last: 1 },
    { name: "a matching marker compacts", ops: [e(1, 1), e(2, 1), e(3, 1), m(2, 1)], want: ["3/1"], last: 3 },
    {
      name: "a diverging marker drops the log",
      ops: [e(1, 1), e(2, 1), e(3, 1), m(2, 5)],
      want: [],
      last: 2,
    },
    { name: "a marker past the end", ops: [e(1, 1), m(9, 4), e(10, 4)], want: ["10/4"], last: 10 },
    {
      name: "entries at or below the snapshot are ignored",
      ops: [m(5, 1), e(5, 1), e(6, 1)],
      want: ["6/1"],
      last: 6,
    },
    { name: "a hole is unknown, not empty", ops: [e(11, 2)], holeEnd: 10, want: undefined, last: 11 },
    {
      name: "a marker covering the hole fills it",
      ops: [e(11, 2), m(11, 2)],
      holeEnd: 10,
      want: [],
      last: 11,
    },
    {
      name: "a marker inside the hole keeps what follows",
      ops: [e(11, 2), m(7, 9)],
      holeEnd: 10,
      want: undefined,
      last: 11,
    },
    {
      name: "a rewrite inside the hole shrinks it",
      ops: [m(3, 1), e(4, 2)],
      holeEnd: 10,
      want: ["4/2"],
      last: 4,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const log = run(c.ops, c.holeEnd);
      assert.deepEqual(shape(log), c.want);
      assert.equal(log.lastIndex, BigInt(c.last));
    });
  }

  it("names the missing range", () => {
    assert.equal(run([m(4, 1)], 10).missing(), "5..10");
    assert.equal(run([m(10, 1)], 10).missing(), undefined);
  });

  it("rejects what no writer produces", () => {
    assert.throws(() => run([e(1, 1), e(3, 1)]), LiveLogError);
    assert.throws(() => run([m(5, 1), m(4, 1)]), LiveLogError);
    assert.throws(() => run([m(5, 1), m(5, 2)]), LiveLogError);
  });
});
