// Property test: random writes, compactions, watchers, cancels, progress requests and slow consumers on a
// real store. Each watcher's stream must be exactly the history the store committed (from its start
// revision, in its range, through its filters, with correct prev_kv), or a prefix of it ended by a compaction
// cancel at a revision it had not reached; no revision is split; a progress response never overtakes events.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { Event, KeyValue } from "./kv.js";
import { TempStore } from "./test_util.js";
import { Consumer, turns } from "./watch_test_util.js";
import { WatchableStore } from "./watchable_store.js";
import type { WatchEvent, WatchResponse } from "./watcher.js";

const KEYS = ["a", "ab", "b", "c"];
const RANGES: Array<[string, string | undefined]> = [
  ["a", undefined],
  ["b", undefined],
  ["a", "b"],
  ["b", "\0"],
  ["", "\0"],
  ["ab", "c"],
];
const STREAMS = 3;

type Op =
  | { t: "txn"; ops: Array<{ del: boolean; k: string; v: string }> }
  | { t: "compact"; back: number }
  | { t: "watch"; s: number; r: number; start: number; noPut: boolean; noDelete: boolean; prevKv: boolean }
  | { t: "cancel"; s: number; pick: number }
  | { t: "capacity"; s: number; cap: number }
  | { t: "drain"; s: number }
  | { t: "progress"; s: number }
  | { t: "turns"; n: number };

const stream = fc.integer({ min: 0, max: STREAMS - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant("txn" as const),
      ops: fc.uniqueArray(
        fc.record({ del: fc.boolean(), k: fc.constantFrom(...KEYS), v: fc.string({ maxLength: 2 }) }),
        {
          minLength: 1,
          maxLength: 3,
          selector: (o) => o.k,
        },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("compact" as const), back: fc.integer({ min: 0, max: 8 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("watch" as const),
      s: stream,
      r: fc.integer({ min: 0, max: RANGES.length - 1 }),
      start: fc.integer({ min: -12, max: 4 }), // <0: that far back; 0: now; >0: that far ahead
      noPut: fc.boolean(),
      noDelete: fc.boolean(),
      prevKv: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("cancel" as const), s: stream, pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("capacity" as const),
      s: stream,
      cap: fc.constantFrom(0, 1, 2, 5, 1e9),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("drain" as const), s: stream }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("progress" as const), s: stream }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant("turns" as const), n: fc.integer({ min: 1, max: 3 }) }),
  },
);

interface WatcherRec {
  s: number;
  id: bigint;
  start: bigint;
  range: [string, string | undefined];
  noPut: boolean;
  noDelete: boolean;
  prevKv: boolean;
  canceled: boolean;
}

type State = Map<string, KeyValue>;

function inRange(key: string, [start, end]: [string, string | undefined]): boolean {
  const s = start === "" ? "\0" : start;
  if (end === undefined) return key === s;
  return key >= s && (end === "\0" || key < end);
}

const evStr = (e: WatchEvent | Event) =>
  `${e.type} ${e.kv.key.toString()}@${e.kv.modRevision}=${e.kv.value.toString()}`;

