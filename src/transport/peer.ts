// Owns one outgoing peer stream: dial, batch queued messages into frames, heartbeat, back-pressure, reconnect.
import type { ClientRequest, IncomingMessage } from "node:http";
import type { Message, NodeId } from "../raft/types.js";
import { EMPTY_FRAME, encodeBatchFrame, MAX_BATCH_BYTES, MAX_BATCH_MSGS } from "./frame.js";
import {
  ERR_CLUSTER_MISMATCH,
  H_CLUSTER_ID,
  idHex,
  PeerRefusedError,
  type PeerTlsOptions,
  peerHeaders,
  peerPost,
  readSmallBody,
  STREAM_PATH,
} from "./http.js";
import { backoffDelay, type PeerStats, type TransportLogger, type TransportTiming } from "./options.js";
import { PeerQueue } from "./queue.js";

export interface PeerStreamContext {
  localId: NodeId;
  clusterId: bigint;
  tls: PeerTlsOptions | undefined;
  logger: TransportLogger;
  timing: TransportTiming;
  rand: () => number;
  now: () => number;
  onUnreachable(id: NodeId): void;
  onActive(id: NodeId, active: boolean): void;
  onRemoved(by: NodeId): void;
}

/**
 * idle → connecting → connected; any failure → backoff → connecting. Messages queue while idle,
 * connecting or connected; in backoff they are dropped (the caller reports the peer unreachable).
 */
type State = "idle" | "connecting" | "connected" | "backoff" | "stopped";

export class PeerStream {
  private state: State = "idle";
  private readonly queue = new PeerQueue();
  private urls: string[];
  private urlIndex = 0;
  private attempt = 0;
  /** Bumped on every teardown, so callbacks of an old connection are ignored. */
  private gen = 0;
  private req: ClientRequest | undefined;
  private dialTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private draining = false;
  private wroteSinceBeat = false;
  private lastError = "";
  private readonly closing = new Set<Promise<void>>();
  /** When the current connection came up (ms since epoch); undefined while down. */
  activeSince: number | undefined;

  constructor(
    readonly id: NodeId,
    urls: readonly string[],
    private readonly ctx: PeerStreamContext,
    private readonly stats: PeerStats,
  ) {
    this.urls = [...urls];
  }

  /** The URL the stream uses now (snapshots go to the same one). */
  get url(): string {
    return this.urls[this.urlIndex % this.urls.length]!;
  }

  start(): void {
    if (this.state === "idle") this.connect();
  }

  /** Replaces the peer's URLs; a connection to a URL no longer listed is redialled at once. */
  setUrls(urls: readonly string[]): void {
    const current = this.url;
    this.urls = [...urls];
    const i = this.urls.indexOf(current);
    this.urlIndex = i >= 0 ? i : 0;
    if (this.state === "backoff" || ((this.state === "connecting" || this.state === "connected") && i < 0)) {
      this.attempt = 0;
      this.fail(this.gen, new Error("peer URLs changed"), true);
      this.urlIndex = i >= 0 ? i : 0;
    }
  }

  /** Queues m for the stream; false means dropped (peer down or queue full). */
  enqueue(m: Message, size: number): boolean {
    if (this.state === "backoff" || this.state === "stopped") return false;
    return this.queue.push(m, size);
  }

  /** Writes queued messages as batch frames until the socket pushes back. */
  flush(): void {
    const req = this.req;
    if (this.state !== "connected" || this.draining || req === undefined) return;
    while (this.queue.length > 0) {
      const { msgs, sizes } = this.queue.takeBatch(MAX_BATCH_BYTES, MAX_BATCH_MSGS);
      const frame = encodeBatchFrame(msgs, sizes);
      this.stats.msgsSent += msgs.length;
      this.stats.framesSent++;
      this.stats.bytesSent += frame.length;
      this.wroteSinceBeat = true;
      if (!req.write(frame)) {
        this.waitDrain(req);
        return;
      }
    }
  }

  /** Closes the connection for good; resolves once its socket is closed. */
  async stop(): Promise<void> {
    this.state = "stopped";
    this.gen++;
    this.teardown();
    this.queue.clear();
    this.activeSince = undefined;
    await Promise.all(this.closing);
  }

