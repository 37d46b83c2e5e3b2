// Specifies Watch through the real wire: an etcd-ts server process driven by Debian's etcdctl and the etcd3
// npm client, and a raw-gRPC scenario compared response for response with a real etcd 3.4 when installed.
// Skipped, with the reason, while the server does not serve etcdserverpb.Watch (it answers UNIMPLEMENTED).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { credentials, status } from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { WatchClient } from "../../proto/index.js";
import { ETCD, ETCDCTL, etcdctl, hasEtcd, hasEtcdctl } from "../../testing/etcdctl.js";
import { cleanEnv, type ServerProcess, startServer } from "../../testing/server_process.js";
import { runWatchScenario, type Transcript } from "./watch_scenario.js";
import { RawWatch, until } from "./watch_test_util.js";

/** Opens a Watch stream and creates one watcher: undefined if served, else why not. */
async function probeWatch(endpoint: string): Promise<string | undefined> {
  const client = new WatchClient(endpoint, credentials.createInsecure());
  const w = new RawWatch(client);
  try {
    w.create({ key: Buffer.from("probe") });
    await until(() => w.responses.length > 0 || w.error !== undefined, "a Watch response", 20_000);
    if (w.error?.code === status.UNIMPLEMENTED)
      return "etcd-ts does not serve etcdserverpb.Watch yet (UNIMPLEMENTED)";
    if (w.error) return `Watch failed: ${w.error.details}`;
    return undefined;
  } finally {
    w.call.cancel();
    client.close();
  }
}

let server: ServerProcess | undefined;
let skip: string | false = hasEtcdctl() ? false : "etcdctl (Debian etcd-client) is not installed";
if (!skip) {
  server = await startServer();
  skip = (await probeWatch(server.endpoint)) ?? false;
  if (skip) {
    await server.stop();
    server.cleanup();
    server = undefined;
  }
}

