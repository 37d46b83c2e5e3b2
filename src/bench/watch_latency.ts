// Owns the `watch-latency` benchmark: W watchers on one key over S streams; paced puts measure put→event latency
// at every watcher (etcd benchmark watch-latency), then a burst of puts measures event fan-out (events/s).
import { Conns, errText, put, putRequest } from "./conns.js";
import { Countdown, sleep } from "./countdown.js";
import { latencyMetrics, Samples } from "./samples.js";
import type { BenchSpec, Metric } from "./types.js";
import { WatchStreams } from "./watch_streams.js";

const defaults = {
  conns: 1,
  streams: 10,
  watchersPerStream: 10,
  putTotal: 200,
  putRate: 100,
  burst: 1000,
  burstClients: 10,
  valSize: 16,
  timeoutSeconds: 30,
};
type Options = typeof defaults;

const KEY = Buffer.from("watch-latency-key");

/** Where arriving events go: the current phase swaps in its own samples and countdown. */
interface Sink {
  sentAt: Map<number, number>;
  lat: Samples;
  pending: Countdown;
}

export const watchLatencyBench: BenchSpec<Options> = {
  name: "watch-latency",
  description: "put→event latency at each watcher, then fan-out rate under a burst of puts",
  defaults,
  help: {
    conns: "gRPC connections carrying the watch streams (puts use one more)",
    streams: "watch streams",
    watchersPerStream: "watchers per stream, all on one key",
    putTotal: "paced puts; each waits until every watcher has its event",
    putRate: "paced puts per second (at most)",
    burst: "puts in the burst phase (0 skips it)",
    burstClients: "concurrent putters in the burst",
    valSize: "value size in bytes (holds the put's sequence number)",
    timeoutSeconds: "give up waiting for one put's (or the burst's) events after this long",
  },
  async run(endpoint, o) {
    const conns = new Conns(endpoint, o.conns);
    const putConns = new Conns(endpoint, 1);
    await Promise.all([conns.ready(), putConns.ready()]);
    const watchers = o.streams * o.watchersPerStream;
    const sink: Sink = { sentAt: new Map(), lat: new Samples(), pending: new Countdown(0) };
    const ws = new WatchStreams(conns.watch(o.streams), (events, now) => {
      for (const e of events) sink.lat.add(now - sink.sentAt.get(Number(e.kv!.value.toString()))!);
      sink.pending.tick(now, events.length);
    });
    if (!(await ws.createAll(KEY, watchers).wait(o.timeoutSeconds * 1000)))
      throw new Error(`watchers not created in time: ${ws.errors.join("; ")}`);
    const kvs = putConns.kv(Math.max(1, o.burstClients));
    const out = [...(await paced(o, kvs[0]!, watchers, sink))];
    if (o.burst > 0) out.push(...(await burst(o, kvs, watchers, sink)));
    if (ws.errors.length > 0)
      out.push({
        name: "watch stream errors",
        value: ws.errors.length,
        unit: "",
        note: ws.errors.join("; "),
      });
    ws.close();
    conns.close();
    putConns.close();
    return out;
  },
};

const seqValue = (o: Options, seq: number): Buffer => Buffer.from(String(seq).padStart(o.valSize, "0"));

/** One put at a time, at most putRate per second, each waiting for all its events (as etcd's tool does). */
async function paced(
  o: Options,
  kv: Parameters<typeof put>[0],
  watchers: number,
  sink: Sink,
): Promise<Metric[]> {
  const putLat = new Samples();
  let timeouts = 0;
  const interval = 1000 / o.putRate;
  const start = performance.now();
  for (let seq = 0; seq < o.putTotal; seq++) {
    await sleep(start + seq * interval - performance.now());
    sink.pending = new Countdown(watchers);
    const t0 = performance.now();
    sink.sentAt.set(seq, t0);
    await put(kv, putRequest(KEY, seqValue(o, seq)));
    putLat.add(performance.now() - t0);
    if (!(await sink.pending.wait(o.timeoutSeconds * 1000))) timeouts++;
  }
  return [
    ...latencyMetrics("put→event", sink.lat),
    ...latencyMetrics("paced put", putLat, [50, 99]),
    { name: "paced puts with missing events", value: timeouts, unit: "puts", better: "lower" },
  ];
}

/** `burst` puts from several clients at once; events/s over first send → last event received. */
async function burst(
  o: Options,
  kvs: Parameters<typeof put>[0][],
  watchers: number,
  sink: Sink,
): Promise<Metric[]> {
  const expected = o.burst * watchers;
  sink.lat = new Samples();
  sink.pending = new Countdown(expected);
  let next = o.putTotal;
  const end = o.putTotal + o.burst;
  let firstError = "";
  const start = performance.now();
  await Promise.all(
    kvs.map(async (kv) => {
      while (next < end) {
        const seq = next++;
        sink.sentAt.set(seq, performance.now());
        await put(kv, putRequest(KEY, seqValue(o, seq))).catch((e: unknown) => {
          firstError ||= errText(e);
        });
      }
    }),
  );
  const putsDone = performance.now();
  const ok = await sink.pending.wait(o.timeoutSeconds * 1000);
  const last = ok ? sink.pending.lastAt : performance.now();
  const delivered = expected - Math.max(0, sink.pending.remaining);
  return [
    { name: "burst puts/s", value: o.burst / ((putsDone - start) / 1000), unit: "req/s", better: "higher" },
    {
      name: "burst events delivered/s",
      value: delivered / ((last - start) / 1000),
      unit: "ev/s",
      better: "higher",
    },
    { name: "burst first put → last event", value: last - start, unit: "ms", better: "lower" },
    ...latencyMetrics("burst put→event", sink.lat, [50, 99]),
    {
      name: "burst events missing",
      value: expected - delivered,
      unit: "ev",
      better: "lower",
      note: firstError || undefined,
    },
  ];
}
