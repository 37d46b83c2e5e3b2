// Owns snapshot transfer over the peer port: the streamed upload (sender) and the streamed body (receiver).
import type { ClientRequest, IncomingMessage, ServerResponse } from "node:http";
import type { Message, NodeId } from "../raft/types.js";
import { CodecError, decodeMessage, encodeMessage } from "./codec.js";
import { EMPTY_FRAME, frameHeader, MAX_FRAME_BYTES, readFrames } from "./frame.js";
import {
  H_CLUSTER_ID,
  idHex,
  PeerRefusedError,
  type PeerTlsOptions,
  peerHeaders,
  peerPost,
  readSmallBody,
  SNAPSHOT_PATH,
} from "./http.js";
import type { PeerStats, TransportLogger, TransportTiming } from "./options.js";

/** Snapshot body bytes per frame; larger chunks from the source are split. */
export const SNAPSHOT_CHUNK_BYTES = 256 * 1024;

export type SnapshotHandler = (m: Message, body: AsyncIterable<Uint8Array>, from: NodeId) => Promise<void>;

export interface SnapshotUpload {
  url: string;
  localId: NodeId;
  clusterId: bigint;
  tls: PeerTlsOptions | undefined;
  timing: TransportTiming;
  /** The MsgSnap; its snapshot.data is inlined in the header frame. */
  m: Message;
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  signal: AbortSignal;
  stats: PeerStats;
}

/** Streams a snapshot to a peer with back-pressure; resolves once the peer has taken it, throws otherwise. */
export async function postSnapshot(u: SnapshotUpload): Promise<void> {
  const header = encodeMessage(u.m, { snapshotData: true });
  // An idle socket (dialling, or backed up because the peer stopped reading) fails the upload.
  const req = peerPost(u.url, SNAPSHOT_PATH, peerHeaders(u.clusterId, u.localId, u.m.to), u.tls, {
    timeoutMs: u.timing.writeTimeoutMs,
  });
  req.on("timeout", () => req.destroy(new Error("snapshot upload timed out")));
  const abort = () => req.destroy(new Error("snapshot upload aborted"));
  u.signal.addEventListener("abort", abort, { once: true });
  let response: IncomingMessage | undefined;
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once("response", (res) => {
      response = res;
      resolve(res);
    });
    req.once("error", reject);
    req.once("close", () => reject(new Error("connection closed before the peer answered")));
  });
  answered.catch(() => {}); // observed below, or superseded by an upload error
  try {
    if (u.signal.aborted) abort();
    await write(req, frameHeader(header.length));
    await write(req, header);
    for await (const chunk of u.body) {
      if (!(chunk instanceof Uint8Array)) throw new TypeError("snapshot body must yield bytes");
      for (let off = 0; off < chunk.length; off += SNAPSHOT_CHUNK_BYTES) {
        const piece = chunk.subarray(off, off + SNAPSHOT_CHUNK_BYTES);
        await write(req, frameHeader(piece.length));
        await write(req, piece);
        u.stats.bytesSent += piece.length;
      }
    }
    await write(req, EMPTY_FRAME);
    req.end();
    req.setTimeout(u.timing.snapshotResponseTimeoutMs);
    const res = await answered;
    const text = await readSmallBody(res);
    if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) {
      throw new PeerRefusedError(res.statusCode ?? 0, text);
    }
  } catch (err) {
    // A refusal explains an upload cut short better than the broken pipe it caused.
    const res = response;
    if (res !== undefined && !(err instanceof PeerRefusedError) && (res.statusCode ?? 0) >= 300) {
      throw new PeerRefusedError(res.statusCode ?? 0, await readSmallBody(res));
    }
    throw err;
  } finally {
    u.signal.removeEventListener("abort", abort);
    req.destroy();
  }
}

