// Owns how one RPC is made: endpoint choice, metadata (token, hasleader), deadline, AbortSignal, and the retry
// policy of clientv3 (retry Unavailable on repeatable RPCs; retry writes only if they never left the client).
import {
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientUnaryCall,
  Metadata,
} from "@grpc/grpc-js";
import { AuthService } from "../proto/index.js";
import type { Endpoint, EndpointPool } from "./endpoints.js";
import {
  AuthNotEnabledError,
  AuthOldRevisionError,
  ClientClosedError,
  DeadlineExceededError,
  type EtcdError,
  InvalidAuthTokenError,
  Status,
  toEtcdError,
  UnavailableError,
  UserEmptyError,
} from "./errors.js";

/** Options every call takes. */
export interface CallOptions {
  /** Aborting rejects the call with `signal.reason` (and cancels it on the wire). */
  signal?: AbortSignal;
  /** Deadline for the whole call, retries included; overrides the client's `callTimeoutMs`. */
  timeoutMs?: number;
  /** Send `hasleader: true`: a member without a leader fails the call at once (`NoLeaderError`). */
  requireLeader?: boolean;
}

/** Options of calls answered by one member (status, hash, defragment, …). */
export interface MemberCallOptions extends CallOptions {
  /** The member to ask, as an endpoint (`host:port` or URL); default: the client's current endpoint. */
  endpoint?: string;
}

/**
 * clientv3's retry classes: `repeatable` RPCs (reads, idempotent ops) are retried on Unavailable, on another
 * endpoint; `nonRepeatable` ones (Put, Txn, DeleteRange, Compact, membership and auth changes) only when the
 * request provably never left the client.
 */
export type RetryPolicy = "repeatable" | "nonRepeatable";

/** A unary or streaming method as ts-proto's grpc-js service definitions describe it. */
export interface Method<Req, Res> {
  readonly path: string;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly responseDeserialize: (value: Buffer) => Res;
}

export interface CallerConfig {
  dialTimeoutMs: number;
  callTimeoutMs: number | undefined;
  maxRetries: number;
  requireLeader: boolean;
  auth: { username: string; password: string } | undefined;
}

/** First retry backoff; doubles per attempt up to RETRY_MAX_MS, with ±10 % jitter. */
export const RETRY_BASE_MS = 25;
export const RETRY_MAX_MS = 1_000;
/** How long `close()` lets calls on the wire finish before cancelling them. */
export const CLOSE_GRACE_MS = 2_000;

/** Backoff before retry `attempt` (0-based). */
export function backoffMs(attempt: number, base = RETRY_BASE_MS, max = RETRY_MAX_MS): number {
  const ms = Math.min(max, base * 2 ** Math.min(attempt, 20));
  return ms * (0.9 + Math.random() * 0.2);
}

/** Resolves after `ms`, or rejects with `signal.reason` when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Errors after which a fresh token may succeed (clientv3 refreshes and retries once). */
const isTokenError = (e: EtcdError): boolean =>
  e instanceof InvalidAuthTokenError || e instanceof AuthOldRevisionError || e instanceof UserEmptyError;

/** Makes calls for every service of one client. */
export class Caller {
  private token: string | undefined;
  private tokenRefresh: Promise<void> | undefined;
  private readonly closing = new AbortController();
  private readonly inflight = new Set<ClientUnaryCall>();
  private idle: (() => void) | undefined;

  constructor(
    readonly pool: EndpointPool,
    private readonly config: CallerConfig,
  ) {}

  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /** Aborts when the client closes, with `ClientClosedError`. */
  get closeSignal(): AbortSignal {
    return this.closing.signal;
  }