async function run(ops: Op[]): Promise<void> {
  const ts = new TempStore();
  const store = ts.store;
  const ws = new WatchableStore(store, { maxEventsPerBatch: 4, maxWatchersPerSync: 3, maxResponseBytes: 70 });
  const consumers = Array.from({ length: STREAMS }, () => new Consumer());
  for (const c of consumers) c.open(ws);
  const history = new Map<bigint, Event[]>();
  const states: State[] = [new Map(), new Map()]; // states[rev]: the keyspace at rev
  const compactions = new Set<bigint>();
  const watchers: WatcherRec[] = [];
  try {
    for (const op of ops) {
      switch (op.t) {
        case "txn": {
          const t = store.write();
          for (const o of op.ops) {
            if (o.del) t.deleteRange(Buffer.from(o.k), undefined);
            else t.put(Buffer.from(o.k), Buffer.from(o.v));
          }
          const r = t.end();
          ws.notify(r.changes, r.revision);
          if (r.changes.length > 0) {
            history.set(r.revision, [...r.changes]);
            const next = new Map(states[states.length - 1]);
            for (const e of r.changes) {
              if (e.type === "PUT") next.set(e.kv.key.toString(), e.kv);
              else next.delete(e.kv.key.toString());
            }
            states.push(next);
          }
          break;
        }
        case "compact": {
          const at = store.revision - BigInt(op.back);
          if (at > store.compactRevision && at >= 1n) {
            store.compact(at);
            compactions.add(at);
          }
          break;
        }
        case "watch": {
          const rev = ws.revision;
          const offset = op.start < 0 ? rev + BigInt(op.start) + 1n : rev + BigInt(op.start);
          const startRevision = op.start === 0 ? 0n : offset < 1n ? 1n : offset;
          const [k, e] = RANGES[op.r]!;
          const id = consumers[op.s]!.stream.watch({
            key: Buffer.from(k),
            rangeEnd: e === undefined ? undefined : Buffer.from(e),
            startRevision,
            noPut: op.noPut,
            noDelete: op.noDelete,
            prevKv: op.prevKv,
          });
          const start = startRevision === 0n ? rev + 1n : startRevision;
          watchers.push({
            s: op.s,
            id,
            start,
            range: [k, e],
            noPut: op.noPut,
            noDelete: op.noDelete,
            prevKv: op.prevKv,
            canceled: false,
          });
          break;
        }
        case "cancel": {
          const mine = watchers.filter((w) => w.s === op.s && !w.canceled);
          if (mine.length === 0) break;
          const w = mine[op.pick % mine.length]!;
          w.canceled = consumers[op.s]!.stream.cancel(w.id);
          break;
        }
        case "capacity":
          consumers[op.s]!.capacity = op.cap;
          break;
        case "drain":
          consumers[op.s]!.drain();
          break;
        case "progress":
          consumers[op.s]!.stream.requestProgress();
          break;
        case "turns":
          await turns(op.n);
          break;
      }
    }
    for (const c of consumers) c.capacity = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 10_000; i++) {
      for (const c of consumers) c.drain();
      await turns(1);
      if (ws.idle()) break;
    }
    assert.ok(ws.idle(), `did not settle: ${JSON.stringify(ws.stats())}`);
    const finalCompact = store.compactRevision;
    for (const w of watchers) {
      if (w.id === -1n) continue;
      checkWatcher(w, consumers[w.s]!.received, history, states, compactions, finalCompact);
    }
    for (let s = 0; s < STREAMS; s++)
      checkProgress(s, consumers[s]!.received, watchers, history, compactions);
  } finally {
    ws.close();
    await ts.cleanup();
  }
}

function expectedEvents(
  w: WatcherRec,
  history: Map<bigint, Event[]>,
  upTo = BigInt(Number.MAX_SAFE_INTEGER),
): Event[] {
  const out: Event[] = [];
  for (const [rev, evs] of history) {
    if (rev < w.start || rev > upTo) continue;
    for (const e of evs) {
      if (!inRange(e.kv.key.toString(), w.range)) continue;
      if ((e.type === "PUT" && w.noPut) || (e.type === "DELETE" && w.noDelete)) continue;
      out.push(e);
    }
  }
  return out;
}

/**
 * `got` against `want`: equal, except that a DELETE at a compaction revision may be missing (compaction at C
 * removes tombstones at C; etcd still serves a watch from C). With `prefix`, `got` may stop early.
 */
function compare(
  got: WatchEvent[],
  want: Event[],
  compactions: Set<bigint>,
  prefix: boolean,
): string | undefined {
  let i = 0;
  for (const e of want) {
    if (i < got.length && evStr(got[i]!) === evStr(e)) {
      i++;
      continue;
    }
    if (e.type === "DELETE" && compactions.has(e.kv.modRevision)) continue;
    if (prefix && i === got.length) return undefined;
    return `expected ${evStr(e)}, got ${got[i] ? evStr(got[i]!) : "nothing"}`;
  }
  return i < got.length ? `unexpected ${evStr(got[i]!)}` : undefined;
}

