// Specifies the client's watchers against a real server: events in order, options, cancel, compaction,
// progress, server-side refusals, fragments and back-pressure on one multiplexed stream.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Event_EventType } from "../proto/index.js";
import { Client } from "./client.js";
import { CompactedError, WatchCanceledError } from "./errors.js";
import { str, TestServer, take, until, within } from "./test_util.js";
import { MAX_WATCHER_BUFFER, type WatchResponse } from "./watcher.js";

const events = (batches: WatchResponse[]) =>
  batches.flatMap((b) =>
    b.events.map((e) => `${e.type === Event_EventType.PUT ? "PUT" : "DEL"} ${str(e.kv?.key)}`),
  );

describe("client watch", () => {
  let server: TestServer;
  let client: Client;
  before(async () => {
    server = await TestServer.start(["--experimental-watch-progress-notify-interval=200ms"]);
    client = await Client.connect({ endpoints: [server.endpoint] });
  });
  after(async () => {
    await client?.close();
    await server?.dispose();
  });

  test("a watcher gets every event of its key or prefix in order, after created", async () => {
    const w = client.watch.watch("w1/", { prefix: true });
    const createdAt = await within(w.created, "created");
    const it = w[Symbol.asyncIterator]();
    const r1 = await client.kv.put("w1/a", "1");
    assert.equal(r1.header!.revision, createdAt + 1n);
    await client.kv.put("other", "x");
    await client.kv.put("w1/b", "2");
    await client.kv.delete("w1/a");
    const got = await take(it, 3);
    assert.deepEqual(events(got), ["PUT w1/a", "PUT w1/b", "DEL w1/a"]);
    assert.ok(got.every((b) => !b.progressNotify));
    assert.equal(w.revision, got[2]!.events[0]!.kv!.modRevision);
    w.cancel();
    assert.deepEqual(await it.next(), { value: undefined, done: true });
  });

  test("startRevision replays history; prevKv and filters", async () => {
    const first = (await client.kv.put("w2/k", "1")).header!.revision;
    await client.kv.put("w2/k", "2");
    await client.kv.delete("w2/k");
    const replay = client.watch.watch("w2/k", { startRevision: first, prevKv: true });
    const got = await take(replay[Symbol.asyncIterator](), 1, "replayed batch");
    // A catching-up watcher may get several revisions in one batch.
    const all = [...got];
    while (events(all).length < 3) all.push(...(await take(replay[Symbol.asyncIterator](), 1)));
    assert.deepEqual(events(all), ["PUT w2/k", "PUT w2/k", "DEL w2/k"]);
    const flat = all.flatMap((b) => b.events);
    assert.equal(str(flat[1]!.prevKv?.value), "1");
    assert.equal(str(flat[2]!.prevKv?.value), "2");
    replay.cancel();

    const noPut = client.watch.watch("w2/", { prefix: true, startRevision: first, noPut: true });
    assert.deepEqual(events(await take(noPut[Symbol.asyncIterator](), 1)), ["DEL w2/k"]);
    noPut.cancel();
    const noDelete = client.watch.watch("w2/", { prefix: true, startRevision: first, noDelete: true });
    const puts: WatchResponse[] = [];
    while (events(puts).length < 2) puts.push(...(await take(noDelete[Symbol.asyncIterator](), 1)));
    assert.deepEqual(events(puts), ["PUT w2/k", "PUT w2/k"]);
    noDelete.cancel();
  });

  test("break, cancel() and an AbortSignal end the iteration; many watchers share the stream", async () => {
    const ac = new AbortController();
    const watchers = Array.from({ length: 20 }, (_, i) =>
      client.watch.watch(`w3/${i}`, i === 0 ? { signal: ac.signal } : {}),
    );
    await within(Promise.all(watchers.map((w) => w.created)), "20 created");
    for (let i = 0; i < 20; i++) await client.kv.put(`w3/${i}`, "v");
    for await (const b of watchers[1]!) {
      assert.deepEqual(events([b]), ["PUT w3/1"]);
      break; // cancels the watcher
    }
    assert.equal((await watchers[1]![Symbol.asyncIterator]().next()).done, true);
    for (let i = 2; i < 20; i++) {
      assert.deepEqual(events(await take(watchers[i]![Symbol.asyncIterator](), 1)), [`PUT w3/${i}`]);
      watchers[i]!.cancel();
      assert.equal((await watchers[i]![Symbol.asyncIterator]().next()).done, true);
    }
    ac.abort();
    // Batches received before the abort are still delivered, then the iteration ends.
    const rest = [];
    for await (const b of watchers[0]!) rest.push(b);
    assert.ok(rest.length <= 1);
  });

  test("a watch from a compacted revision throws CompactedError with the compact revision", async () => {
    const r1 = (await client.kv.put("w4/k", "1")).header!.revision;
    const r2 = (await client.kv.put("w4/k", "2")).header!.revision;
    await client.kv.compact(r2, { physical: true });
    const w = client.watch.watch("w4/k", { startRevision: r1 });
    await assert.rejects(
      within(take(w[Symbol.asyncIterator](), 1), "compaction"),
      (e: unknown) => e instanceof CompactedError && e.compactRevision === r2,
    );
  });

  test("a range the server refuses rejects created and the iteration", async () => {
    const w = client.watch.watch("z", { rangeEnd: "a" });
    await assert.rejects(within(w.created, "refusal"), WatchCanceledError);
    await assert.rejects(w[Symbol.asyncIterator]().next(), /mvcc: watcher range is empty/);
  });

  test("progress: requested for all watchers, and periodic with progressNotify", async () => {
    const w = client.watch.watch("w5/", { prefix: true });
    await within(w.created, "created");
    const rev = (await client.kv.put("elsewhere", "x")).header!.revision;
    assert.ok(client.watch.requestProgress());
    const [p] = await take(w[Symbol.asyncIterator](), 1, "progress response");
    assert.ok(p!.progressNotify);
    assert.equal(p!.events.length, 0);
    assert.ok(p!.header.revision >= rev);
    w.cancel();
    const periodic = client.watch.watch("w6/", { prefix: true, progressNotify: true });
    const [n] = await take(periodic[Symbol.asyncIterator](), 1, "periodic progress notification");
    assert.ok(n!.progressNotify);
    periodic.cancel();
  });

  test("a slow consumer pauses the stream without losing anything", async () => {
    const total = Math.ceil((MAX_WATCHER_BUFFER + 100) / 100) * 100;
    const w = client.watch.watch("w7/", { prefix: true });
    await within(w.created, "created");
    // One write at a time: each revision is its own response (concurrent writes may share one).
    for (let i = 0; i < total; i++) await client.kv.put(`w7/${i}`, "v");
    // Nobody reads yet: once the watcher's buffer is full, the shared stream stops reading.
    const stream = (client.watch as unknown as { stream: { stream: { isPaused: boolean } } }).stream.stream;
    await until(() => stream.isPaused, "the stream to pause");
    const it = w[Symbol.asyncIterator]();
    const seen: bigint[] = [];
    while (seen.length < total) {
      const [b] = await take(it, 1, `event ${seen.length + 1} of ${total}`);
      for (const e of b!.events) seen.push(e.kv!.modRevision);
    }
    assert.equal(seen.length, total);
    assert.ok(seen.every((r, i) => i === 0 || r > seen[i - 1]!));
    w.cancel();
  });
});

describe("client watch fragments", () => {
  test("fragmented responses are joined into one batch", async () => {
    const server = await TestServer.start(["--max-request-bytes=65536"]);
    const client = new Client({ endpoints: [server.endpoint] });
    try {
      const value = "x".repeat(60_000);
      for (let i = 0; i < 12; i++) await client.kv.put(`f/${String(i).padStart(2, "0")}`, value);
      const w = client.watch.watch("f/", { prefix: true, prevKv: true, fragment: true });
      await within(w.created, "created");
      await client.kv.delete("f/", { prefix: true });
      const [b] = await take(w[Symbol.asyncIterator](), 1, "the delete batch");
      assert.equal(b!.events.length, 12);
      assert.ok(
        b!.events.every((e) => e.type === Event_EventType.DELETE && e.prevKv?.value.length === 60_000),
      );
    } finally {
      await client.close();
      await server.dispose();
    }
  });
});
