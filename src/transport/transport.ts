// Owns the member's peer transport: the peer set, routing raft messages to streams, snapshots, lifecycle.
import type { Readable } from "node:stream";
import { assert } from "../raft/assert.js";
import { isLocalMsg, type Message, type NodeId, type SnapshotStatus } from "../raft/types.js";
import { encodedMessageSize } from "./codec.js";
import { batchedSize, MAX_FRAME_BYTES } from "./frame.js";
import { PeerHandler, type PeerStanding } from "./handler.js";
import { idHex, type PeerRequestHandler, type PeerTlsOptions } from "./http.js";
import {
  DEFAULT_TIMING,
  type PeerStats,
  type PeerStatsTable,
  statsOf,
  type TransportLogger,
  type TransportTiming,
} from "./options.js";
import { PeerStream } from "./peer.js";
import { postSnapshot, type SnapshotHandler } from "./snapshot.js";

export interface TransportOptions {
  id: NodeId;
  clusterId: bigint;
  /** Peers other than this member, each with its advertised peer URLs (--initial-advertise-peer-urls). */
  peers: ReadonlyMap<NodeId, readonly string[]>;
  /** A raft message from a peer (already checked: cluster, sender, recipient); step it. */
  onMessage(m: Message): void;
  /** A snapshot from a peer: m is its MsgSnap (snapshot.data inlined), body the streamed payload.
   *  Resolve only after reading body to its end and keeping the snapshot; rejecting answers Failure. */
  onSnapshot: SnapshotHandler;
  /** Messages to id were dropped (peer down or queue full): raft should reportUnreachable(id). */
  onUnreachable(id: NodeId): void;
  /** The fate of sendSnapshot(id, …): raft should reportSnapshot(id, status). */
  onSnapshotStatus(id: NodeId, status: SnapshotStatus): void;
  /** The stream to id came up or went down. */
  onPeerActive?(id: NodeId, active: boolean): void;
  /** Peer `by` says this member was removed from the cluster (etcd then stops the member). */
  onRemoved?(by: NodeId): void;
  logger: TransportLogger;
  /** Peer TLS for dialling https:// peer URLs (and for createPeerServer); plain HTTP when absent. */
  tls?: PeerTlsOptions;
  /** Uniform [0, 1), for reconnect jitter (default Math.random; tests inject a seeded one). */
  rand?: () => number;
  now?: () => number;
  timing?: Partial<TransportTiming>;
}

export class Transport {
  readonly id: NodeId;
  private readonly opts: TransportOptions;
  private readonly timing: TransportTiming;
  private readonly peers = new Map<NodeId, PeerStream>();
  private readonly removed = new Set<NodeId>();
  private readonly stats: PeerStatsTable = new Map();
  private readonly inbound: PeerHandler;
  private readonly snapshotsOut = new Map<NodeId, AbortController>();
  private readonly unreachable = new Set<NodeId>();
  private started = false;
  private stopped = false;
  private flushScheduled = false;

  constructor(opts: TransportOptions) {
    this.id = opts.id;
    this.opts = opts;
    this.timing = { ...DEFAULT_TIMING, ...opts.timing };
    this.inbound = new PeerHandler({
      localId: opts.id,
      clusterId: opts.clusterId,
      logger: opts.logger,
      timing: this.timing,
      standing: (id) => this.standing(id),
      onMessage: (m) => opts.onMessage(m),
      onSnapshot: (m, body, from) => opts.onSnapshot(m, body, from),
      stats: (id) => statsOf(this.stats, id),
    });
    for (const [id, urls] of opts.peers) this.addPeer(id, urls);
  }

  /** The peer port's request handler (paths under /raft/); serve it with createPeerServer or your own. */
  handler(): PeerRequestHandler {
    return this.inbound.handle;
  }

  /** Dials every peer's stream. */
  start(): void {
    assert(!this.stopped, "transport started after stop");
    this.started = true;
    for (const p of this.peers.values()) p.start();
  }

  /**
   * Queues messages on their peers' streams; they are written as one batch per peer per event-loop turn, or at once
   * with `now` (the raft loop hands over a whole Ready per call, so waiting for the end of the turn only adds latency).
   */
  send(messages: readonly Message[], now = false): void {
    if (this.stopped) return;
    let last: PeerStream | undefined;
    let more: Set<PeerStream> | undefined;
    for (const m of messages) {
      if (m.type === "MsgSnap") {
        // The server must send snapshots with sendSnapshot (the payload is not part of the message).
        this.opts.logger.warn(
          { "remote-peer-id": idHex(m.to) },
          "MsgSnap passed to send(); use sendSnapshot()",
        );
        setImmediate(() => this.stopped || this.opts.onSnapshotStatus(m.to, "Failure"));
        continue;
      }
      assert(!isLocalMsg(m.type), () => `local message ${m.type} handed to the transport`);
      const peer = this.peers.get(m.to);
      if (peer === undefined) {
        this.opts.logger.debug(
          { type: m.type, "remote-peer-id": idHex(m.to) },
          "dropped message to unknown peer",
        );
        continue;
      }
      const size = encodedMessageSize(m);
      if (batchedSize(size) > MAX_FRAME_BYTES || !peer.enqueue(m, size)) {
        statsOf(this.stats, m.to).msgsDropped++;
        this.unreachable.add(m.to);
      } else if (last === undefined) {
        last = peer;
      } else if (last !== peer) {
        more ??= new Set();
        more.add(peer);
      }
    }
    if (!now) {
      this.scheduleFlush();
      return;
    }
    last?.flush();
    if (more) for (const p of more) if (p !== last) p.flush();
    // Unreachable peers are reported outside the caller's stack, as raft expects.
    if (this.unreachable.size > 0) this.scheduleFlush();
  }