function checkWatcher(
  w: WatcherRec,
  received: WatchResponse[],
  history: Map<bigint, Event[]>,
  states: State[],
  compactions: Set<bigint>,
  finalCompact: bigint,
): void {
  const mine = received.filter((r) => r.watchId === w.id);
  const ctx = `watcher ${w.id} on stream ${w.s} ${JSON.stringify({ ...w, id: String(w.id), start: String(w.start) })}`;
  assert.ok(mine[0]?.created && !mine[0].canceled, `${ctx}: created comes first`);
  const body = mine.slice(1).filter((r) => !(w.canceled && r.canceled && r.compactRevision === 0n));
  const cancel = body.findIndex((r) => r.canceled);
  const compacted = cancel >= 0 ? body[cancel] : undefined;
  if (compacted) {
    assert.equal(cancel, body.length - 1, `${ctx}: nothing after the compaction cancel`);
    assert.ok(
      compacted.compactRevision !== 0n && compacted.revision === 0n,
      `${ctx}: compaction cancel shape`,
    );
  }
  const responses = body.filter((r) => r.events.length > 0);
  const seen = new Set<bigint>();
  for (const r of responses) {
    const revs = new Set(r.events.map((e) => e.kv.modRevision));
    for (const rev of revs) {
      assert.ok(!seen.has(rev), `${ctx}: revision ${rev} split across responses`);
      seen.add(rev);
      assert.ok(r.revision >= rev, `${ctx}: header revision ${r.revision} below event revision ${rev}`);
    }
  }
  const got = responses.flatMap((r) => r.events);
  const want = expectedEvents(w, history);
  const err = compare(got, want, compactions, w.canceled || compacted !== undefined);
  assert.equal(err, undefined, `${ctx}: ${err}\n got: ${got.map(evStr)}\nwant: ${want.map(evStr)}`);
  if (compacted) {
    const last = got.length > 0 ? got[got.length - 1]!.kv.modRevision : w.start - 1n;
    const next = last + 1n > w.start ? last + 1n : w.start;
    assert.ok(
      next < compacted.compactRevision,
      `${ctx}: canceled at compaction ${compacted.compactRevision} but was at ${next}`,
    );
  }
  for (const e of got) {
    if (!w.prevKv) {
      assert.equal(e.prevKv, undefined);
      continue;
    }
    const before = states[Number(e.kv.modRevision - 1n)]!.get(e.kv.key.toString());
    if (e.prevKv) assert.deepEqual(e.prevKv, before, `${ctx}: prev_kv of ${evStr(e)}`);
    else
      assert.ok(
        before === undefined || e.kv.modRevision - 1n < finalCompact,
        `${ctx}: prev_kv missing for ${evStr(e)}`,
      );
  }
}

/** A progress response (watch_id -1) at revision R comes after every event <= R of the stream's watchers. */
function checkProgress(
  s: number,
  received: WatchResponse[],
  watchers: WatcherRec[],
  history: Map<bigint, Event[]>,
  compactions: Set<bigint>,
): void {
  received.forEach((p, idx) => {
    if (p.watchId !== -1n || p.created) return;
    const before = received.slice(0, idx);
    for (const w of watchers) {
      if (w.s !== s || w.id === -1n || w.canceled) continue;
      if (!before.some((r) => r.watchId === w.id && r.created)) continue; // created after the progress
      if (before.some((r) => r.watchId === w.id && r.canceled)) continue;
      const got = before.filter((r) => r.watchId === w.id).flatMap((r) => r.events);
      const want = expectedEvents(w, history, p.revision);
      const err = compare(got, want, compactions, false);
      assert.equal(
        err,
        undefined,
        `progress at ${p.revision} on stream ${s} overtook watcher ${w.id}: ${err}`,
      );
    }
  });
}

describe("watch model", () => {
  test("every watcher sees exactly the committed history (or a compaction cancel)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 80 }), (ops) => run(ops)),
      { numRuns: Number(process.env.WATCH_MODEL_RUNS ?? 150) },
    );
  });
});