  /** One unary RPC with the retry policy, deadline and signal of `opts`. */
  async unary<Req, Res>(
    method: Method<Req, Res>,
    policy: RetryPolicy,
    req: Req,
    opts: MemberCallOptions & { noToken?: boolean } = {},
  ): Promise<Res> {
    const timeout = opts.timeoutMs ?? this.config.callTimeoutMs;
    const deadline = timeout === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeout;
    const wait = this.waitSignal(opts.signal, deadline);
    const only = opts.endpoint === undefined ? undefined : this.pool.endpoint(opts.endpoint);
    let tokenRetried = false;
    try {
      for (let attempt = 0; ; attempt++) {
        let endpoint: Endpoint | undefined;
        try {
          if (!opts.noToken) await this.ensureToken(wait);
          endpoint = await this.pool.acquire(
            Math.min(deadline, Date.now() + this.config.dialTimeoutMs),
            wait,
            only,
          );
          const md = this.metadata(opts.requireLeader, opts.noToken);
          return await this.attempt(endpoint, method, req, md, deadline, opts.signal);
        } catch (e) {
          if (opts.signal?.aborted) throw opts.signal.reason;
          const err = toEtcdError(e);
          if (this.closed && err.code === Status.CANCELLED) throw new ClientClosedError(); // cut off by close()
          if (endpoint === undefined) {
            // No endpoint connected within the dial timeout (or the deadline, if that came first).
            throw Date.now() >= deadline ? deadlineError(err) : err;
          }
          if (isTokenError(err) && this.config.auth && !opts.noToken && !tokenRetried) {
            tokenRetried = true;
            this.token = undefined;
            continue;
          }
          if (err.code === Status.UNAVAILABLE) this.pool.demote(endpoint);
          if (!shouldRetry(policy, err) || attempt >= this.config.maxRetries) throw err;
          await sleep(Math.min(backoffMs(attempt), deadline - Date.now()), wait);
        }
      }
    } finally {
      wait.dispose();
    }
  }

