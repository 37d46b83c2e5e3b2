import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Entry, type Message, msg } from "../raft/types.js";
import { coalesceAppends } from "./coalesce_appends.js";
import { MAX_SIZE_PER_MSG } from "./raft_node.js";

const ent = (index: bigint, term = 2n, size = 8): Entry => ({
  index,
  term,
  type: "Normal",
  data: new Uint8Array(size),
});
const app = (
  to: bigint,
  index: bigint,
  logTerm: bigint,
  entries: Entry[],
  commit: bigint,
  term = 2n,
): Message => msg({ type: "MsgApp", from: 1n, to, term, index, logTerm, entries, commit });
const indexes = (m: Message): bigint[] => m.entries.map((e) => e.index);

describe("coalesceAppends", () => {
  it("merges contiguous MsgApp per peer, keeping each peer's order and the latest commit", () => {
    const out = coalesceAppends([
      app(2n, 10n, 2n, [ent(11n)], 9n),
      app(3n, 10n, 2n, [ent(11n)], 9n),
      app(2n, 11n, 2n, [ent(12n)], 10n),
      app(3n, 11n, 2n, [ent(12n)], 10n),
      app(2n, 12n, 2n, [], 11n),
    ]);
    assert.equal(out.length, 2);
    assert.deepEqual(
      out.map((m) => [m.to, m.index, m.logTerm, indexes(m), m.commit]),
      [
        [2n, 10n, 2n, [11n, 12n], 11n],
        [3n, 10n, 2n, [11n, 12n], 10n],
      ],
    );
  });

  it("does not merge across a gap, a term change, a mismatched logTerm or another message type", () => {
    const hb = msg({ type: "MsgHeartbeat", from: 1n, to: 2n, term: 2n, commit: 9n });
    const cases: [string, Message[]][] = [
      ["gap", [app(2n, 10n, 2n, [ent(11n)], 9n), app(2n, 12n, 2n, [ent(13n)], 9n)]],
      ["term", [app(2n, 10n, 2n, [ent(11n)], 9n), app(2n, 11n, 2n, [ent(12n, 3n)], 9n, 3n)]],
      ["logTerm", [app(2n, 10n, 2n, [ent(11n)], 9n), app(2n, 11n, 1n, [ent(12n)], 9n)]],
      ["heartbeat between", [app(2n, 10n, 2n, [ent(11n)], 9n), hb, app(2n, 11n, 2n, [ent(12n)], 9n)]],
    ];
    for (const [name, input] of cases) assert.deepEqual(coalesceAppends(input), input, name);
  });

  it("keeps a merged MsgApp within MAX_SIZE_PER_MSG", () => {
    const big = MAX_SIZE_PER_MSG / 2;
    const out = coalesceAppends([
      app(2n, 10n, 2n, [ent(11n, 2n, big)], 9n),
      app(2n, 11n, 2n, [ent(12n, 2n, big)], 9n),
      app(2n, 12n, 2n, [ent(13n, 2n, 8)], 9n),
    ]);
    assert.deepEqual(out.map(indexes), [[11n], [12n, 13n]]);
  });

  it("does not mutate its input", () => {
    const a = app(2n, 10n, 2n, [ent(11n)], 9n);
    coalesceAppends([a, app(2n, 11n, 2n, [ent(12n)], 10n)]);
    assert.deepEqual(indexes(a), [11n]);
    assert.equal(a.commit, 9n);
  });
});
