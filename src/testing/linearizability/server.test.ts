// Specifies a real etcd-ts process as linearizable: 8 clients doing random put/get/delete/CAS on 5 keys for
// about 2 s, recorded and checked with both models; watchers checked against the acknowledged writes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Client, type Watcher } from "../../client/index.js";
import { type ServerProcess, startServer } from "../server_process.js";
import { assertEtcdHistory, checkEtcdHistory } from "./etcd_check.js";
import { RecordingKv, toWatchEvent } from "./etcd_client.js";
import type { EtcdInput, EtcdOutput } from "./etcd_types.js";
import { seededRandom } from "./generate.js";
import { HistoryRecorder } from "./recorder.js";
import { checkWatches, eventsFromHistory, type WatchEvent } from "./watch_checker.js";

const CLIENTS = 8;
const KEYS = ["lin/k0", "lin/k1", "lin/k2", "lin/k3", "lin/k4"];
const RUN_MS = 2_000;
/** Each client runs at least this many operations, however slow the machine. */
const MIN_OPS_PER_CLIENT = 30;
/** Generous bound for anything the test waits on. */
const WAIT_MS = 20_000;

async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

/** Collects a watcher's events; `reached(rev)` resolves once it delivered everything up to `rev`. */
function collect(w: Watcher): {
  events: WatchEvent[];
  done: Promise<void>;
  reached(rev: bigint): Promise<void>;
} {
  const events: WatchEvent[] = [];
  const waiters: { rev: bigint; resolve: () => void }[] = [];
  const wake = (): void => {
    for (const x of waiters.splice(0)) {
      if (w.revision >= x.rev) x.resolve();
      else waiters.push(x);
    }
  };
  const done = (async () => {
    for await (const batch of w) {
      for (const e of batch.events) events.push(toWatchEvent(e));
      wake();
    }
  })();
  return {
    events,
    done,
    reached: (rev) =>
      new Promise<void>((resolve) => {
        waiters.push({ rev, resolve });
        wake();
      }),
  };
}

let server: ServerProcess;
const clients: Client[] = [];

before(async () => {
  server = await startServer();
  for (let i = 0; i <= CLIENTS; i++) clients.push(await Client.connect({ endpoints: [server.endpoint] }));
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.stop();
  server?.cleanup();
});

test("concurrent clients against a real server: linearizable, and watchers see exactly the writes", async () => {
  const rec = new HistoryRecorder<EtcdInput, EtcdOutput>("etcd-ts 8 clients 5 keys");
  const watchClient = clients[CLIENTS]!;
  const all = watchClient.watch.watch("lin/", { prefix: true, startRevision: 2n });
  const one = watchClient.watch.watch(KEYS[0]!, { startRevision: 2n });
  await within(Promise.all([all.created, one.created]), "watchers created");
  const allSeen = collect(all);
  const oneSeen = collect(one);

  const stopAt = Date.now() + RUN_MS;
  const worker = async (c: number): Promise<void> => {
    const kv = new RecordingKv(clients[c]!, rec, c);
    const rand = seededRandom(c + 1);
    const seen = new Map<string, { value: string | null; mod: bigint }>();
    for (let n = 0; Date.now() < stopAt || n < MIN_OPS_PER_CLIENT; n++) {
      const key = KEYS[Math.floor(rand() * KEYS.length)]!;
      const value = `c${c}-${n}`;
      const last = seen.get(key);
      const r = rand();
      try {
        if (r < 0.3) {
          const out = await kv.get(key);
          if (out.op === "get") seen.set(key, { value: out.value, mod: out.modRevision });
        } else if (r < 0.35) await kv.get(key, { serializable: true });
        else if (r < 0.6) await kv.put(key, value);
        else if (r < 0.7) await kv.delete(key);
        else if (r < 0.85 && last?.value)
          await kv.cas(key, { target: "value", value: last.value }, value, { elseGet: true });
        else await kv.cas(key, { target: "mod", modRevision: last?.mod ?? 0n }, value);
      } catch {
        // Recorded as failed (pending for writes); the checker decides whether it mattered.
      }
      // Half way through, stop the single-key watcher: it must have seen a prefix of its events.
      if (c === 0 && n === 20) one.cancel();
    }
  };
  await within(Promise.all(Array.from({ length: CLIENTS }, (_, c) => worker(c))), "clients");

  const last = await clients[0]!.kv.get("lin/", { prefix: true });
  const finalRevision = last.header!.revision;
  await within(allSeen.reached(finalRevision), `the prefix watcher reaching revision ${finalRevision}`);
  all.cancel();
  await within(Promise.all([allSeen.done, oneSeen.done]), "watchers ended");

  const t = performance.now();
  const result = assertEtcdHistory(rec, { store: true });
  const ms = performance.now() - t;
  const ops = rec.operations();
  console.log(
    `${ops.length} operations (${ops.filter((o) => o.output === undefined).length} pending), final revision ` +
      `${finalRevision}: per-key ${result.perKey.elapsedMs.toFixed(0)} ms, whole-store ` +
      `${result.store?.elapsedMs.toFixed(0)} ms, total ${ms.toFixed(0)} ms`,
  );
  assert.ok(ops.length >= CLIENTS * MIN_OPS_PER_CLIENT);

  // The same history with one read made to return a value nobody wrote is caught.
  const i = ops.findIndex((o) => o.output?.op === "get" && o.input.op === "get" && !o.input.serializable);
  const read = ops[i]!.output as Extract<EtcdOutput, { op: "get" }>;
  const forged = ops.map((o, j) =>
    j === i ? { ...o, output: { ...read, value: "forged", modRevision: 1n } } : o,
  );
  assert.equal(checkEtcdHistory(forged).result, "illegal");

  const committed = eventsFromHistory(ops);
  const watches = checkWatches(
    committed,
    [
      { id: "prefix", key: "lin/", rangeEnd: "lin0", startRevision: 2n, events: allSeen.events },
      { id: "k0", key: KEYS[0]!, startRevision: 2n, events: oneSeen.events, stoppedEarly: true },
    ],
    { untilRevision: finalRevision },
  );
  assert.deepEqual(watches.problems, []);
  assert.equal(allSeen.events.length, committed.length);
});
