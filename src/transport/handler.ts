// Owns the receiving side of the peer port: vets each peer request, reads inbound streams, admits snapshots.
import type { IncomingMessage, ServerResponse } from "node:http";
import { isLocalMsg, type Message, type NodeId } from "../raft/types.js";
import { decodeBatch, FrameReader, MAX_FRAME_BYTES } from "./frame.js";
import {
  ERR_CLUSTER_MISMATCH,
  ERR_MEMBER_REMOVED,
  ERR_PROTOCOL,
  ERR_SENDER_NOT_FOUND,
  ERR_TO_MISMATCH,
  H_CLUSTER_ID,
  H_FROM,
  H_PROTOCOL,
  H_TO,
  idHex,
  PEER_PROTOCOL_VERSION,
  type PeerRequestHandler,
  parseIdHeader,
  SNAPSHOT_PATH,
  STREAM_PATH,
} from "./http.js";
import type { PeerStats, TransportLogger, TransportTiming } from "./options.js";
import { type SnapshotHandler, serveSnapshot } from "./snapshot.js";

export type PeerStanding = "member" | "removed" | "unknown";

export interface HandlerContext {
  localId: NodeId;
  clusterId: bigint;
  logger: TransportLogger;
  timing: TransportTiming;
  standing(id: NodeId): PeerStanding;
  onMessage(m: Message): void;
  onSnapshot: SnapshotHandler;
  stats(id: NodeId): PeerStats;
}

interface Inbound {
  req: IncomingMessage;
  closed: Promise<void>;
}

export class PeerHandler {
  private readonly streams = new Map<NodeId, Inbound>();
  private readonly snapshots = new Map<NodeId, Inbound>();
  private stopped = false;

  constructor(private readonly ctx: HandlerContext) {}

  readonly handle: PeerRequestHandler = (req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== STREAM_PATH && path !== SNAPSHOT_PATH) return refuse(req, res, 404, "not found");
    if (req.method !== "POST") return refuse(req, res, 405, "method not allowed");
    if (this.stopped) return refuse(req, res, 503, "peer transport stopped");
    const from = this.vet(req, res);
    if (from === undefined) return;
    if (path === STREAM_PATH) return this.serveStream(req, res, from);
    if (this.snapshots.has(from)) return refuse(req, res, 503, "a snapshot from this member is in progress");
    const entry = track(req);
    this.snapshots.set(from, entry);
    const ctx = { ...this.ctx, stats: this.ctx.stats(from) };
    void serveSnapshot(req, res, from, ctx).finally(() => {
      if (this.snapshots.get(from) === entry) this.snapshots.delete(from);
    });
  };

  /** Closes streams and snapshot uploads from a member (it was removed). */
  closeFrom(id: NodeId): void {
    this.streams.get(id)?.req.destroy();
    this.snapshots.get(id)?.req.destroy();
  }

  /** Refuses new requests and closes every inbound connection; resolves once they are closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.streams.values(), ...this.snapshots.values()];
    for (const s of all) s.req.destroy();
    await Promise.all(all.map((s) => s.closed));
  }

  /** The sender's ID, or undefined once refused (etcd's rafthttp checks, in its order). */
  private vet(req: IncomingMessage, res: ServerResponse): NodeId | undefined {
    const no = (status: number, text: string): undefined => {
      this.ctx.logger.warn({ status, reason: text, from: req.headers[H_FROM] }, "refused peer request");
      refuse(req, res, status, text);
    };
    if (req.headers[H_PROTOCOL] !== PEER_PROTOCOL_VERSION) return no(412, ERR_PROTOCOL);
    if (parseIdHeader(req.headers[H_CLUSTER_ID]) !== this.ctx.clusterId) return no(412, ERR_CLUSTER_MISMATCH);
    const from = parseIdHeader(req.headers[H_FROM]);
    if (from === undefined) return no(400, "invalid from");
    const standing = this.ctx.standing(from);
    if (standing === "removed") return no(410, ERR_MEMBER_REMOVED);
    if (standing === "unknown") return no(404, ERR_SENDER_NOT_FOUND);
    if (parseIdHeader(req.headers[H_TO]) !== this.ctx.localId) return no(412, ERR_TO_MISMATCH);
    return from;
  }

  private serveStream(req: IncomingMessage, res: ServerResponse, from: NodeId): void {
    const { logger, timing } = this.ctx;
    const stats = this.ctx.stats(from);
    const fields = { "remote-peer-id": idHex(from) };
    const prev = this.streams.get(from);
    if (prev !== undefined) {
      logger.info(fields, "replacing the existing stream from remote peer");
      prev.req.destroy();
    }
    const entry = track(req);
    this.streams.set(from, entry);
    res.writeHead(200, { [H_CLUSTER_ID]: idHex(this.ctx.clusterId) });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    const idle = setTimeout(() => req.destroy(new Error("stream read timeout")), timing.readTimeoutMs);
    const reader = new FrameReader(MAX_FRAME_BYTES);
    req.on("data", (chunk: Buffer) => {
      idle.refresh();
      try {
        reader.push(chunk);
        for (let f = reader.next(); f !== undefined && !req.destroyed; f = reader.next()) {
          if (f.length === 0) continue; // keepalive
          stats.framesReceived++;
          for (const m of decodeBatch(f)) if (!req.destroyed) this.deliver(m, from, stats);
        }
      } catch (err) {
        logger.warn({ ...fields, error: String(err) }, "closing undecodable stream from remote peer");
        req.destroy();
      }
    });
    req.on("end", () => res.end());
    req.on("close", () => {
      clearTimeout(idle);
      if (this.streams.get(from) === entry) this.streams.delete(from);
    });
  }

  private deliver(m: Message, from: NodeId, stats: PeerStats): void {
    if (m.from !== from || m.to !== this.ctx.localId || isLocalMsg(m.type) || m.type === "MsgSnap") {
      this.ctx.logger.warn(
        { type: m.type, from: idHex(m.from), to: idHex(m.to) },
        "dropped misrouted message",
      );
      return;
    }
    stats.msgsReceived++;
    try {
      this.ctx.onMessage(m);
    } catch (err) {
      this.ctx.logger.warn({ type: m.type, error: String(err) }, "raft rejected a peer message");
    }
  }
}

function track(req: IncomingMessage): Inbound {
  return { req, closed: new Promise((resolve) => req.once("close", () => resolve())) };
}

function refuse(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain", connection: "close" });
  res.end(text, () => req.destroy());
}
