// Owns the member's side of the peer transport: raft messages out and in, snapshots out (a fresh raft snapshot
// carrying a consistent copy of the backend) and in (saved to snap/<index>.snap.db, then stepped into raft),
// and keeping the transport's peer set equal to the membership.
import { open, rename } from "node:fs/promises";
import { join } from "node:path";
import type { Member } from "../membership/cluster.js";
import type { Message, NodeId, SnapshotMetadata } from "../raft/types.js";
import { type PeerTlsOptions, Transport, type TransportTiming } from "../transport/index.js";
import { snapDbName } from "./bootstrap.js";
import { coalesceAppends } from "./coalesce_appends.js";
import { idToHex } from "./ids.js";
import type { RaftNode } from "./raft_node.js";

export interface ClusterNetHost {
  memberId: bigint;
  clusterId: bigint;
  node: RaftNode;
  /** A consistent copy of the backend as it is now. */
  openSnapshotStream(): Promise<{ size: number; stream: NodeJS.ReadableStream & AsyncIterable<Uint8Array> }>;
  /** Raft snapshot metadata at the applied index (so it includes every member raft sends to). */
  freshSnapshotMetadata(): SnapshotMetadata | undefined;
  snapDir: string;
  /** A peer says this member was removed from the cluster. */
  onRemoved(by: NodeId): void;
  logger: {
    info(o: object, msg: string): void;
    warn(o: object, msg: string): void;
    debug(o: object, msg: string): void;
  };
  timing?: Partial<TransportTiming>;
  /** Peer TLS for dialling https:// peer URLs. */
  tls?: PeerTlsOptions;
}

export class ClusterNet {
  readonly transport: Transport;

  constructor(
    private readonly host: ClusterNetHost,
    peers: readonly Member[],
  ) {
    const node = host.node;
    this.transport = new Transport({
      id: host.memberId,
      clusterId: host.clusterId,
      peers: new Map(
        peers.filter((m) => m.id !== host.memberId && m.peerURLs.length > 0).map((m) => [m.id, m.peerURLs]),
      ),
      onMessage: (m) => {
        if (!node.isStopped) node.step(m);
      },
      onSnapshot: (m, body) => this.receiveSnapshot(m, body),
      onUnreachable: (id) => node.reportUnreachable(id),
      onSnapshotStatus: (id, status) => node.reportSnapshot(id, status),
      onRemoved: (by) => host.onRemoved(by),
      logger: host.logger,
      timing: host.timing,
      ...(host.tls ? { tls: host.tls } : {}),
    });
  }

  start(): void {
    this.transport.start();
  }

  /** Raft's outgoing messages: snapshots on their own upload, everything else on the peer streams. */
  send(messages: readonly Message[]): void {
    const rest: Message[] = [];
    for (const m of coalesceAppends(messages)) {
      if (m.type === "MsgSnap") void this.sendSnapshot(m);
      else rest.push(m);
    }
    // A Ready is already a batch: write it now rather than at the end of the turn.
    if (rest.length > 0) this.transport.send(rest, true);
  }

  /**
   * Raft picked its stored snapshot, which may predate a member's addition (the member would refuse it).
   * Send one taken now instead: metadata at the applied index, body a consistent backend copy made right after
   * (it may be a little ahead; the follower then skips the entries its backend already has).
   */
  private async sendSnapshot(m: Message): Promise<void> {
    const meta = this.host.freshSnapshotMetadata() ?? m.snapshot!.metadata;
    const msg: Message = { ...m, snapshot: { data: new Uint8Array(0), metadata: meta } };
    let stream: AsyncIterable<Uint8Array> & NodeJS.ReadableStream;
    try {
      ({ stream } = await this.host.openSnapshotStream());
    } catch (err) {
      this.host.logger.warn(
        { "remote-peer-id": idToHex(m.to), error: String(err) },
        "failed to copy backend for snapshot",
      );
      this.host.node.reportSnapshot(m.to, "Failure");
      return;
    }
    await this.transport.sendSnapshot(m.to, msg, stream);
  }

  /** Saves the body as snap/<index>.snap.db (fsynced), then lets raft decide whether to take it. */
  private async receiveSnapshot(m: Message, body: AsyncIterable<Uint8Array>): Promise<void> {
    const index = m.snapshot!.metadata.index;
    const final = join(this.host.snapDir, snapDbName(index));
    const part = `${final}.part`;
    const fh = await open(part, "w");
    try {
      for await (const chunk of body) await fh.write(chunk);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(part, final);
    this.host.logger.info(
      { "snapshot-index": Number(index), "remote-peer-id": idToHex(m.from) },
      "saved received snapshot; stepping it into raft",
    );
    if (!this.host.node.isStopped) this.host.node.step(m);
  }

  /** Makes the transport's peers the members other than this one; removed IDs are refused for good. */
  syncPeers(members: readonly Member[], removed: readonly bigint[]): void {
    for (const m of members) {
      if (m.id === this.host.memberId || m.peerURLs.length === 0) continue;
      this.transport.addPeer(m.id, m.peerURLs);
    }
    for (const id of removed) if (id !== this.host.memberId) this.transport.removePeer(id);
  }

  addPeer(m: Member): void {
    if (m.id !== this.host.memberId && m.peerURLs.length > 0) this.transport.addPeer(m.id, m.peerURLs);
  }

  removePeer(id: bigint): void {
    if (id !== this.host.memberId) this.transport.removePeer(id);
  }

  /** Since when this member has had a working stream to id (etcd's ActiveSince); undefined if not now. */
  activeSince(id: bigint): Date | undefined {
    return this.transport.activeSince(id);
  }

  stop(): Promise<void> {
    return this.transport.stop();
  }
}
