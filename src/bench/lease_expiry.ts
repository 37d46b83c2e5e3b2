// Owns the `lease-expiry` benchmark: grant many short leases at once, attach one key to each, keep none alive, and
// measure lateness = (DELETE event at a watcher) − (grant response + granted TTL).
import { Conns, errText, leaseGrant, put, putRequest } from "./conns.js";
import { Countdown } from "./countdown.js";
import { latencyMetrics, Samples } from "./samples.js";
import type { BenchSpec, Metric } from "./types.js";
import { WatchStreams } from "./watch_streams.js";

const defaults = {
  conns: 10,
  clients: 100,
  leases: 10_000,
  ttl: 2,
  waitSeconds: 60,
};

const PREFIX = "lease-expiry/";
/** The key after every key with PREFIX: its last byte incremented. */
const PREFIX_END = Buffer.from("lease-expiry0");
const NOPUT = 0;

export const leaseExpiryBench: BenchSpec<typeof defaults> = {
  name: "lease-expiry",
  description: "many leases expiring together: how late their keys' DELETE events arrive",
  defaults,
  help: {
    conns: "gRPC connections for granting and attaching (the watcher uses one more)",
    clients: "concurrent clients; each grants a lease and then puts its key, in a loop",
    leases: "leases in total, one key each",
    ttl: "requested TTL in seconds (lateness uses the TTL the server granted)",
    waitSeconds: "after the last grant, wait this long past its expiry for DELETE events",
  },
  async run(endpoint, o) {
    const conns = new Conns(endpoint, o.conns);
    const watchConns = new Conns(endpoint, 1);
    await Promise.all([conns.ready(), watchConns.ready()]);
    /** expiry deadline (grant response time + TTL), by lease index; NaN until attached. */
    const due = new Float64Array(o.leases).fill(Number.NaN);
    const lateness = new Samples();
    let deletes = new Countdown(0);
    let firstDeleteAt = 0;
    let lastDeleteAt = 0;
    const ws = new WatchStreams(watchConns.watch(1), (events, now) => {
      firstDeleteAt ||= now;
      lastDeleteAt = now;
      for (const e of events) lateness.add(now - due[Number(e.kv!.key.subarray(PREFIX.length).toString())]!);
      deletes.tick(now, events.length);
    });
    if (
      !(await ws.createAll(Buffer.from(PREFIX), 1, { rangeEnd: PREFIX_END, filters: [NOPUT] }).wait(10_000))
    )
      throw new Error(`watcher not created: ${ws.errors.join("; ")}`);

    const leases = conns.lease(o.clients);
    const kvs = conns.kv(o.clients);
    let next = 0;
    let attached = 0;
    let failed = 0;
    let firstError = "";
    const t0 = performance.now();
    await Promise.all(
      leases.map(async (lc, c) => {
        while (next < o.leases) {
          const i = next++;
          try {
            const g = await leaseGrant(lc, BigInt(o.ttl));
            due[i] = performance.now() + Number(g.TTL) * 1000;
            await put(kvs[c]!, putRequest(Buffer.from(PREFIX + i), Buffer.from("v"), g.ID));
            attached++;
          } catch (err) {
            failed++;
            firstError ||= errText(err);
          }
        }
      }),
    );
    const grantMs = performance.now() - t0;
    deletes = new Countdown(attached - lateness.count);
    const lastDue = due.reduce((m, d) => (Number.isNaN(d) ? m : Math.max(m, d)), 0);
    const allSeen = await deletes.wait(Math.max(0, lastDue - performance.now()) + o.waitSeconds * 1000);
    const out: Metric[] = [
      { name: "grant+attach all leases", value: grantMs, unit: "ms", better: "lower" },
      { name: "leases with key attached", value: attached, unit: "leases", better: "higher" },
      {
        name: "grant/attach failures",
        value: failed,
        unit: "leases",
        better: "lower",
        note: firstError || undefined,
      },
      ...latencyMetrics("expiry lateness", lateness),
      {
        name: "DELETE events/s, first → last",
        value: lateness.count / ((lastDeleteAt - firstDeleteAt) / 1000),
        unit: "ev/s",
        better: "higher",
      },
      {
        name: "DELETE events missing",
        value: allSeen ? 0 : deletes.remaining,
        unit: "keys",
        better: "lower",
      },
    ];
    if (ws.errors.length > 0)
      out.push({
        name: "watch stream errors",
        value: ws.errors.length,
        unit: "",
        note: ws.errors.join("; "),
      });
    ws.close();
    conns.close();
    watchConns.close();
    return out;
  },
};
