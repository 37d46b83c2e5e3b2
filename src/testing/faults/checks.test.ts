// Specifies the final checks of a fault run on small hand-made runs: a consistent run passes, and each kind of
// anomaly a faulty server could produce — a lost acknowledged write, a watch gap, diverged replicas, overlapping
// lock holders, a lost locked increment, a lost or immortal lease, a read at a revision whose state it does not
// show, a revision skipped — is reported. Revisions taken by writes outside the KV prefix are renumbered away for the whole-store model.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type EtcdOperation, PENDING, type WatchEvent } from "../linearizability/index.js";
import { checkRun, kvRenumbering, type RunEvidence } from "./checks.js";

const K1 = "faults/kv/k1";
const K2 = "faults/kv/k2";
const END = "faults/kv/end";
const LIVE = "faults/lease/live-0";
const KILLED = "faults/lease/killed-0";

let nextId = 0;
const op = (
  clientId: string,
  call: number,
  ret: number,
  input: EtcdOperation["input"],
  output: EtcdOperation["output"],
): EtcdOperation => ({ id: nextId++, clientId, call, return: ret, input, output });

/**
 * Revisions: 2 put k1=a; 3 the lock key (foreign); 4 k1=b by CAS; 5 put of the live lease key (foreign);
 * 6 put of the killed holder's key (foreign); 7 its expiry; 8 put k2=x; 9 the sentinel.
 */
function run(): RunEvidence {
  const ops = [
    op("c0", 0, 10, { op: "put", key: K1, value: "a" }, { op: "put", revision: 2n }),
    op("c1", 20, 30, { op: "get", key: K1 }, { op: "get", value: "a", modRevision: 2n, revision: 3n }),
    op(
      "c1",
      40,
      50,
      { op: "cas", key: K1, compare: { target: "mod", modRevision: 2n }, value: "b" },
      { op: "cas", succeeded: true, revision: 4n },
    ),
    op("c0", 60, 70, { op: "delete", key: K2 }, { op: "delete", deleted: 0, revision: 7n }),
    // A lost response: committed at 8, which only the watch tells.
    op("c0", 80, PENDING, { op: "put", key: K2, value: "x" }, undefined),
    op("final", 200, 210, { op: "get", key: K1 }, { op: "get", value: "b", modRevision: 4n, revision: 8n }),
    op("final", 220, 230, { op: "get", key: K2 }, { op: "get", value: "x", modRevision: 8n, revision: 8n }),
    op("final", 240, 250, { op: "put", key: END, value: "end-0" }, { op: "put", revision: 9n }),
  ];
  const store: WatchEvent[] = [
    { revision: 2n, key: K1, type: "put", value: "a" },
    { revision: 3n, key: "faults/lock/1", type: "put", value: "" },
    { revision: 4n, key: K1, type: "put", value: "b" },
    { revision: 5n, key: LIVE, type: "put", value: "live-0" },
    { revision: 6n, key: KILLED, type: "put", value: "killed-0" },
    { revision: 7n, key: KILLED, type: "delete" },
    { revision: 8n, key: K2, type: "put", value: "x" },
    { revision: 9n, key: END, type: "put", value: "end-0" },
  ];
  const kv = store.filter((e) => e.key.startsWith("faults/kv/"));
  return {
    operations: ops,
    kvPrefix: "faults/kv/",
    untilRevision: 9n,
    prefixWatchers: [{ id: "p", key: "faults/kv/", rangeEnd: "faults/kv0", startRevision: 2n, events: kv }],
    storeWatchers: [
      { id: "s0", key: "\0", rangeEnd: "\0", startRevision: 2n, events: store },
      { id: "s1", key: "\0", rangeEnd: "\0", startRevision: 2n, events: [...store] },
    ],
    finalReads: new Map([
      [K1, { value: "b", modRevision: 4n }],
      [K2, { value: "x", modRevision: 8n }],
    ]),
    replicas: ["m0", "m1", "m2"].map((member) => ({ member, kvs: "same" })),
    tenures: [
      { holder: "a", lockRevision: 3n, acquiredAt: 0, releasedAt: 40, guarded: [ok(10, 20, 10n)] },
      { holder: "b", lockRevision: 11n, acquiredAt: 50, releasedAt: 90, guarded: [ok(60, 70, 12n)] },
    ],
    counter: { acknowledged: 2, unknown: 0, final: 2 },
    leaseHolders: [
      { id: "live-0", key: LIVE, ttl: 10, leaseId: 7n, renewals: 3, lastRenewedAt: 150 },
      { id: "killed-0", key: KILLED, ttl: 4, leaseId: 8n, renewals: 1, lastRenewedAt: 30, killedAt: 55 },
    ],
    leaseKeys: new Map([
      [LIVE, { value: "live-0", modRevision: 5n, lease: 7n }],
      [KILLED, { value: null, modRevision: 0n }],
    ]),
  };
}

function ok(call: number, ret: number, revision: bigint) {
  return { call, return: ret, succeeded: true, revision };
}

const problems = (e: RunEvidence): string => checkRun(e).problems.join("\n");