/** Runs etcdctl `args` in the background while `act` runs, until its stdout satisfies `done` (checked on every chunk). */
async function ctlBackground(
  endpoint: string,
  args: string[],
  input: string | undefined,
  act: () => Promise<void>,
  done: (o: string) => boolean,
) {
  const p = spawn(ETCDCTL, [`--endpoints=${endpoint}`, ...args], {
    env: { ...cleanEnv(), ETCDCTL_API: "3" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let finished = false;
  p.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    finished ||= done(out);
  });
  p.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  if (input !== undefined) p.stdin.write(input);
  try {
    await act();
    await until(
      () => finished || p.exitCode !== null,
      `etcdctl output; got ${JSON.stringify(out)} ${err}`,
      20_000,
    );
  } finally {
    if (p.exitCode === null) p.kill("SIGTERM");
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Watch over the wire (etcd-ts process)", { skip }, () => {
  let ep = "";
  before(() => {
    ep = server!.endpoint;
  });
  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  const ctl = async (...args: string[]) => {
    const r = await etcdctl(ep, args);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  test("watch --prefix --prev-kv prints etcd's lines", async () => {
    let watching = false;
    const out = await ctlBackground(
      ep,
      ["watch", "w", "--prefix", "--prev-kv"],
      undefined,
      async () => {
        // etcdctl prints nothing when its watch is created: write a marker until it shows up.
        for (let i = 0; i < 400 && !watching; i++) {
          await ctl("put", "w0", "m");
          await sleep(25);
        }
        await ctl("put", "w1", "a");
        await ctl("put", "w1", "b");
        await ctl("del", "w1");
        await ctl("put", "w2", "c");
      },
      (o) => {
        watching ||= o.includes("w0\nm\n");
        return o.includes("w2\nc\n");
      },
    );
    const tail = out.slice(out.indexOf("PUT\nw1\na"));
    assert.equal(tail, "PUT\nw1\na\nPUT\nw1\na\nw1\nb\nDELETE\nw1\nb\nw1\n\nPUT\nw2\nc\n");
  });

  test("watch --rev replays history; -w json prints etcd's JSON", async () => {
    const r1 = JSON.parse(await ctl("put", "j", "1", "-w", "json")).header.revision as number;
    await ctl("put", "j", "2");
    const out = await ctlBackground(
      ep,
      ["watch", "j", `--rev=${r1}`, "-w", "json"],
      undefined,
      async () => undefined,
      (o) => o.includes("\n"),
    );
    const j = JSON.parse(out.split("\n")[0]!);
    assert.equal(j.Header.revision >= r1 + 1, true);
    assert.deepEqual(
      j.Events.map((e: { kv: { value: string; mod_revision: number } }) => [
        Buffer.from(e.kv.value, "base64").toString(),
        e.kv.mod_revision,
      ]),
      [
        ["1", r1],
        ["2", r1 + 1],
      ],
    );
    assert.deepEqual([j.CompactRevision, j.Canceled, j.Created], [0, false, false]);
  });

  test("a compacted --rev is canceled with etcd's message", async () => {
    const r1 = JSON.parse(await ctl("put", "cc", "1", "-w", "json")).header.revision as number;
    await ctl("put", "cc", "2");
    await ctl("compaction", String(r1 + 1));
    const r = await etcdctl(ep, ["watch", "cc", `--rev=${r1}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /watch was canceled \(etcdserver: mvcc: required revision has been compacted\)/);
  });

  test("interactive watch -i", async () => {
    let watching = false;
    const out = await ctlBackground(
      ep,
      ["watch", "-i"],
      "watch i1\nwatch i2 --prefix\n",
      async () => {
        for (let i = 0; i < 400 && !watching; i++) {
          await ctl("put", "i2m", String(i));
          await ctl("put", "i1", "m");
          await sleep(25);
        }
        await ctl("put", "i1", "x");
        await ctl("put", "i22", "y");
      },
      (o) => {
        watching ||= o.includes("i2m\n") && o.includes("i1\nm\n");
        return o.includes("i1\nx\n") && o.includes("i22\ny\n");
      },
    );
    // Each interactive watch prints from its own goroutine: the two watchers' lines may come in either order.
    const blocks = out.split("PUT\n").filter(Boolean);
    assert.ok(blocks.includes("i1\nx\n") && blocks.includes("i22\ny\n"), out);
  });

  test("the etcd3 npm client's watch builder", async () => {
    const client = new Etcd3({ hosts: ep });
    try {
      const watcher = await client.watch().prefix("e3/").withPreviousKV().create();
      const seen: string[] = [];
      watcher.on("put", (kv, prev) => seen.push(`put ${kv.key}=${kv.value} prev=${prev?.value ?? ""}`));
      watcher.on("delete", (kv) => seen.push(`delete ${kv.key}`));
      await client.put("e3/a").value("1");
      await client.put("e3/a").value("2");
      await client.delete().key("e3/a");
      await until(() => seen.length === 3, "etcd3 events");
      assert.deepEqual(seen, ["put e3/a=1 prev=", "put e3/a=2 prev=1", "delete e3/a"]);
      await watcher.cancel();
    } finally {
      client.close();
    }
  });
});

const skipDiff = !hasEtcd() ? "etcd (Debian etcd-server) is not installed" : false;

describe("Watch differential: the same raw-gRPC scenario on etcd 3.4 and etcd-ts", { skip: skipDiff }, () => {
  test("etcd-ts answers response for response as etcd does", { timeout: 120_000 }, async (t) => {
    const real = await startServer({ binary: ETCD });
    let want: Transcript;
    try {
      want = await runWatchScenario(real.endpoint);
    } finally {
      await real.stop();
      real.cleanup();
    }
    const ours = await startServer();
    try {
      const why = await probeWatch(ours.endpoint);
      if (why) {
        t.skip(`${why}; the scenario was checked against etcd only`);
        return;
      }
      const got = await runWatchScenario(ours.endpoint);
      assert.deepEqual(got, want);
    } finally {
      await ours.stop();
      ours.cleanup();
    }
  });
});
