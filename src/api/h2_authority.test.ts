// Specifies the HPACK decoder against RFC 7541's examples and the Huffman table, and the client port's handling of
// Go clients that send a URL as :authority (etcdctl --endpoints=http://…, endpoint status --cluster).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { pino } from "pino";
import { type Etcd, startEtcd } from "../embed/etcd.js";
import { KVClient, RangeRequest } from "../proto/index.js";
import { etcdctl, hasEtcdctl } from "../testing/etcdctl.js";
import { TEST_SERVER_DEFAULTS } from "../testing/server_defaults.js";
import { freePort } from "../testing/server_process.js";
import { ADMIT_WAIT_MS, fixAuthority } from "./h2_authority.js";
import { encodeLiteral, HpackDecoder, huffmanCode, huffmanDecode } from "./hpack.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

describe("HPACK", () => {
  test("the canonical Huffman code is RFC 7541's (spot checks)", () => {
    assert.deepEqual(huffmanCode(0), { code: 0x1ff8, bits: 13 });
    assert.deepEqual(huffmanCode(48), { code: 0x0, bits: 5 });
    assert.deepEqual(huffmanCode(32), { code: 0x14, bits: 6 });
    assert.deepEqual(huffmanCode(97), { code: 0x3, bits: 5 });
    assert.deepEqual(huffmanCode(126), { code: 0x1ffd, bits: 13 });
    assert.deepEqual(huffmanCode(255), { code: 0x3ffffee, bits: 26 });
    assert.deepEqual(huffmanCode(256), { code: 0x3fffffff, bits: 30 });
    assert.equal(huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff")), "www.example.com");
  });

  test("decodes RFC 7541 C.4 (requests with Huffman), keeping the dynamic table across blocks", () => {
    const d = new HpackDecoder();
    assert.deepEqual(d.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")), [
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
    ]);
    assert.deepEqual(d.decode(hex("8286 84be 5886 a8eb 1064 9cbf")), [
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
      ["cache-control", "no-cache"],
    ]);
    assert.deepEqual(d.decode(hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")), [
      [":method", "GET"],
      [":scheme", "https"],
      [":path", "/index.html"],
      [":authority", "www.example.com"],
      ["custom-key", "custom-value"],
    ]);
  });

  test("literal encoding round-trips, long values included", () => {
    const fields: [string, string][] = [
      [":authority", "127.0.0.1:2379"],
      ["x-long", "v".repeat(300)],
    ];
    assert.deepEqual(new HpackDecoder().decode(encodeLiteral(fields)), fields);
  });

  test("an authority with a scheme loses it (and any path)", () => {
    assert.equal(fixAuthority("http://127.0.0.1:2379"), "127.0.0.1:2379");
    assert.equal(fixAuthority("https://[::1]:2379/x"), "[::1]:2379");
    assert.equal(fixAuthority("127.0.0.1:2379"), "127.0.0.1:2379");
  });
});

describe("the client port with URL authorities", {
  skip: hasEtcdctl() ? false : "etcdctl is not installed",
}, () => {
  let etcd: Etcd;
  let dir: string;
  let endpoint: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "etcd-ts-h2auth-"));
    const port = await freePort();
    const peer = `http://127.0.0.1:${await freePort()}`;
    endpoint = `127.0.0.1:${port}`;
    etcd = await startEtcd({
      name: "default",
      dataDir: dir,
      initialAdvertisePeerUrls: [peer],
      advertiseClientUrls: [`http://${endpoint}`],
      initialCluster: new Map([["default", [peer]]]),
      initialClusterToken: "t",
      initialClusterState: "new",
      ...TEST_SERVER_DEFAULTS,
      heartbeatMs: 100,
      electionMs: 1000,
      listenClientUrls: [new URL(`http://${endpoint}`)],
      logger: pino({ level: "silent" }),
    });
  });
  after(async () => {
    await etcd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("etcdctl with an http:// endpoint works, as with a bare host:port", async () => {
    const put = await etcdctl(`http://${endpoint}`, ["put", "k", "v"]);
    assert.equal(put.stdout, "OK\n", put.stderr);
    const get = await etcdctl(`http://${endpoint}`, ["get", "k"]);
    assert.equal(get.stdout, "k\nv\n");
    const status = await etcdctl(endpoint, ["endpoint", "status", "--cluster", "-w", "json"]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`"Endpoint":"http://${endpoint}"`));
  });

  test("a gRPC client that connects and waits before its first call is served", async () => {
    const kv = new KVClient(endpoint, credentials.createInsecure());
    try {
      await new Promise<void>((resolve, reject) =>
        kv.waitForReady(Date.now() + 5000, (err) => (err ? reject(err) : resolve())),
      );
      await new Promise((r) => setTimeout(r, ADMIT_WAIT_MS + 200));
      const r = await new Promise<{ kvs: { value: Buffer }[] }>((resolve, reject) =>
        kv.range(RangeRequest.fromPartial({ key: Buffer.from("k") }), (err, res) =>
          err ? reject(err) : resolve(res),
        ),
      );
      assert.equal(r.kvs[0]?.value.toString(), "v");
    } finally {
      kv.close();
    }
  });
});