  private connect(): void {
    const gen = ++this.gen;
    const { timing, logger } = this.ctx;
    this.state = "connecting";
    let req: ClientRequest;
    try {
      req = peerPost(
        this.url,
        STREAM_PATH,
        peerHeaders(this.ctx.clusterId, this.ctx.localId, this.id),
        this.ctx.tls,
      );
    } catch (err) {
      this.fail(gen, err);
      return;
    }
    this.req = req;
    const closed = new Promise<void>((resolve) => req.once("close", resolve));
    this.closing.add(closed);
    void closed.then(() => this.closing.delete(closed));
    this.dialTimer = setTimeout(
      () => this.fail(gen, new Error(`no answer within ${timing.dialTimeoutMs} ms`)),
      timing.dialTimeoutMs,
    );
    let refused = false;
    req.on("socket", (s) => {
      s.setNoDelay(true);
      s.setKeepAlive(true, timing.readTimeoutMs);
    });
    req.on("response", (res: IncomingMessage) => {
      if (gen !== this.gen) return void res.resume();
      if (res.statusCode !== 200) {
        refused = true;
        void readSmallBody(res).then((body) => {
          if (res.statusCode === 410) this.ctx.onRemoved(this.id);
          this.fail(gen, new PeerRefusedError(res.statusCode ?? 0, body));
        });
        return;
      }
      if (res.headers[H_CLUSTER_ID] !== idHex(this.ctx.clusterId)) {
        return this.fail(gen, new Error(`${ERR_CLUSTER_MISMATCH}: peer says ${res.headers[H_CLUSTER_ID]}`));
      }
      res.on("data", () => {});
      res.on("end", () => this.fail(gen, new Error("stream closed by the peer")));
      this.connected(gen);
      logger.info({ "remote-peer-id": idHex(this.id), url: this.url }, "established stream to remote peer");
    });
    req.on("error", (err) => this.fail(gen, err));
    req.on("close", () => refused || this.fail(gen, new Error("stream connection closed")));
    req.flushHeaders();
  }

  private connected(gen: number): void {
    clearTimeout(this.dialTimer);
    this.state = "connected";
    this.attempt = 0;
    this.lastError = "";
    this.activeSince = this.ctx.now();
    this.ctx.onActive(this.id, true);
    this.beatTimer = setInterval(() => this.beat(gen), this.ctx.timing.heartbeatMs);
    this.beatTimer.unref();
    this.flush();
  }

  private beat(gen: number): void {
    const req = this.req;
    if (gen !== this.gen || this.state !== "connected" || this.draining || req === undefined) return;
    if (!this.wroteSinceBeat && !req.write(EMPTY_FRAME)) this.waitDrain(req);
    this.wroteSinceBeat = false;
  }

  private waitDrain(req: ClientRequest): void {
    const gen = this.gen;
    this.draining = true;
    const ms = this.ctx.timing.writeTimeoutMs;
    this.drainTimer = setTimeout(() => this.fail(gen, new Error(`socket backed up for ${ms} ms`)), ms);
    req.once("drain", () => {
      if (gen !== this.gen) return;
      clearTimeout(this.drainTimer);
      this.draining = false;
      this.flush();
    });
  }

  /** Drops the connection and its queue, reports the loss, and schedules the next attempt. */
  private fail(gen: number, err: unknown, retryNow = false): void {
    if (gen !== this.gen || this.state === "stopped") return;
    this.gen++;
    const wasActive = this.state === "connected";
    this.teardown();
    const dropped = this.queue.clear();
    if (dropped > 0) {
      this.stats.msgsDropped += dropped;
      this.ctx.onUnreachable(this.id);
    }
    if (wasActive) {
      this.activeSince = undefined;
      this.ctx.onActive(this.id, false);
    }
    const reason = err instanceof Error ? err.message : String(err);
    const fields = { "remote-peer-id": idHex(this.id), url: this.url, error: reason, dropped };
    if (wasActive) this.ctx.logger.warn(fields, "lost stream to remote peer");
    else if (reason !== this.lastError) this.ctx.logger.warn(fields, "failed to connect to remote peer");
    else this.ctx.logger.debug(fields, "failed to connect to remote peer");
    this.lastError = reason;
    this.urlIndex = (this.urlIndex + 1) % this.urls.length; // try the peer's next URL
    this.state = "backoff";
    const delay = retryNow ? 0 : backoffDelay(this.attempt++, this.ctx.timing, this.ctx.rand);
    this.retryTimer = setTimeout(() => this.state === "backoff" && this.connect(), delay);
    this.retryTimer.unref();
  }

  private teardown(): void {
    for (const t of [this.dialTimer, this.retryTimer, this.drainTimer]) clearTimeout(t);
    clearInterval(this.beatTimer);
    this.draining = false;
    this.wroteSinceBeat = false;
    const req = this.req;
    this.req = undefined;
    req?.destroy();
  }
}
