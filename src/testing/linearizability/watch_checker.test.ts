// Specifies the watch check: exact delivery of the committed events per range and start revision, prefixes
// for watchers that stopped early, gaps/duplicates/reorders/foreign events reported, unknown writes agreed on.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { EtcdOperation } from "./etcd_types.js";
import { PENDING } from "./model.js";
import { checkWatches, eventsFromHistory, type WatchEvent, type WatchRecord } from "./watch_checker.js";

const put = (revision: bigint, key: string, value: string): WatchEvent => ({
  revision,
  key,
  type: "put",
  value,
});
const del = (revision: bigint, key: string): WatchEvent => ({ revision, key, type: "delete" });

const committed = [put(2n, "a", "1"), put(3n, "b", "1"), del(4n, "a"), put(5n, "a", "2"), put(6n, "c", "1")];
const onA = [put(2n, "a", "1"), del(4n, "a"), put(5n, "a", "2")];

const watcher = (w: Partial<WatchRecord> & { events: WatchEvent[] }): WatchRecord => ({
  id: "w",
  key: "a",
  startRevision: 1n,
  ...w,
});

const cases: { name: string; w: WatchRecord; problem?: RegExp }[] = [
  { name: "exactly the key's events", w: watcher({ events: onA }) },
  { name: "from a later start revision", w: watcher({ startRevision: 4n, events: onA.slice(1) }) },
  {
    name: "a prefix range",
    w: watcher({ key: "a", rangeEnd: "c", events: committed.filter((e) => e.key !== "c") }),
  },
  { name: "every key", w: watcher({ key: "\0", rangeEnd: "\0", events: committed }) },
  { name: "stopped early with a prefix", w: watcher({ stoppedEarly: true, events: onA.slice(0, 2) }) },
  {
    name: "missing the tail",
    w: watcher({ events: onA.slice(0, 2) }),
    problem: /missed the last 1 event\(s\), from put "a"="2" @5/,
  },
  {
    name: "a gap",
    w: watcher({ events: [onA[0]!, onA[2]!] }),
    problem: /event 1: gap, missed 1 event\(s\) from delete "a" @4 before put "a"="2" @5/,
  },
  {
    name: "a gap, even when stopped early",
    w: watcher({ stoppedEarly: true, events: [onA[0]!, onA[2]!] }),
    problem: /gap/,
  },
  {
    name: "a duplicate",
    w: watcher({ events: [onA[0]!, onA[0]!, ...onA.slice(1)] }),
    problem: /event 1: duplicate/,
  },
  {
    name: "out of order",
    w: watcher({ events: [onA[1]!, onA[0]!, onA[2]!] }),
    problem: /event 0: out of order, delete "a" @4 delivered before put "a"="1" @2/,
  },
  {
    name: "a wrong value",
    w: watcher({ events: [onA[0]!, onA[1]!, put(5n, "a", "9")] }),
    problem: /event 2: got put "a"="9" @5, committed was put "a"="2" @5/,
  },
  {
    name: "an event of another key",
    w: watcher({ events: [onA[0]!, put(3n, "b", "1"), ...onA.slice(1)] }),
    problem: /outside the watched range/,
  },
  {
    name: "an event before the start revision",
    w: watcher({ startRevision: 3n, events: onA }),
    problem: /before the start revision/,
  },
  {
    name: "an event after the end",
    w: watcher({ events: [...onA, put(7n, "a", "3")] }),
    problem: /unexpected put "a"="3" @7/,
  },
];

for (const c of cases) {
  test(`watch: ${c.name}`, () => {
    const res = checkWatches(committed, [c.w], { untilRevision: 6n });
    if (!c.problem) assert.deepEqual(res.problems, []);
    else {
      assert.equal(res.ok, false);
      assert.match(res.problems.join("\n"), c.problem);
    }
  });
}

test("watch: a revision missing from the committed events is a write of unknown outcome", () => {
  // Revision 3 was a write whose response was lost; watchers agree it was put b=7.
  const known = [put(2n, "a", "1"), put(4n, "a", "2")];
  const all = watcher({
    id: "all",
    key: "\0",
    rangeEnd: "\0",
    events: [known[0]!, put(3n, "b", "7"), known[1]!],
  });
  const onB = watcher({ id: "b", key: "b", events: [put(3n, "b", "7")] });
  assert.deepEqual(checkWatches(known, [all, onB]).problems, []);
  // A watcher on b that missed it is caught through the other watcher's evidence.
  const missed = watcher({ id: "b2", key: "b", events: [] });
  assert.match(checkWatches(known, [all, missed]).problems.join(), /watcher b2 .* missed the last 1 event/);
  // Watchers that disagree about the unknown write.
  const other = watcher({ id: "b3", key: "b", events: [put(3n, "b", "8")] });
  assert.match(checkWatches(known, [all, other]).problems.join(), /watchers disagree at revision 3/);
});

test("watch: the committed events of a history are its acknowledged writes", () => {
  const op = (
    id: number,
    o: Omit<EtcdOperation, "id" | "clientId" | "call" | "return">,
    ret = 1,
  ): EtcdOperation => ({
    id,
    clientId: 0,
    call: 0,
    return: ret,
    ...o,
  });
  const ops: EtcdOperation[] = [
    op(0, { input: { op: "put", key: "a", value: "1" }, output: { op: "put", revision: 2n } }),
    op(1, { input: { op: "delete", key: "b" }, output: { op: "delete", deleted: 0, revision: 2n } }),
    op(2, { input: { op: "delete", key: "a" }, output: { op: "delete", deleted: 1, revision: 4n } }),
    op(3, {
      input: { op: "cas", key: "a", compare: { target: "mod", modRevision: 0n }, value: "2" },
      output: { op: "cas", succeeded: true, revision: 5n },
    }),
    op(4, { input: { op: "put", key: "x", value: "lost" }, output: undefined }, PENDING),
    op(5, {
      input: {
        op: "txn",
        compares: [],
        success: [
          { op: "put", key: "t", value: "1" },
          { op: "delete", key: "u" },
          { op: "delete", key: "a" },
        ],
        failure: [],
      },
      output: {
        op: "txn",
        succeeded: true,
        revision: 3n,
        results: [{ op: "put" }, { op: "delete", deleted: 0 }, { op: "delete", deleted: 1 }],
      },
    }),
  ];
  assert.deepEqual(eventsFromHistory(ops), [
    put(2n, "a", "1"),
    put(3n, "t", "1"),
    del(3n, "a"),
    del(4n, "a"),
    put(5n, "a", "2"),
  ]);
});
