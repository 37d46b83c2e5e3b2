// Specifies the Watch gRPC service in-process: a grpc-js server on a temp store, driven by a raw gRPC client,
// by Debian's etcdctl (watch only needs the Watch service) and by the etcd3 npm client.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { Etcd3 } from "etcd3";
import { Event_EventType, WatchCreateRequest_FilterType, type WatchResponse } from "../../proto/index.js";
import { ETCDCTL, etcdctl, hasEtcdctl } from "../../testing/etcdctl.js";
import { cleanEnv } from "../../testing/server_process.js";
import { preframedWritesSupported } from "./grpc_compat.js";
import { HEADER, RawWatch, until, WatchHarness } from "./watch_test_util.js";
import { fragments } from "./watch_wire.js";

const b = (s: string) => Buffer.from(s);
const brief = (r: WatchResponse) => ({
  id: r.watchId,
  rev: r.header?.revision,
  created: r.created,
  canceled: r.canceled,
  reason: r.cancelReason,
  compact: r.compactRevision,
  events: r.events.map(
    (e) => `${e.type === Event_EventType.PUT ? "PUT" : "DELETE"} ${e.kv!.key}=${e.kv!.value}`,
  ),
});

describe("Watch service over gRPC (in-process)", () => {
  let h: WatchHarness;
  before(async () => {
    h = await new WatchHarness({ maxRequestBytes: 1024 }).start();
  });
  after(() => h.stop());

  test("create, events with the cluster header, cancel; unknown cancel and bad creates as etcd", async () => {
    h.write([["k", "v0"]]);
    const rev0 = h.ts.store.revision;
    const w = new RawWatch(h.client());
    w.create({ key: b("k") });
    w.create({ key: b("k"), watchId: 5n });
    w.create({ key: b("k"), watchId: 5n });
    w.create({ key: b("b"), rangeEnd: b("a") });
    await w.waitFor(4);
    h.write([["k", "v1"]]);
    await w.waitFor(6);
    w.cancel(77n);
    w.cancel(0n);
    await w.waitFor(7);
    assert.deepEqual(w.responses[0]!.header, { ...HEADER, revision: rev0 });
    assert.deepEqual(w.responses.slice(0, 4).map(brief), [
      { id: 0n, rev: rev0, created: true, canceled: false, reason: "", compact: 0n, events: [] },
      { id: 5n, rev: rev0, created: true, canceled: false, reason: "", compact: 0n, events: [] },
      {
        id: -1n,
        rev: rev0,
        created: true,
        canceled: true,
        reason: "mvcc: duplicate watch ID provided on the WatchStream",
        compact: 0n,
        events: [],
      },
      {
        id: -1n,
        rev: rev0,
        created: true,
        canceled: true,
        reason: "mvcc: watcher range is empty",
        compact: 0n,
        events: [],
      },
    ]);
    const evs = w.responses.slice(4, 6).map(brief);
    assert.deepEqual(evs.map((e) => e.id).sort(), [0n, 5n]);
    assert.ok(evs.every((e) => e.rev === rev0 + 1n && e.events[0] === "PUT k=v1"));
    assert.deepEqual(brief(w.responses[6]!), {
      id: 0n,
      rev: rev0 + 1n,
      created: false,
      canceled: true,
      reason: "",
      compact: 0n,
      events: [],
    });
    w.call.cancel();
  });

  test("history, prev_kv, filters, progress request, and the client closing its side", async () => {
    const r1 = h.write([["h", "1"]]);
    h.write([["h", "2"]]);
    h.write([["h", undefined]]);
    const w = new RawWatch(h.client());
    w.create({ key: b("h"), startRevision: r1, prevKv: true });
    w.create({ key: b("h"), startRevision: r1, filters: [WatchCreateRequest_FilterType.NOPUT] });
    await until(() => w.responses.filter((r) => r.events.length > 0).length === 2, "history");
    w.progress();
    await until(() => w.responses.some((r) => r.watchId === -1n), "progress");
    const hist = w.responses.filter((r) => r.watchId === 0n && r.events.length > 0);
    assert.deepEqual(
      hist.flatMap((r) =>
        r.events.map((e) => [e.type, String(e.kv!.value), e.prevKv ? String(e.prevKv.value) : null]),
      ),
      [
        [Event_EventType.PUT, "1", null],
        [Event_EventType.PUT, "2", "1"],
        [Event_EventType.DELETE, "", "2"],
      ],
    );
    const noPut = w.responses.filter((r) => r.watchId === 1n && r.events.length > 0);
    assert.deepEqual(
      noPut.flatMap((r) => r.events.map((e) => e.type)),
      [Event_EventType.DELETE],
    );
    const progress = w.responses.find((r) => r.watchId === -1n)!;
    assert.equal(progress.header?.revision, h.ts.store.revision);
    // Half-close: etcd keeps the stream and its watchers.
    w.call.end();
    h.write([["h", "3"]]);
    await until(
      () => w.responses.filter((r) => r.watchId === 0n).length === hist.length + 2,
      "event after half-close",
    );
    w.call.cancel();
  });

  test("a compacted start revision: created, then canceled with compact_revision and header revision 0", async () => {
    const r1 = h.write([["c", "1"]]);
    const r2 = h.write([["c", "2"]]);
    h.ts.store.compact(r2);
    const w = new RawWatch(h.client());
    w.create({ key: b("c"), startRevision: r1 });
    const [created, canceled] = await w.waitFor(2);
    assert.ok(created!.created);
    assert.deepEqual(brief(canceled!), {
      id: 0n,
      rev: 0n,
      created: false,
      canceled: true,
      reason: "",
      compact: r2,
      events: [],
    });
    w.call.cancel();
  });

  test("a client that cancels the call removes its watchers", async () => {
    await until(() => h.watchable.stats().streams === 0, "earlier tests' streams to close");
    const w = new RawWatch(h.client());
    w.create({ key: b("gone") });
    await w.waitFor(1);
    assert.equal(h.watchable.stats().streams, 1);
    w.call.cancel();
    await until(() => h.watchable.stats().streams === 0, "stream closed on the server");
    assert.equal(h.watchable.stats().synced, 0);
  });

  test("fragment=true splits a large response under max-request-bytes + 512 KiB; others are whole", async () => {
    const w = new RawWatch(h.client());
    w.create({ key: b("f"), rangeEnd: b("g"), fragment: true });
    w.create({ key: b("f"), rangeEnd: b("g") });
    await w.waitFor(2);
    const big = "x".repeat(200 * 1024);
    h.write([
      ["f1", big],
      ["f2", big],
      ["f3", big],
      ["f4", big],
    ]);
    await until(() => w.responses.filter((r) => r.events.length > 0).length >= 3, "fragments");
    const frag = w.responses.filter((r) => r.watchId === 0n && r.events.length > 0);
    assert.deepEqual(
      frag.map((r) => [r.fragment, r.events.length]),
      [
        [true, 2],
        [false, 2],
      ],
    );
    const whole = w.responses.filter((r) => r.watchId === 1n && r.events.length > 0);
    assert.deepEqual(
      whole.map((r) => [r.fragment, r.events.length]),
      [[false, 4]],
    );
    w.call.cancel();
  });

  test("a client that stops reading parks its watcher; apply goes on; nothing is lost when it reads again", async () => {
    const slow = new RawWatch(h.client());
    const fast = new RawWatch(h.client());
    slow.create({ key: b("bp") });
    fast.create({ key: b("bp") });
    await slow.waitFor(1);
    await fast.waitFor(1);
    slow.call.pause();
    const value = "v".repeat(32 * 1024);
    const first = h.ts.store.revision + 1n;
    let parked = false;
    for (let i = 0; i < 400; i++) {
      h.write([["bp", `${i}:${value}`]]);
      if (i % 20 === 0) await new Promise((r) => setImmediate(r)); // let the sockets move
      parked ||= h.watchable.stats().victims > 0;
    }
    assert.ok(parked, "the slow stream's watcher became a victim");
    await until(
      () => fast.responses.flatMap((r) => r.events).length === 400,
      "the fast stream to get everything",
    );
    // The paused client's watcher stays parked with one response: the server holds no backlog for it.
    assert.equal(h.watchable.stats().victims, 1);
    assert.ok(slow.responses.flatMap((r) => r.events).length < 400);
    slow.call.resume();
    await until(() => slow.responses.flatMap((r) => r.events).length === 400, "the slow stream caught up");
    const revs = slow.responses.flatMap((r) => r.events.map((e) => e.kv!.modRevision));
    assert.deepEqual(
      revs,
      Array.from({ length: 400 }, (_, i) => first + BigInt(i)),
    );
    slow.call.cancel();
    fast.call.cancel();
  });

  test("responses of one turn leave as one write of several messages: each arrives whole and in order", async () => {
    assert.equal(preframedWritesSupported(), true, "grpc-js patch for batched writes is installed");
    const w = new RawWatch(h.client());
    const n = 40;
    for (let i = 0; i < n; i++) w.create({ key: b("batch/"), rangeEnd: b("batch0"), prevKv: i % 2 === 0 });
    await w.waitFor(n);
    const first = h.write([["batch/a", "1"]]);
    h.write([["batch/b", "2"]]);
    h.write([["batch/a", undefined]]);
    const all = await w.waitFor(n + 3 * n);
    const events = all.slice(n);
    for (let i = 0; i < n; i++) {
      const mine = events.filter((r) => r.watchId === BigInt(i));
      assert.deepEqual(
        mine.map((r) => [r.header?.revision, ...brief(r).events]),
        [
          [first, "PUT batch/a=1"],
          [first + 1n, "PUT batch/b=2"],
          [first + 2n, "DELETE batch/a="],
        ],
      );
      assert.equal(mine[2]!.events[0]!.prevKv?.value.toString(), i % 2 === 0 ? "1" : undefined);
    }
    w.call.cancel();
  });

  test("fragments(): etcd's splitting rule", () => {
    const ev = (n: number) => ({
      type: Event_EventType.PUT,
      kv: {
        key: b("k"),
        value: Buffer.alloc(n),
        createRevision: 1n,
        modRevision: 1n,
        version: 1n,
        lease: 0n,
      },
    });
    const msg = {
      header: undefined,
      watchId: 1n,
      created: false,
      canceled: false,
      compactRevision: 0n,
      cancelReason: "",
      fragment: false,
      events: [ev(100), ev(100), ev(100)],
    };
    assert.equal(fragments(msg, 10_000).length, 1, "small enough: whole");
    assert.equal(fragments({ ...msg, events: [ev(50_000)] }, 100).length, 1, "a single event is never split");
    const parts = fragments(msg, 200); // 4 bytes of fields + 115 per event: two would reach 234
    assert.deepEqual(
      parts.map((p) => [p.fragment, p.events.length]),
      [
        [true, 1],
        [true, 1],
        [false, 1],
      ],
    );
  });
});

