// Owns the test network between cluster members: one TCP proxy in front of each member's peer port, and the
// rules (one-way blackholes, partitions, isolation, delay) that decide which peer traffic gets through.
//
// Each member listens on its real peer port but advertises its proxy's URL, so every peer connection *to* member
// T arrives at T's proxy. The proxy reads each HTTP/1.1 request on the connection (http_scan.ts) to learn who
// sent it (`X-Server-From`, the sender's hex member id: etcd's rafthttp and etcd-ts's transport both set it) and
// so which direction the connection carries raft messages:
//
//   etcd rafthttp   GET  /raft/stream/{message,msgappv2}/<F>  dialed by F: T writes messages to F on the
//                                                            response body → carries T → F
//                   POST /raft (pipeline), /raft/snapshot     dialed by F, messages in the body → carries F → T
//   etcd-ts         POST /raft/stream, /raft/snapshot         dialed by F, messages in the body → carries F → T
//
// So `blackhole(A, B)` (messages from A to B are lost) refuses and drops A's POSTs at B's proxy *and* B's stream
// GETs at A's proxy, whichever of them carries A's messages, while B → A keeps flowing. Every request counts, not
// just the first: etcd's stream round tripper probes GET /raft/probing (no X-Server-From) and may then reuse that
// keep-alive connection for a stream. Peer requests without X-Server-From (etcd's /members, /version, /leases
// forwarding, /raft/probing) cannot be attributed to a sender: they pass unless their receiver is isolated.
// Peer TLS cannot be read: such connections are unattributed too. "Blocked" means a connection is closed as soon
// as a blocked request's head arrives, before it is forwarded, and a live connection that a new rule blocks is
// destroyed: like a network failure, but noticed at once.
import { connect, createServer, type Server, type Socket } from "node:net";
import { normalizeId, type PeerRequest, RequestScanner } from "./http_scan.js";

export { normalizeId, type PeerRequest, parsePeerRequest } from "./http_scan.js";

/** The longest request head we read; past it we stop following the connection's requests. */
export const MAX_PEEK_BYTES = 16 * 1024;
/** A connection that has not sent its headers by then is forwarded unattributed. */
export const PEEK_TIMEOUT_MS = 5_000;
/** With a delay, pause reading from a side once this much is waiting for its time to be written. */
export const MAX_DELAYED_BYTES = 16 * 1024 * 1024;

/** The direction of raft messages a peer connection to member `to` carries, given its first request. */
export function carriedDirection(req: PeerRequest, to: string): { from: string; to: string } | undefined {
  if (req.from === undefined) return undefined;
  const sender = req.from;
  // etcd's stream: the dialer sends a GET and *receives* messages on the response.
  if (req.method === "GET" && req.path.startsWith("/raft/stream/")) return { from: to, to: sender };
  return { from: sender, to };
}

/** One proxied connection: which member's proxy took it and its latest request. */
interface Conn {
  member: string;
  /** The latest request; undefined until one was read, or if none can be (TLS). */
  req: PeerRequest | undefined;
  scanner: RequestScanner;
  client: Socket;
  upstream: Socket | undefined;
}

interface MemberProxy {
  name: string;
  server: Server;
  port: number;
  /** 0 until set. */
  upstreamPort: number;
  /** Hex member id, once known. */
  id: string | undefined;
}

export interface NetworkStats {
  forwarded: number;
  refused: number;
  dropped: number;
}

/**
 * The peer network of a test cluster: a proxy per member, addressed by member name. Rules name members; the
 * proxies match them to connections by member id, so call `setMemberId` for every member once it is known.
 */
export class PeerNetwork {
  private readonly proxies = new Map<string, MemberProxy>();
  private readonly conns = new Set<Conn>();
  /** Blocked directions, "fromName>toName". */
  private readonly blocked = new Set<string>();
  private readonly isolated = new Set<string>();
  private delayMs = 0;
  readonly stats: NetworkStats = { forwarded: 0, refused: 0, dropped: 0 };

  private constructor() {}

