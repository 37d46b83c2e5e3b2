// Owns the `watch-many` benchmark: create W watchers on one key over S streams (time to create them), then
// per-put fan-out time: from sending a put until every watcher has received its event.
import { Conns, put, putRequest } from "./conns.js";
import { Countdown } from "./countdown.js";
import { latencyMetrics, Samples } from "./samples.js";
import type { BenchSpec, Metric } from "./types.js";
import { WatchStreams } from "./watch_streams.js";

const defaults = {
  conns: 10,
  streams: 100,
  watchers: 10_000,
  puts: 10,
  timeoutSeconds: 60,
};

const KEY = Buffer.from("watch-many-key");

export const watchManyBench: BenchSpec<typeof defaults> = {
  name: "watch-many",
  description: "create many watchers on one key, then time each put's fan-out to all of them",
  defaults,
  help: {
    conns: "gRPC connections carrying the watch streams (puts use one more)",
    streams: "watch streams, spread over the connections",
    watchers: "watchers in total, spread over the streams",
    puts: "puts, one at a time, each waiting for its event at every watcher",
    timeoutSeconds: "give up waiting for the creation (or one put's fan-out) after this long",
  },
  async run(endpoint, o) {
    const conns = new Conns(endpoint, o.conns);
    const putConns = new Conns(endpoint, 1);
    await Promise.all([conns.ready(), putConns.ready()]);
    let pending = new Countdown(0);
    const ws = new WatchStreams(conns.watch(o.streams), (events, now) => pending.tick(now, events.length));
    const t0 = performance.now();
    const created = ws.createAll(KEY, o.watchers);
    const createdOk = await created.wait(o.timeoutSeconds * 1000);
    const createMs = (createdOk ? created.lastAt : performance.now()) - t0;
    const out: Metric[] = [
      { name: "create watchers: total time", value: createMs, unit: "ms", better: "lower" },
      {
        name: "create watchers: rate",
        value: (o.watchers - Math.max(0, created.remaining)) / (createMs / 1000),
        unit: "watchers/s",
        better: "higher",
      },
    ];
    if (!createdOk) {
      out.push({
        name: "watchers not created",
        value: created.remaining,
        unit: "",
        note: ws.errors.join("; "),
      });
    } else {
      const [kv] = putConns.kv(1);
      const fanout = new Samples();
      let incomplete = 0;
      for (let i = 0; i < o.puts; i++) {
        pending = new Countdown(o.watchers);
        const start = performance.now();
        await put(kv!, putRequest(KEY, Buffer.from(String(i))));
        if (await pending.wait(o.timeoutSeconds * 1000)) fanout.add(pending.lastAt - start);
        else incomplete++;
      }
      out.push(...latencyMetrics("put → event at all watchers", fanout, [50]));
      out.push({
        name: "fan-out rate (at p50)",
        value: o.watchers / (fanout.percentile(50) / 1000),
        unit: "ev/s",
        better: "higher",
      });
      if (incomplete > 0) out.push({ name: "puts not fanned out in time", value: incomplete, unit: "puts" });
    }
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
