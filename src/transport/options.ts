// Owns the transport's tunables and injected dependencies: timings, backoff, logger shape, per-peer counters.
import type { NodeId } from "../raft/types.js";

export interface TransportLogger {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
  debug(o: object, msg: string): void;
}

export interface TransportTiming {
  /** First reconnect delay; doubles per failed attempt up to backoffMaxMs (jittered to 50–100 %). */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Give up on a connection attempt (TCP + TLS + the peer's answer) after this long. */
  dialTimeoutMs: number;
  /** An idle stream carries an empty frame this often, so the receiver can tell idle from dead. */
  heartbeatMs: number;
  /** The receiver closes a stream (and a snapshot upload) that sends nothing for this long. */
  readTimeoutMs: number;
  /** A sender gives up on a connection whose socket stays backed up for this long. */
  writeTimeoutMs: number;
  /** A snapshot sender waits this long, after the last byte, for the receiver to take the snapshot. */
  snapshotResponseTimeoutMs: number;
}

/** etcd's rafthttp: 5 s connection read/write timeouts, heartbeats well inside them, 100 ms retry. */
export const DEFAULT_TIMING: Readonly<TransportTiming> = {
  backoffBaseMs: 100,
  backoffMaxMs: 5_000,
  dialTimeoutMs: 2_000,
  heartbeatMs: 1_000,
  readTimeoutMs: 5_000,
  writeTimeoutMs: 5_000,
  snapshotResponseTimeoutMs: 60_000,
};

/** Delay before reconnect attempt number `attempt` (0-based): capped exponential, equal jitter. */
export function backoffDelay(
  attempt: number,
  t: Pick<TransportTiming, "backoffBaseMs" | "backoffMaxMs">,
  rand: () => number,
): number {
  const exp = Math.min(t.backoffMaxMs, t.backoffBaseMs * 2 ** Math.min(attempt, 30));
  return exp / 2 + (rand() * exp) / 2;
}

/** Counters per peer, for metrics (etcd: peer_sent_bytes_total, peer_sent_failures_total, …) and tests. */
export interface PeerStats {
  msgsSent: number;
  framesSent: number;
  bytesSent: number;
  msgsDropped: number;
  msgsReceived: number;
  framesReceived: number;
  snapshotsSent: number;
  snapshotsFailed: number;
  snapshotsReceived: number;
}

export const newPeerStats = (): PeerStats => ({
  msgsSent: 0,
  framesSent: 0,
  bytesSent: 0,
  msgsDropped: 0,
  msgsReceived: 0,
  framesReceived: 0,
  snapshotsSent: 0,
  snapshotsFailed: 0,
  snapshotsReceived: 0,
});

export type PeerStatsTable = Map<NodeId, PeerStats>;

export function statsOf(table: PeerStatsTable, id: NodeId): PeerStats {
  let s = table.get(id);
  if (s === undefined) {
    s = newPeerStats();
    table.set(id, s);
  }
  return s;
}