  /**
   * Streams a snapshot to `to`: m is raft's MsgSnap (its snapshot.data travels in the header), body the
   * payload (e.g. a backend copy), read with back-pressure. Reports and returns Finish or Failure.
   */
  async sendSnapshot(
    to: NodeId,
    m: Message,
    body: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ): Promise<SnapshotStatus> {
    assert(m.type === "MsgSnap" && m.to === to && m.snapshot !== undefined, () => `not a MsgSnap to ${to}`);
    await new Promise(setImmediate); // report outside the caller's stack, as raft expects
    const peer = this.peers.get(to);
    const fields = { "remote-peer-id": idHex(to), "snapshot-index": String(m.snapshot?.metadata.index) };
    let status: SnapshotStatus = "Failure";
    if (this.stopped || peer === undefined) {
      this.opts.logger.warn(fields, "cannot send snapshot: unknown peer or transport stopped");
    } else if (this.snapshotsOut.has(to)) {
      this.opts.logger.warn(fields, "cannot send snapshot: one to this peer is in flight");
    } else {
      const abort = new AbortController();
      this.snapshotsOut.set(to, abort);
      const stats = statsOf(this.stats, to);
      try {
        this.opts.logger.info(fields, "sending snapshot");
        const { id, tls, clusterId } = this.opts;
        await postSnapshot({
          url: peer.url,
          localId: id,
          clusterId,
          tls,
          timing: this.timing,
          m,
          body,
          signal: abort.signal,
          stats,
        });
        status = "Finish";
        stats.snapshotsSent++;
        this.opts.logger.info(fields, "sent snapshot");
      } catch (err) {
        stats.snapshotsFailed++;
        this.opts.logger.warn({ ...fields, error: String(err) }, "failed to send snapshot");
      } finally {
        this.snapshotsOut.delete(to);
      }
    }
    if (status === "Failure" && "destroy" in body && typeof body.destroy === "function") body.destroy();
    if (!this.stopped) this.opts.onSnapshotStatus(to, status);
    return status;
  }

  addPeer(id: NodeId, urls: readonly string[]): void {
    assert(id !== this.id, "a member is not its own peer");
    assert(urls.length > 0, () => `peer ${idHex(id)} has no URLs`);
    if (this.removed.has(id)) throw new Error(`member ${idHex(id)} was removed; its ID cannot rejoin`);
    const existing = this.peers.get(id);
    if (existing !== undefined) {
      existing.setUrls(urls);
      return;
    }
    const peer = new PeerStream(
      id,
      urls,
      {
        localId: this.id,
        clusterId: this.opts.clusterId,
        tls: this.opts.tls,
        logger: this.opts.logger,
        timing: this.timing,
        rand: this.opts.rand ?? Math.random,
        now: this.opts.now ?? Date.now,
        onUnreachable: (p) => this.stopped || this.opts.onUnreachable(p),
        onActive: (p, active) => this.opts.onPeerActive?.(p, active),
        onRemoved: (by) => this.opts.onRemoved?.(by),
      },
      statsOf(this.stats, id),
    );
    this.peers.set(id, peer);
    if (this.started) peer.start();
  }

  updatePeer(id: NodeId, urls: readonly string[]): void {
    const peer = this.peers.get(id);
    assert(peer !== undefined, () => `update of unknown peer ${idHex(id)}`);
    assert(urls.length > 0, () => `peer ${idHex(id)} has no URLs`);
    peer.setUrls(urls);
  }

  /** Forgets a peer for good: its streams and snapshots close and it is refused from now on (410). */
  removePeer(id: NodeId): void {
    this.removed.add(id);
    void this.peers.get(id)?.stop();
    this.peers.delete(id);
    this.snapshotsOut.get(id)?.abort();
    this.inbound.closeFrom(id);
  }

  /** Since when the stream to id has been up (etcd's peer ActiveSince); undefined while it is down. */
  activeSince(id: NodeId): Date | undefined {
    const t = this.peers.get(id)?.activeSince;
    return t === undefined ? undefined : new Date(t);
  }

  peerStats(id: NodeId): Readonly<PeerStats> {
    return { ...statsOf(this.stats, id) };
  }

  /** Closes every stream and upload, inbound and outbound; resolves once their sockets are closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const a of this.snapshotsOut.values()) a.abort();
    await Promise.all([...[...this.peers.values()].map((p) => p.stop()), this.inbound.stop()]);
  }

  private standing(id: NodeId): PeerStanding {
    if (this.removed.has(id)) return "removed";
    return this.peers.has(id) ? "member" : "unknown";
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.stopped) return;
      for (const p of this.peers.values()) p.flush();
      for (const id of this.unreachable) this.opts.onUnreachable(id);
      this.unreachable.clear();
    });
  }
}