  /** Opens a bidirectional stream on a connected endpoint (waits up to the dial timeout for one). */
  async openStream<Req, Res>(
    method: Method<Req, Res>,
    opts: { signal?: AbortSignal; requireLeader?: boolean } = {},
  ): Promise<{ call: ClientDuplexStream<Req, Res>; endpoint: Endpoint }> {
    const wait = this.waitSignal(opts.signal, Number.POSITIVE_INFINITY);
    try {
      await this.ensureToken(wait);
      const endpoint = await this.pool.acquire(Date.now() + this.config.dialTimeoutMs, wait);
      const md = this.metadata(opts.requireLeader);
      const call = endpoint.grpc.makeBidiStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        md,
      );
      return { call, endpoint };
    } finally {
      wait.dispose();
    }
  }

  /** Starts a server-streaming RPC (no retry: the stream is the caller's to read). */
  async serverStream<Req, Res>(
    method: Method<Req, Res>,
    req: Req,
    opts: MemberCallOptions = {},
  ): Promise<ClientReadableStream<Res>> {
    const timeout = opts.timeoutMs ?? this.config.callTimeoutMs;
    const deadline = timeout === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeout;
    const wait = this.waitSignal(opts.signal, deadline);
    try {
      await this.ensureToken(wait);
      const only = opts.endpoint === undefined ? undefined : this.pool.endpoint(opts.endpoint);
      const endpoint = await this.pool.acquire(
        Math.min(deadline, Date.now() + this.config.dialTimeoutMs),
        wait,
        only,
      );
      const options = Number.isFinite(deadline) ? { deadline } : {};
      const md = this.metadata(opts.requireLeader);
      return endpoint.grpc.makeServerStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        req,
        md,
        options,
      );
    } catch (e) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (Date.now() >= deadline) throw deadlineError(e);
      throw toEtcdError(e);
    } finally {
      wait.dispose();
    }
  }

  /**
   * What a stream (watch, keepalive) should do after it broke with `err` on `endpoint`: `retry` (transient:
   * reconnect, maybe elsewhere) or `halt` (permanent: report `err` to its users), as clientv3's isHaltErr.
   */
  streamFailed(endpoint: Endpoint | undefined, err: unknown): { action: "retry" | "halt"; error: EtcdError } {
    const error = toEtcdError(err);
    if (this.tokenRejected(error)) return { action: "retry", error };
    if (endpoint && (error.code === Status.UNAVAILABLE || error.code === Status.INTERNAL))
      this.pool.demote(endpoint);
    const transient = [Status.OK, Status.UNAVAILABLE, Status.INTERNAL, Status.CANCELLED, Status.UNKNOWN];
    return { action: transient.includes(error.code) ? "retry" : "halt", error };
  }

  /**
   * True if `err` says the token is no longer valid and the client can authenticate again (the token is
   * dropped, so the next call or stream gets a new one).
   */
  tokenRejected(err: EtcdError): boolean {
    if (!this.config.auth || !isTokenError(err)) return false;
    this.token = undefined;
    return true;
  }

  /** Stops new calls, lets calls on the wire finish for up to CLOSE_GRACE_MS, then cancels them. */
  async close(): Promise<void> {
    if (!this.closed) this.closing.abort(new ClientClosedError());
    if (this.inflight.size > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, CLOSE_GRACE_MS);
        this.idle = () => {
          clearTimeout(t);
          resolve();
        };
      });
      for (const c of this.inflight) c.cancel();
    }
    this.pool.close();
  }

  private attempt<Req, Res>(
    endpoint: Endpoint,
    method: Method<Req, Res>,
    req: Req,
    md: Metadata,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const options = Number.isFinite(deadline) ? { deadline } : {};
      const onAbort = (): void => call.cancel();
      const call = endpoint.grpc.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        req,
        md,
        options,
        (err, res) => {
          signal?.removeEventListener("abort", onAbort);
          this.inflight.delete(call);
          if (this.inflight.size === 0) this.idle?.();
          if (err) reject(err);
          else resolve(res!);
        },
      );
      this.inflight.add(call);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  private metadata(requireLeader: boolean | undefined, noToken = false): Metadata {
    const md = new Metadata();
    if (requireLeader ?? this.config.requireLeader) md.set("hasleader", "true");
    if (!noToken && this.token) md.set("token", this.token);
    return md;
  }

  /** Authenticates once (shared by concurrent calls) when credentials are set and no token is held. */
  private async ensureToken(signal: AbortSignal): Promise<void> {
    const auth = this.config.auth;
    if (!auth || this.token !== undefined) return;
    this.tokenRefresh ??= (async () => {
      try {
        const res = await this.unary(
          AuthService.authenticate,
          "repeatable",
          { name: auth.username, password: auth.password },
          { noToken: true, timeoutMs: this.config.dialTimeoutMs, signal },
        );
        this.token = res.token;
      } catch (e) {
        // clientv3: a server without auth enabled simply gets no token.
        if (e instanceof AuthNotEnabledError) this.token = "";
        else throw e;
      } finally {
        this.tokenRefresh = undefined;
      }
    })();
    await this.tokenRefresh;
  }

  /** A signal for the waits of one call: the caller's signal, the client closing, or the deadline. */
  private waitSignal(user: AbortSignal | undefined, deadline: number): AbortSignal & { dispose(): void } {
    const signals = [this.closing.signal];
    if (user) signals.push(user);
    let timer: NodeJS.Timeout | undefined;
    if (Number.isFinite(deadline)) {
      const c = new AbortController();
      timer = setTimeout(() => c.abort(deadlineError(undefined)), Math.max(0, deadline - Date.now()));
      signals.push(c.signal);
    }
    const s = AbortSignal.any(signals) as AbortSignal & { dispose(): void };
    s.dispose = () => clearTimeout(timer);
    return s;
  }
}

function shouldRetry(policy: RetryPolicy, err: EtcdError): boolean {
  if (err instanceof UnavailableError && err.neverSent) return true;
  return policy === "repeatable" && err.code === Status.UNAVAILABLE;
}

function deadlineError(cause: unknown): DeadlineExceededError {
  if (cause instanceof DeadlineExceededError) return cause;
  return new DeadlineExceededError(Status.DEADLINE_EXCEEDED, "context deadline exceeded", { cause });
}