const skipCtl = hasEtcdctl() ? false : "etcdctl (Debian etcd-client) is not installed";

describe("Watch service with etcdctl and the etcd3 client (in-process)", { skip: skipCtl }, () => {
  let h: WatchHarness;
  before(async () => {
    h = await new WatchHarness().start();
  });
  after(() => h.stop());

  /** Runs `etcdctl watch ...` until `done(stdout)` holds, then stops it. */
  async function ctlWatch(
    args: string[],
    act: () => void | Promise<void>,
    done: (out: string) => boolean,
    opts: { input?: string; watchers?: number } = {},
  ) {
    const { input, watchers = 1 } = opts;
    await until(() => h.watchable.stats().streams === 0, "earlier watch streams to close");
    const p = spawn(ETCDCTL, [`--endpoints=${h.endpoint}`, "watch", ...args], {
      env: { ...cleanEnv(), ETCDCTL_API: "3" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number>((r) => p.on("close", (code) => r(code ?? -1)));
    if (input !== undefined) p.stdin.write(input);
    try {
      await until(() => h.watchable.stats().synced >= watchers || p.exitCode !== null, "etcdctl's watchers");
      await act();
      await until(
        () => done(out) || p.exitCode !== null,
        `etcdctl output; got ${JSON.stringify(out)} ${err}`,
      );
    } finally {
      if (p.exitCode === null) p.kill("SIGTERM");
    }
    const code = await exited;
    return { out, err, code };
  }

  test("watch --prefix --prev-kv prints etcd's lines", async () => {
    const { out } = await ctlWatch(
      ["w", "--prefix", "--prev-kv"],
      () => {
        h.write([["w1", "a"]]);
        h.write([["w1", "b"]]);
        h.write([["w1", undefined]]);
        h.write([["w2", "c"]]);
      },
      (o) => o.includes("w2\nc\n"),
    );
    assert.equal(out, "PUT\nw1\na\nPUT\nw1\na\nw1\nb\nDELETE\nw1\nb\nw1\n\nPUT\nw2\nc\n");
  });

  test("watch --rev replays history; -w json prints etcd's JSON", async () => {
    const r = h.write([["j", "1"]]);
    h.write([["j", "2"]]);
    const { out } = await ctlWatch(
      ["j", `--rev=${r}`, "-w", "json"],
      () => undefined,
      (o) => o.split("\n").filter(Boolean).length >= 1,
    );
    const j = JSON.parse(out.split("\n")[0]!);
    assert.deepEqual(j.Header, { cluster_id: 11, member_id: 22, revision: Number(r) + 1, raft_term: 3 });
    assert.deepEqual(
      j.Events.map((e: { kv: { value: string; mod_revision: number } }) => [
        Buffer.from(e.kv.value, "base64").toString(),
        e.kv.mod_revision,
      ]),
      [
        ["1", Number(r)],
        ["2", Number(r) + 1],
      ],
    );
    assert.equal(j.Canceled, false);
  });

  test("a compacted --rev: etcdctl reports etcd's cancel and exits non-zero", async () => {
    const r = h.write([["cc", "1"]]);
    const r2 = h.write([["cc", "2"]]);
    h.ts.store.compact(r2);
    const res = await etcdctl(h.endpoint, ["watch", "cc", `--rev=${r}`]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /watch was canceled \(etcdserver: mvcc: required revision has been compacted\)/);
  });

  test("interactive watch -i", async () => {
    const { out } = await ctlWatch(
      ["-i"],
      () => {
        h.write([["i1", "x"]]);
        h.write([["i22", "y"]]);
      },
      (o) => o.includes("i1\nx\n") && o.includes("i22\ny\n"),
      { input: "watch i1\nwatch i2 --prefix\n", watchers: 2 },
    );
    // Each interactive watch prints from its own goroutine: the two watchers' lines may come in either order.
    assert.deepEqual(out.split("PUT\n").filter(Boolean).sort(), ["i1\nx\n", "i22\ny\n"]);
  });

  test("the etcd3 npm client's watch builder: prefix, prev kv, cancel", async () => {
    const client = new Etcd3({ hosts: h.endpoint });
    try {
      const watcher = await client.watch().prefix("e3/").withPreviousKV().create();
      const seen: string[] = [];
      watcher.on("put", (kv, prev) => seen.push(`put ${kv.key}=${kv.value} prev=${prev?.value ?? ""}`));
      watcher.on("delete", (kv) => seen.push(`delete ${kv.key}`));
      h.write([["e3/a", "1"]]);
      h.write([["e3/a", "2"]]);
      h.write([["e3/a", undefined]]);
      h.write([["other", "x"]]);
      await until(() => seen.length === 3, "etcd3 events");
      assert.deepEqual(seen, ["put e3/a=1 prev=", "put e3/a=2 prev=1", "delete e3/a"]);
      await watcher.cancel();
    } finally {
      client.close();
    }
  });
});