/** Writes one chunk; waits for 'drain' when the socket pushes back, fails if the request ends first. */
function write(req: ClientRequest, chunk: Uint8Array): Promise<void> {
  if (req.destroyed) return Promise.reject(new Error("snapshot connection closed"));
  if (req.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      req.off("drain", onDrain);
      req.off("close", onClose);
      req.off("response", onResponse);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error("snapshot connection closed"));
    const onResponse = () => done(new Error("peer answered before the snapshot was sent"));
    req.on("drain", onDrain);
    req.on("close", onClose);
    req.on("response", onResponse);
  });
}

/** A refusal the receiver answers with `status`. */
class SnapshotRefused extends Error {
  override name = "SnapshotRefused";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface SnapshotReceiveContext {
  localId: NodeId;
  clusterId: bigint;
  logger: TransportLogger;
  timing: TransportTiming;
  onSnapshot: SnapshotHandler;
  stats: PeerStats;
}

/** Reads the header, hands the body to onSnapshot, answers 204 once it resolved having read the whole body. */
export async function serveSnapshot(
  req: IncomingMessage,
  res: ServerResponse,
  from: NodeId,
  ctx: SnapshotReceiveContext,
): Promise<void> {
  const frames = readFrames(idleLimited(req, ctx.timing.readTimeoutMs), MAX_FRAME_BYTES);
  const fields = { "remote-peer-id": idHex(from) };
  try {
    const first = await frames.next();
    if (first.done) throw new SnapshotRefused(400, "snapshot request without a header");
    const m = decodeMessage(first.value);
    if (m.type !== "MsgSnap" || m.snapshot === undefined || m.from !== from || m.to !== ctx.localId) {
      throw new SnapshotRefused(
        400,
        `bad snapshot header: ${m.type} from ${idHex(m.from)} to ${idHex(m.to)}`,
      );
    }
    const state = { ended: false, bytes: 0 };
    ctx.logger.info({ ...fields, "snapshot-index": String(m.snapshot.metadata.index) }, "receiving snapshot");
    await ctx.onSnapshot(m, snapshotBody(frames, state), from);
    if (!state.ended)
      throw new SnapshotRefused(500, "snapshot handler returned before reading the whole body");
    ctx.stats.snapshotsReceived++;
    ctx.logger.info({ ...fields, bytes: state.bytes }, "received snapshot");
    res.writeHead(204, { [H_CLUSTER_ID]: idHex(ctx.clusterId) }).end();
  } catch (err) {
    const status = err instanceof SnapshotRefused ? err.status : err instanceof CodecError ? 400 : 500;
    const message = err instanceof Error ? err.message : String(err);
    ctx.logger.warn({ ...fields, error: message }, "failed to receive snapshot");
    if (!res.headersSent && !res.destroyed) {
      res.writeHead(status, { [H_CLUSTER_ID]: idHex(ctx.clusterId), connection: "close" });
      res.end(message, () => req.destroy());
    } else {
      req.destroy();
    }
  } finally {
    void frames.return(undefined).catch(() => {});
  }
}

/** The data frames up to the end frame; throws if the upload stops short of it. */
async function* snapshotBody(
  frames: AsyncGenerator<Uint8Array>,
  state: { ended: boolean; bytes: number },
): AsyncGenerator<Uint8Array> {
  for (;;) {
    const r = await frames.next();
    if (r.done) throw new SnapshotRefused(400, "snapshot body truncated (no end frame)");
    if (r.value.length === 0) {
      if (!(await frames.next()).done) throw new SnapshotRefused(400, "bytes after the snapshot end frame");
      state.ended = true;
      return;
    }
    state.bytes += r.value.length;
    yield r.value;
  }
}

/** The request's chunks; the request is destroyed when the sender goes quiet for ms while we wait. */
async function* idleLimited(req: IncomingMessage, ms: number): AsyncGenerator<Uint8Array> {
  const it = req[Symbol.asyncIterator]();
  for (;;) {
    const timer = setTimeout(() => req.destroy(new Error(`no snapshot data for ${ms} ms`)), ms);
    let r: IteratorResult<Uint8Array>;
    try {
      r = await it.next();
    } finally {
      clearTimeout(timer);
    }
    if (r.done) return;
    yield r.value;
  }
}