  /** Starts a proxy on a free 127.0.0.1 port for each member; call `setUpstream` before peers connect. */
  static async start(names: string[]): Promise<PeerNetwork> {
    const net = new PeerNetwork();
    try {
      for (const name of names) await net.add(name);
    } catch (err) {
      await net.close();
      throw err;
    }
    return net;
  }

  /** Where the member really listens for peers. */
  setUpstream(name: string, port: number): void {
    this.proxy(name).upstreamPort = port;
  }

  private async add(name: string): Promise<void> {
    const server = createServer({ allowHalfOpen: true }, (client) => this.accept(name, client));
    const port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const addr = server.address();
        resolve(typeof addr === "object" && addr ? addr.port : 0);
      });
    });
    this.proxies.set(name, { name, server, port, upstreamPort: 0, id: undefined });
  }

  /** The URL a member advertises to its peers. */
  url(name: string): string {
    return `http://127.0.0.1:${this.proxy(name).port}`;
  }

  setMemberId(name: string, idHex: string): void {
    const id = normalizeId(idHex);
    if (id === undefined) throw new Error(`bad member id ${idHex} for ${name}`);
    this.proxy(name).id = id;
    this.enforce();
  }

  /** Messages from `from` to `to` are lost; the other direction is untouched. */
  blackhole(from: string, to: string): void {
    this.proxy(from);
    this.proxy(to);
    if (from === to) throw new Error(`blackhole(${from}, ${to}): a member always reaches itself`);
    this.blocked.add(`${from}>${to}`);
    this.enforce();
  }

  /** Messages between `a` and `b` are lost both ways. */
  partition(a: string, b: string): void {
    this.blackhole(a, b);
    this.blackhole(b, a);
  }

  /** `name` can neither send to nor receive from any peer; unattributed peer requests to it are refused too. */
  isolate(name: string): void {
    this.proxy(name);
    this.isolated.add(name);
    for (const other of this.proxies.keys()) if (other !== name) this.partition(name, other);
  }

  /** Lifts every blackhole, partition and isolation (not the delay). */
  heal(): void {
    this.blocked.clear();
    this.isolated.clear();
  }

  /** Delays every forwarded byte, both ways, by `ms` (0 to stop); order is kept. Applies to new data. */
  delay(ms: number): void {
    if (!(ms >= 0)) throw new Error(`delay(${ms})`);
    this.delayMs = ms;
  }

  /** Whether messages from member `from` to member `to` are currently lost. */
  isBlocked(from: string, to: string): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  /** The rules and counters, for a failure report. */
  describe(): string {
    const rules = [...this.blocked].map((r) => r.replace(">", " → "));
    const ports = [...this.proxies.values()].map((p) => `${p.name} :${p.port}→:${p.upstreamPort} id ${p.id}`);
    return [
      `proxies: ${ports.join(", ")}`,
      `blocked: ${rules.length ? rules.join(", ") : "none"}; isolated: ${[...this.isolated].join(", ") || "none"}; delay ${this.delayMs} ms`,
      `connections: ${this.conns.size} open; ${JSON.stringify(this.stats)}`,
    ].join("\n");
  }

  async close(): Promise<void> {
    for (const c of this.conns) this.drop(c);
    await Promise.all(
      [...this.proxies.values()].map((p) => new Promise<void>((resolve) => p.server.close(() => resolve()))),
    );
  }

  private proxy(name: string): MemberProxy {
    const p = this.proxies.get(name);
    if (!p) throw new Error(`no member ${name} (have ${[...this.proxies.keys()].join(", ")})`);
    return p;
  }

  private nameOf(id: string): string | undefined {
    for (const p of this.proxies.values()) if (p.id === id) return p.name;
    return undefined;
  }

  private allows(c: Conn): boolean {
    const id = this.proxy(c.member).id;
    const carries = c.req && id !== undefined ? carriedDirection(c.req, id) : undefined;
    if (carries === undefined) return !this.isolated.has(c.member);
    const from = this.nameOf(carries.from);
    const to = this.nameOf(carries.to);
    // A sender we cannot name (ids not registered yet) is judged like an unattributed request.
    if (from === undefined || to === undefined) return !this.isolated.has(c.member);
    return !this.blocked.has(`${from}>${to}`);
  }

  /** Drops every live connection the current rules block. */
  private enforce(): void {
    for (const c of this.conns) {
      if (!this.allows(c)) {
        this.stats.dropped++;
        this.drop(c);
      }
    }
  }

  private drop(c: Conn): void {
    this.conns.delete(c);
    c.client.destroy();
    c.upstream?.destroy();
  }

  private accept(member: string, client: Socket): void {
    const conn: Conn = {
      member,
      req: undefined,
      scanner: new RequestScanner(MAX_PEEK_BYTES),
      client,
      upstream: undefined,
    };
    this.conns.add(conn);
    client.on("error", () => this.drop(conn));
    client.on("close", () => this.drop(conn));
    const held: Buffer[] = [];
    const decide = (): void => {
      clearTimeout(timer);
      client.off("data", onData);
      client.pause();
      if (!this.conns.has(conn)) return;
      if (!this.allows(conn)) {
        this.stats.refused++;
        this.drop(conn);
        return;
      }
      this.forward(conn, Buffer.concat(held));
    };
    const onData = (d: Buffer): void => {
      if (!this.admit(conn, d)) return;
      held.push(d);
      if (conn.req !== undefined || conn.scanner.opaque) decide();
    };
    const timer = setTimeout(decide, PEEK_TIMEOUT_MS);
    client.on("data", onData);
  }

  /**
   * Reads the requests that start in `d` (before it is forwarded): a connection is judged by each request on it,
   * since HTTP keep-alive may carry an unattributed request (etcd's /raft/probing) and then a stream on one
   * connection. False, and the connection dropped, if the rules block one.
   */
  private admit(conn: Conn, d: Buffer): boolean {
    for (const req of conn.scanner.feed(d)) {
      conn.req = req;
      if (!this.allows(conn)) {
        this.stats.refused++;
        this.drop(conn);
        return false;
      }
    }
    return true;
  }

  private forward(conn: Conn, head: Buffer): void {
    const upstream = connect({
      port: this.proxy(conn.member).upstreamPort,
      host: "127.0.0.1",
      allowHalfOpen: true,
    });
    conn.upstream = upstream;
    this.stats.forwarded++;
    upstream.on("error", () => this.drop(conn));
    upstream.on("close", () => this.drop(conn));
    upstream.once("connect", () => {
      this.pipe(head, conn.client, upstream, (d) => this.admit(conn, d));
      this.pipe(undefined, upstream, conn.client, () => true);
      conn.client.resume();
    });
  }

  /** Copies src to dst with back-pressure, holding each chunk for the current delay (in order, FIFO). */
  private pipe(first: Buffer | undefined, src: Socket, dst: Socket, admit: (d: Buffer) => boolean): void {
    const queue: { at: number; chunk: Buffer }[] = [];
    let waiting = 0;
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const canResume = (): boolean => waiting <= MAX_DELAYED_BYTES && !dst.writableNeedDrain;
    const write = (chunk: Buffer): void => {
      if (!dst.destroyed && !dst.write(chunk)) src.pause();
    };
    const maybeEnd = (): void => {
      if (ended && queue.length === 0 && !dst.destroyed) dst.end();
    };
    const pump = (): void => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.at <= now) {
        const { chunk } = queue.shift()!;
        waiting -= chunk.length;
        write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, queue[0]!.at - now);
      if (canResume() && src.isPaused() && !src.destroyed) src.resume();
      maybeEnd();
    };
    const send = (chunk: Buffer): void => {
      if (this.delayMs === 0 && queue.length === 0) {
        write(chunk);
        return;
      }
      const at = Math.max(performance.now() + this.delayMs, queue.at(-1)?.at ?? 0);
      queue.push({ at, chunk });
      waiting += chunk.length;
      if (waiting > MAX_DELAYED_BYTES) src.pause();
      timer ??= setTimeout(pump, at - performance.now());
    };
    dst.on("drain", () => {
      if (canResume()) src.resume();
    });
    dst.on("close", () => clearTimeout(timer));
    if (first && first.length > 0) send(first);
    src.on("data", (d: Buffer) => {
      if (admit(d)) send(d);
    });
    src.on("end", () => {
      ended = true;
      maybeEnd();
    });
  }
}