describe("fault run checks", () => {
  test("a consistent run passes every check, the lost response settled by the watch", () => {
    const r = checkRun(run());
    assert.deepEqual(r.problems, []);
    assert.match(
      r.summary.join("\n"),
      /whole-store model: ok — .*1 lost responses settled by the watch, 0 still pending/,
    );
  });

  test("revisions of writes outside the KV prefix are renumbered away", () => {
    const m = kvRenumbering(run().storeWatchers[0]!.events, "faults/kv/");
    // KV revisions 2, 4, 8, 9 become 2, 3, 4, 5; a header revision maps to the last KV revision at or below it.
    assert.deepEqual([2n, 3n, 4n, 7n, 8n, 9n].map(m.header), [2n, 2n, 3n, 3n, 4n, 5n]);
    assert.deepEqual([0n, 2n, 4n, 8n, 3n].map(m.mod), [0n, 2n, 3n, 4n, -1n]);
  });

  test("an acknowledged write missing from the final read", () => {
    const e = run();
    e.finalReads.set(K1, { value: "a", modRevision: 2n });
    assert.match(problems(e), /acknowledged write lost: faults\/kv\/k1 was written at revision 4/);
  });

  test("a read whose header revision claims a state it does not show", () => {
    const e = run();
    // Concurrent with the put of k2 (committed at 8), a read of k2 says "absent at revision 8".
    e.operations.push(
      op("c2", 85, 95, { op: "get", key: K2 }, { op: "get", value: null, modRevision: 0n, revision: 8n }),
    );
    const r = checkRun(e);
    assert.equal(r.linearizability.result, "illegal");
    assert.match(r.problems.join("\n"), /whole-store model .*: illegal/);
    // "Absent at revision 7" is fine: 7 is the killed lease's expiry, k2 came at 8.
    const e2 = run();
    e2.operations.push(
      op("c2", 85, 95, { op: "get", key: K2 }, { op: "get", value: null, modRevision: 0n, revision: 7n }),
    );
    assert.deepEqual(checkRun(e2).problems, []);
  });

  test("a revision without any change (invisible to the models once renumbered)", () => {
    const e = run();
    for (const w of e.storeWatchers) w.events = w.events.filter((x) => x.revision !== 3n);
    const r = checkRun(e);
    assert.equal(r.linearizability.result, "ok");
    assert.match(r.problems.join("\n"), /revisions without any event in the whole-store watch .*: 3$/);
  });

  test("a watcher that missed an event", () => {
    const e = run();
    e.prefixWatchers[0]!.events = e.prefixWatchers[0]!.events.filter((x) => x.revision !== 4n);
    assert.match(problems(e), /watch: watcher p .*gap, missed 1 event/);
  });

  test("whole-store watchers that disagree", () => {
    const e = run();
    e.storeWatchers[1]!.events = e.storeWatchers[1]!.events.map((x) =>
      x.revision === 3n ? { ...x, value: "other" } : x,
    );
    assert.match(problems(e), /watchers disagree at revision 3/);
  });

  test("replicas that differ", () => {
    const e = run();
    e.replicas[2] = { member: "m2", kvs: "different" };
    assert.match(problems(e), /member m2 differs from m0/);
  });

  test("two lock holders at once, and a lost locked increment", () => {
    const e = run();
    e.tenures[1] = { ...e.tenures[1]!, acquiredAt: 15, guarded: [ok(16, 18, 11n)] };
    e.tenures[0] = { ...e.tenures[0]!, guarded: [ok(10, 12, 10n), ok(30, 32, 13n)] };
    e.counter = { acknowledged: 3, unknown: 0, final: 2 };
    const p = problems(e);
    assert.match(p, /lock: holder a .* and holder b .* both guarded writes succeeded/);
    assert.match(p, /lock counter is 2, but 3 increments were acknowledged/);
  });

  test("a live holder's key gone, a killed holder's key never expired", () => {
    const e = run();
    e.leaseKeys.set(LIVE, { value: null, modRevision: 0n });
    e.leaseKeys.set(KILLED, { value: "killed-0", modRevision: 6n, lease: 8n });
    const p = problems(e);
    assert.match(p, /live lease holder live-0's key faults\/lease\/live-0 is absent/);
    assert.match(p, /lease holder killed-0 killed: its key faults\/lease\/killed-0 never expired/);
  });

  test("a holder whose keepalive gave up counts as killed: its key must expire", () => {
    const e = run();
    const lost = { at: 12e9, reason: "timeout" as const, message: "not renewed before its TTL ran out" };
    e.leaseHolders[0] = { ...e.leaseHolders[0]!, lost };
    assert.match(
      problems(e),
      /lease holder live-0 whose keepalive gave up \(timeout\): its key .* never expired/,
    );
    // Its key expired at revision 9; the sentinel then came at 10.
    e.leaseKeys.set(LIVE, { value: null, modRevision: 0n });
    const end = e.operations.find((o) => o.input.op === "put" && o.input.key === END)!;
    end.output = { op: "put", revision: 10n };
    e.untilRevision = 10n;
    const expiry: WatchEvent = { revision: 9n, key: LIVE, type: "delete" };
    const sentinel: WatchEvent = { revision: 10n, key: END, type: "put", value: "end-0" };
    for (const w of e.storeWatchers) w.events = [...w.events.slice(0, -1), expiry, sentinel];
    for (const w of e.prefixWatchers) w.events = [...w.events.slice(0, -1), sentinel];
    assert.deepEqual(checkRun(e).problems, []);
  });

  test("a lease the server forgot sooner than its TTL after a renewal", () => {
    const e = run();
    // Renewed (answer seen) at 1 s, TTL 10 s, reported not found at 5 s.
    e.leaseHolders[0] = {
      ...e.leaseHolders[0]!,
      lastRenewedAt: 1e9,
      lost: { at: 5e9, reason: "not-found", message: "lease not found" },
    };
    assert.match(
      problems(e),
      /lease holder live-0's lease 7 was gone at 5000\.000ms, 4000 ms sooner than 8 s after/,
    );
  });
});
