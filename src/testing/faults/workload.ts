// Owns the client side of a fault run: KV clients doing put/get/delete/CAS on a small, rotating key set (every
// call recorded in one history), watchers on the KV prefix and on the whole store, lease holders and lock
// contenders — each with its own client over every endpoint (starting at a different member), started and
// stopped together.
import { Client, UnavailableError } from "../../client/index.js";
import {
  type EtcdInput,
  type EtcdOutput,
  HistoryRecorder,
  RecordingKv,
  seededRandom,
} from "../linearizability/index.js";
import { LeaseHolder } from "./leases.js";
import { LockContender } from "./locks.js";
import { ResumingWatcher } from "./watchers.js";

/** Everything the workload writes is under PREFIX. */
export const PREFIX = "faults/";
/** The keys of the recorded history: nothing else writes under it. */
export const KV_PREFIX = "faults/kv/";
export const LEASE_PREFIX = "faults/lease/";
export const LOCK_PREFIX = "faults/lock";
export const LOCK_COUNTER = "faults/lockdata/counter";
/** Written (and recorded) once at the end: every watcher covers it, so reaching it means having seen all. */
export const SENTINEL_KEY = "faults/kv/end";

export interface WorkloadOptions {
  seed: number;
  kvClients: number;
  /** Keys in use at once; they are replaced by fresh ones every `keyRotateOps` operations (bounds pending per key). */
  keys: number;
  keyRotateOps: number;
  /** Watchers on KV_PREFIX, and on the whole store (the evidence that settles lost responses). */
  prefixWatchers: number;
  storeWatchers: number;
  /** Lease holders kept alive to the end, and those killed when the faults begin. */
  leaseHolders: number;
  killedLeaseHolders: number;
  leaseTtl: number;
  killedLeaseTtl: number;
  lockContenders: number;
  sessionTtl: number;
  lockTimeoutMs: number;
  /** Deadline of every KV call of the workload (a call past it is a failure, pending if a write). */
  opTimeoutMs: number;
  /** Upper bound of the random pause between two operations of a KV client. */
  thinkMs: number;
  /**
   * Testing the tests: reads are made serializable (a member answers from its own, possibly stale, state) but
   * recorded as linearizable, so a partition must make the history fail the checks.
   */
  staleReads?: boolean;
}

export const DEFAULT_WORKLOAD: Omit<WorkloadOptions, "seed"> = {
  kvClients: 6,
  keys: 4,
  keyRotateOps: 400,
  prefixWatchers: 2,
  storeWatchers: 2,
  leaseHolders: 2,
  killedLeaseHolders: 1,
  leaseTtl: 10,
  killedLeaseTtl: 4,
  lockContenders: 3,
  sessionTtl: 6,
  lockTimeoutMs: 5_000,
  opTimeoutMs: 2_000,
  thinkMs: 10,
};

export interface KvStats {
  ok: number;
  failed: number;
}

