// Specifies the request scanner: every request on a keep-alive connection is found, across any split of the
// bytes, past Content-Length and chunked bodies; TLS and oversized heads make it give up.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RequestScanner } from "./http_scan.js";

const STREAM = [
  "GET /raft/probing HTTP/1.1\r\nHost: x\r\n\r\n",
  "POST /raft HTTP/1.1\r\nX-Server-From: 0a1\r\nContent-Length: 5\r\n\r\nhello",
  "POST /raft/stream HTTP/1.1\r\nX-Server-From: b2\r\nTransfer-Encoding: chunked\r\n\r\n",
  "3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: t\r\n\r\n",
  "GET /raft/stream/message/c3 HTTP/1.1\r\nx-server-from: C3\r\n\r\n",
].join("");
const WANT = [
  "GET /raft/probing undefined",
  "POST /raft a1",
  "POST /raft/stream b2",
  "GET /raft/stream/message/c3 c3",
];

const scan = (chunks: Buffer[]): string[] => {
  const s = new RequestScanner(1024);
  return chunks.flatMap((c) => s.feed(c).map((r) => `${r.method} ${r.path} ${r.from}`));
};

describe("RequestScanner", () => {
  it("finds every request of a keep-alive connection fed at once", () => {
    assert.deepEqual(scan([Buffer.from(STREAM)]), WANT);
  });
  it("and fed one byte at a time", () => {
    const bytes = Buffer.from(STREAM);
    assert.deepEqual(scan(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))), WANT);
  });
  it("and split at every possible point", () => {
    const bytes = Buffer.from(STREAM);
    for (let i = 0; i <= bytes.length; i++) {
      assert.deepEqual(scan([bytes.subarray(0, i), bytes.subarray(i)]), WANT, `split at ${i}`);
    }
  });
  it("body bytes that look like a request are not one", () => {
    const body = "GET /fake HTTP/1.1\r\n\r\n";
    const req = `POST /raft HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /real HTTP/1.1\r\n\r\n`;
    assert.deepEqual(scan([Buffer.from(req)]), ["POST /raft undefined", "GET /real undefined"]);
  });
  it("gives up on TLS and on a head longer than its limit", () => {
    const tls = new RequestScanner(1024);
    assert.deepEqual(tls.feed(Buffer.from([0x16, 0x03, 0x01])), []);
    assert.ok(tls.opaque);
    assert.deepEqual(tls.feed(Buffer.from("GET / HTTP/1.1\r\n\r\n")), []);
    const long = new RequestScanner(64);
    assert.deepEqual(long.feed(Buffer.from(`GET / HTTP/1.1\r\nX: ${"y".repeat(100)}`)), []);
    assert.ok(long.opaque);
  });
});
