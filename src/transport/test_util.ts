// Owns helpers for transport tests: members on ephemeral 127.0.0.1 ports, recorded callbacks, event waits.
import { EventEmitter } from "node:events";
import type http from "node:http";
import type https from "node:https";
import type { AddressInfo } from "node:net";
import { Rand } from "../raft/rand.js";
import { type Message, msg, type NodeId, type SnapshotStatus } from "../raft/types.js";
import { createPeerServer, type PeerRequestHandler, type PeerTlsOptions } from "./http.js";
import type { TransportLogger, TransportTiming } from "./options.js";
import type { SnapshotHandler } from "./snapshot.js";
import { Transport } from "./transport.js";

export const TEST_TIMING: Partial<TransportTiming> = { backoffBaseMs: 10, backoffMaxMs: 100 };

const quiet: TransportLogger = { info() {}, warn() {}, debug() {} };
/** TRANSPORT_TEST_LOG=1 prints the transport's log lines. */
export const testLogger = (name: string): TransportLogger =>
  process.env.TRANSPORT_TEST_LOG
    ? {
        info: (o, m) => console.log(name, "INFO", m, o),
        warn: (o, m) => console.log(name, "WARN", m, o),
        debug: (o, m) => console.log(name, "DEBUG", m, o),
      }
    : quiet;

type PeerServer = http.Server | https.Server;

export async function listenPeer(
  handler: PeerRequestHandler,
  port = 0,
  tls?: PeerTlsOptions,
): Promise<{ server: PeerServer; url: string }> {
  const server = createPeerServer(handler, tls);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return { server, url: `${tls ? "https" : "http"}://127.0.0.1:${addr.port}` };
}

export async function closeServer(server: PeerServer): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface MemberOptions {
  clusterId?: bigint;
  timing?: Partial<TransportTiming>;
  tls?: PeerTlsOptions;
  onSnapshot?: SnapshotHandler;
  /** Reuse this port (a restarted member). */
  port?: number;
}

/** One member's transport and server, with every callback recorded; `changed` fires on each. */
export class TestMember {
  readonly received: Message[] = [];
  readonly unreachable: NodeId[] = [];
  readonly snapshotStatus: [NodeId, SnapshotStatus][] = [];
  readonly activity: [NodeId, boolean][] = [];
  readonly removedBy: NodeId[] = [];
  readonly changed = new EventEmitter();
  transport!: Transport;
  server!: PeerServer;
  url = "";

  constructor(
    readonly id: NodeId,
    readonly opts: MemberOptions = {},
  ) {
    this.changed.setMaxListeners(100);
  }

  async listen(): Promise<void> {
    const l = await listenPeer(
      (req, res) => this.transport.handler()(req, res),
      this.opts.port,
      this.opts.tls,
    );
    this.server = l.server;
    this.url = l.url;
  }

  init(peers: Map<NodeId, string[]>): void {
    const rand = new Rand(Number(this.id));
    const note = () => this.changed.emit("change");
    this.transport = new Transport({
      id: this.id,
      clusterId: this.opts.clusterId ?? 0x1000n,
      peers,
      onMessage: (m) => {
        this.received.push(m);
        note();
      },
      onSnapshot: this.opts.onSnapshot ?? drainSnapshot,
      onUnreachable: (id) => {
        this.unreachable.push(id);
        note();
      },
      onSnapshotStatus: (id, s) => {
        this.snapshotStatus.push([id, s]);
        note();
      },
      onPeerActive: (id, a) => {
        this.activity.push([id, a]);
        note();
      },
      onRemoved: (by) => {
        this.removedBy.push(by);
        note();
      },
      logger: testLogger(`member ${this.id}`),
      rand: () => rand.float(),
      timing: { ...TEST_TIMING, ...this.opts.timing },
      tls: this.opts.tls,
    });
  }

  /** Resolves when cond() holds, checked after every callback; fails after timeoutMs. */
  waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`member ${this.id}: timed out waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.changed.off("change", check);
      };
      this.changed.on("change", check);
    });
  }

  waitActive(peer: NodeId): Promise<void> {
    return this.waitFor(() => this.transport.activeSince(peer) !== undefined, `stream to ${peer}`);
  }

  receivedFrom(from: NodeId): Message[] {
    return this.received.filter((m) => m.from === from);
  }

  async close(): Promise<void> {
    await this.transport?.stop();
    if (this.server?.listening) await closeServer(this.server);
  }
}

/** Members that all know each other, listening and started. */
export async function startMembers(
  ids: NodeId[],
  opts: (id: NodeId) => MemberOptions = () => ({}),
): Promise<TestMember[]> {
  const members = ids.map((id) => new TestMember(id, opts(id)));
  await Promise.all(members.map((m) => m.listen()));
  for (const m of members) {
    m.init(new Map(members.filter((p) => p !== m).map((p) => [p.id, [p.url]])));
    m.transport.start();
  }
  return members;
}

/** A snapshot handler that reads the body to its end. */
export async function drainSnapshot(_m: Message, body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of body) {
    // discard
  }
}

export const heartbeat = (from: NodeId, to: NodeId, index: number): Message =>
  msg({ type: "MsgHeartbeat", from, to, term: 1n, commit: BigInt(index), index: BigInt(index) });

export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