/** Rotates a list so that each client starts on a different member. */
export function rotate<T>(xs: readonly T[], by: number): T[] {
  const k = by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

/** A write error that proves the write never left the client. */
const notApplied = (err: unknown): boolean => err instanceof UnavailableError && err.neverSent;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Workload {
  readonly recorder: HistoryRecorder<EtcdInput, EtcdOutput>;
  readonly stats: KvStats = { ok: 0, failed: 0 };
  /** Every KV key the clients used. */
  readonly keysUsed = new Set<string>();
  readonly prefixWatchers: ResumingWatcher[] = [];
  readonly storeWatchers: ResumingWatcher[] = [];
  readonly leaseHolders: LeaseHolder[] = [];
  readonly lockContenders: LockContender[] = [];
  /** The first revision the watchers must deliver. */
  startRevision = 0n;
  private readonly clients: Client[] = [];
  private readonly stopping = new AbortController();
  private readonly running: Promise<void>[] = [];
  private kvOps = 0;

  constructor(
    readonly endpoints: string[],
    readonly options: WorkloadOptions,
    name: string,
  ) {
    this.recorder = new HistoryRecorder(name);
  }

  /**
   * A client over every endpoint, pinned first to endpoint `i` (mod the count), closed with the workload. The
   * client sticks to the first endpoint that connects, so it is made to connect to its own first one.
   */
  async client(i: number, callTimeoutMs = this.options.opTimeoutMs): Promise<Client> {
    const endpoints = rotate(this.endpoints, i);
    const c = new Client({ endpoints, dialTimeoutMs: 2_000, callTimeoutMs });
    this.clients.push(c);
    await c.maintenance.status({ endpoint: endpoints[0]!, timeoutMs: 2_000 }).catch(() => {});
    return c;
  }

  /** Instants of the history's clock (ns). */
  now(): number {
    return this.recorder.now();
  }

  /**
   * Starts the watchers (waits until they are created), the lease holders (until their keys are written), the
   * lock contenders and the KV clients.
   */
  async start(): Promise<void> {
    const o = this.options;
    const first = await (await this.client(0)).kv.get(PREFIX, { prefix: true, countOnly: true });
    if (first.count !== 0n) throw new Error(`the store already holds ${first.count} keys under ${PREFIX}`);
    this.startRevision = first.header!.revision + 1n;
    let n = 0;
    for (let i = 0; i < o.prefixWatchers; i++)
      this.prefixWatchers.push(
        new ResumingWatcher(`prefix-${i}`, await this.client(n++), KV_PREFIX, false, this.startRevision),
      );
    for (let i = 0; i < o.storeWatchers; i++)
      this.storeWatchers.push(
        new ResumingWatcher(`store-${i}`, await this.client(n++), "", true, this.startRevision),
      );
    await Promise.all([...this.prefixWatchers, ...this.storeWatchers].map((w) => w.created()));

    for (let i = 0; i < o.leaseHolders + o.killedLeaseHolders; i++) {
      const killed = i >= o.leaseHolders;
      const id = killed ? `killed-${i - o.leaseHolders}` : `live-${i}`;
      this.leaseHolders.push(
        new LeaseHolder(
          id,
          await this.client(n++),
          `${LEASE_PREFIX}${id}`,
          killed ? o.killedLeaseTtl : o.leaseTtl,
          () => this.now(),
        ),
      );
    }
    await Promise.all(this.leaseHolders.map((h) => h.start()));

    for (let i = 0; i < o.lockContenders; i++) {
      const c = new LockContender(
        `locker-${i}`,
        await this.client(n++),
        {
          lockPrefix: LOCK_PREFIX,
          counterKey: LOCK_COUNTER,
          sessionTtl: o.sessionTtl,
          lockTimeoutMs: o.lockTimeoutMs,
          writesPerTenure: 2,
        },
        () => this.now(),
        seededRandom(o.seed * 7919 + 100 + i),
      );
      this.lockContenders.push(c);
      this.running.push(c.run(this.stopping.signal));
    }
    for (let i = 0; i < o.kvClients; i++) this.running.push(this.kvClient(i, await this.client(n++)));
  }

  /** Kills the holders meant to be killed (their keys must then expire). */
  async killLeaseHolders(): Promise<void> {
    await Promise.all(this.leaseHolders.filter((h) => h.id.startsWith("killed-")).map((h) => h.kill()));
  }

  /** Stops the KV clients and lock contenders (each finishes its current call); watchers and holders go on. */
  async stopTraffic(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.running);
  }

  /** Stops everything that is left and closes every client. */
  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.running);
    await Promise.all([...this.prefixWatchers, ...this.storeWatchers].map((w) => w.stop()));
    await Promise.all(this.leaseHolders.map((h) => h.close()));
    await Promise.all(this.clients.map((c) => c.close()));
  }

  private async kvClient(i: number, client: Client): Promise<void> {
    const o = this.options;
    const kv = new RecordingKv(client, this.recorder, `kv-${i}`, { notApplied });
    const rand = seededRandom(o.seed * 7919 + i);
    /** The last value and mod revision this client read per key: what its CAS compares against. */
    const seen = new Map<string, { value: string | null; mod: bigint }>();
    for (let n = 0; !this.stopping.signal.aborted; n++) {
      const generation = Math.floor(this.kvOps++ / o.keyRotateOps);
      const key = `${KV_PREFIX}g${generation}/k${Math.floor(rand() * o.keys)}`;
      this.keysUsed.add(key);
      const value = `c${i}-${n}`;
      const last = seen.get(key);
      const r = rand();
      try {
        if (r < 0.3) {
          const out = o.staleReads
            ? await this.recorder.record(`kv-${i}`, { op: "get", key }, async () => {
                const g = await client.kv.get(key, { serializable: true });
                const kv0 = g.kvs[0];
                return {
                  op: "get" as const,
                  value: kv0 ? Buffer.from(kv0.value).toString() : null,
                  modRevision: kv0 ? kv0.modRevision : 0n,
                  revision: g.header!.revision,
                };
              })
            : await kv.get(key);
          if (out.op === "get") seen.set(key, { value: out.value, mod: out.modRevision });
        } else if (r < 0.6) await kv.put(key, value);
        else if (r < 0.68) await kv.delete(key);
        else if (r < 0.84 && last?.value) {
          const out = await kv.cas(key, { target: "value", value: last.value }, value, { elseGet: true });
          if (out.op === "cas" && !out.succeeded && out.value !== undefined)
            seen.set(key, { value: out.value, mod: out.modRevision ?? 0n });
        } else await kv.cas(key, { target: "mod", modRevision: last?.mod ?? 0n }, value);
        this.stats.ok++;
      } catch {
        // Recorded (a failed write stays pending). Move off a member that may be down, partitioned or stopped.
        this.stats.failed++;
        client.switchEndpoint();
        await sleep(50 + rand() * 100);
      }
      await sleep(rand() * o.thinkMs);
    }
  }
}
