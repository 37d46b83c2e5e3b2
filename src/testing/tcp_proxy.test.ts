// Specifies the peer-network proxy: which direction a peer connection carries, that rules refuse new connections
// and drop live ones carrying the blocked direction only, unattributed traffic, heal and delay.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { carriedDirection, normalizeId, PeerNetwork, parsePeerRequest } from "./tcp_proxy.js";

const ID = { a: "a1", b: "b2", c: "c3" } as const;
/** Bounds a wait on a socket event so a broken proxy fails the test instead of hanging it. */
const DEADLINE_MS = 5_000;

describe("parsePeerRequest and carriedDirection", () => {
  const req = (head: string) => parsePeerRequest(Buffer.from(head));
  it("waits for the end of the headers", () => {
    assert.equal(req("GET /raft/stream/message/a1 HTTP/1.1\r\nX-Server-From: a1\r\n"), undefined);
  });
  it("reads the method, path and X-Server-From in any case, normalized", () => {
    assert.deepEqual(req("POST /raft HTTP/1.1\r\nHost: x\r\nx-server-from: 00AB\r\n\r\nbody"), {
      method: "POST",
      path: "/raft",
      from: "ab",
    });
    assert.deepEqual(req("GET /members HTTP/1.1\r\nHost: x\r\n\r\n"), {
      method: "GET",
      path: "/members",
      from: undefined,
    });
    assert.equal(normalizeId("zz"), undefined);
  });
  const cases: [string, string, string | undefined][] = [
    // etcd's stream: the dialer a1 sends a GET to b2 and receives b2's messages on the response.
    ["GET", "/raft/stream/message/a1", "b2>a1"],
    ["GET", "/raft/stream/msgappv2/a1", "b2>a1"],
    // etcd's pipeline and snapshots, etcd-ts's streams and snapshots: the dialer sends.
    ["POST", "/raft", "a1>b2"],
    ["POST", "/raft/snapshot", "a1>b2"],
    ["POST", "/raft/stream", "a1>b2"],
  ];
  for (const [method, path, want] of cases) {
    it(`${method} ${path} from a1 at b2's proxy carries ${want}`, () => {
      const d = carriedDirection({ method, path, from: "a1" }, "b2");
      assert.equal(d && `${d.from}>${d.to}`, want);
    });
  }
  it("a request without X-Server-From is unattributed", () => {
    assert.equal(carriedDirection({ method: "GET", path: "/version", from: undefined }, "b2"), undefined);
  });
});

/** Upstream servers standing in for members' peer ports: they echo what they receive, prefixed with their name. */
describe("PeerNetwork", () => {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  let net: PeerNetwork;

  before(async () => {
    const ports: number[] = [];
    for (const name of ["a", "b", "c"]) {
      const s = createServer((sock) => {
        sockets.add(sock);
        sock.on("data", (d) => sock.write(`${name}:${d.toString()}`));
        sock.on("error", () => {});
      });
      s.listen(0, "127.0.0.1");
      await once(s, "listening");
      servers.push(s);
      const addr = s.address();
      ports.push(typeof addr === "object" && addr ? addr.port : 0);
    }
    net = await PeerNetwork.start(["a", "b", "c"]);
    ["a", "b", "c"].forEach((name, i) => {
      net.setUpstream(name, ports[i]!);
    });
    for (const [name, id] of Object.entries(ID)) net.setMemberId(name, id);
  });
  after(async () => {
    await net.close();
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  /** Opens a connection to `to`'s proxy as `from` would; resolves with the socket once the echo came back. */
  async function dial(from: keyof typeof ID | undefined, to: string, method = "POST", path = "/raft") {
    const port = Number(new URL(net.url(to)).port);
    const sock = connect(port, "127.0.0.1");
    sock.on("error", () => {});
    const hdr = from ? `X-Server-From: ${ID[from]}\r\n` : "";
    sock.write(`${method} ${path} HTTP/1.1\r\nHost: x\r\n${hdr}\r\n`);
    const got = await firstData(sock);
    return { sock, got };
  }

  /** The first data, or "closed" if the proxy closes the connection first. */
  function firstData(sock: Socket): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no answer and not closed")), DEADLINE_MS);
      sock.once("data", (d) => {
        clearTimeout(timer);
        resolve(d.toString());
      });
      sock.once("close", () => {
        clearTimeout(timer);
        resolve("closed");
      });
    });
  }

  it("forwards both ways to the member behind the proxy", async () => {
    const { sock, got } = await dial("a", "b");
    assert.match(got, /^b:POST \/raft HTTP\/1.1/);
    sock.write("more");
    assert.equal(await firstData(sock), "b:more");
    sock.destroy();
  });

  it("blackhole(a, b) refuses and drops exactly the connections carrying a → b", async () => {
    const live = await dial("a", "b"); // a's pipeline to b: a → b
    const reverse = await dial("b", "a"); // b's pipeline to a: b → a
    const closed = once(live.sock, "close");
    net.blackhole("a", "b");
    await closed;
    assert.equal((await dial("a", "b")).got, "closed", "a's POST to b");
    assert.equal((await dial("b", "a", "GET", "/raft/stream/message/b2")).got, "closed", "b's stream from a");
    assert.match((await dial("a", "b", "GET", "/raft/stream/message/a1")).got, /^b:GET/, "a's stream from b");
    assert.match((await dial("b", "a")).got, /^a:POST/, "b's POST to a");
    reverse.sock.write("still");
    assert.equal(await firstData(reverse.sock), "a:still");
    assert.ok(net.isBlocked("a", "b") && !net.isBlocked("b", "a"));
    net.heal();
    assert.match((await dial("a", "b")).got, /^b:POST/, "healed");
    reverse.sock.destroy();
  });

  it("judges every request on a keep-alive connection, not just the first", async () => {
    // etcd probes with an unattributed GET and may reuse the connection for a stream.
    const { sock, got } = await dial(undefined, "a", "GET", "/raft/probing");
    assert.match(got, /^a:GET \/raft\/probing/);
    net.blackhole("a", "b");
    const closed = firstData(sock);
    sock.write(`GET /raft/stream/message/${ID.b} HTTP/1.1\r\nX-Server-From: ${ID.b}\r\n\r\n`);
    assert.equal(await closed, "closed", "b's stream from a carries a → b");
    net.heal();
  });

  it("isolate(c) cuts c off both ways and refuses unattributed requests to c only", async () => {
    net.isolate("c");
    assert.equal((await dial("a", "c")).got, "closed");
    assert.equal((await dial("c", "a")).got, "closed");
    assert.equal((await dial(undefined, "c", "GET", "/version")).got, "closed");
    assert.match((await dial(undefined, "a", "GET", "/version")).got, /^a:GET/);
    assert.match((await dial("a", "b")).got, /^b:POST/, "a and b still talk");
    net.heal();
    assert.match((await dial("a", "c")).got, /^c:POST/);
  });

  it("delay holds forwarded data for at least the delay, in order", async () => {
    const { sock } = await dial("a", "b");
    net.delay(200);
    const t0 = performance.now();
    sock.write("x");
    const got = await firstData(sock);
    // Both legs are delayed; timers may fire a millisecond early.
    assert.ok(performance.now() - t0 >= 2 * 200 - 5, `took ${performance.now() - t0} ms`);
    assert.equal(got, "b:x");
    net.delay(0);
    sock.destroy();
  });
});
