// Owns the client's endpoints: one gRPC channel per endpoint, picking a connected one, demoting failed ones.
import {
  type ChannelCredentials,
  type ChannelOptions,
  connectivityState,
  Client as GrpcClient,
} from "@grpc/grpc-js";
import { ClientClosedError, UnavailableError } from "./errors.js";

/** How long an endpoint that failed a call is passed over while another one is connected. */
export const DEMOTE_MS = 5_000;

/** One etcd endpoint: a channel (connects lazily, reconnects with backoff) and a grpc-js client on it. */
export class Endpoint {
  /** Until then, prefer any other connected endpoint. */
  demotedUntil = 0;
  readonly grpc: GrpcClient;

  constructor(
    /** `host:port` as dialled. */
    readonly address: string,
    credentials: ChannelCredentials,
    options: ChannelOptions,
  ) {
    this.grpc = new GrpcClient(address, credentials, options);
  }

  /** The channel's state; `connect` starts connecting an idle channel. */
  state(connect: boolean): connectivityState {
    return this.grpc.getChannel().getConnectivityState(connect);
  }

  close(): void {
    this.grpc.close();
  }
}

/** Splits `http://h:p`, `https://h:p` or `h:p` into the address to dial and whether it wants TLS. */
export function parseEndpoint(endpoint: string): { address: string; secure: boolean | undefined } {
  const m = /^(https?|unixs?):\/\/(.*)$/.exec(endpoint);
  if (!m) return { address: endpoint, secure: undefined };
  const scheme = m[1]!;
  const rest = m[2]!.replace(/\/+$/, "");
  if (scheme.startsWith("unix")) return { address: `unix:${rest}`, secure: scheme === "unixs" };
  return { address: rest, secure: scheme === "https" };
}

/**
 * The endpoints of one client. `acquire` returns a connected endpoint, starting from the one used last so
 * calls stick to one member (as clientv3's pinned endpoint) and moving on when it fails.
 */
export class EndpointPool {
  private active = 0;
  private closed = false;
  private readonly pinned = new Map<string, Endpoint>();

  constructor(
    readonly endpoints: readonly Endpoint[],
    private readonly make: (endpoint: string) => Endpoint,
  ) {
    if (endpoints.length === 0) throw new TypeError("etcd client: at least one endpoint is required");
  }

  /** The endpoint calls currently go to. */
  get current(): Endpoint {
    return this.endpoints[this.active]!;
  }

  /** A client for one named endpoint (maintenance calls aimed at a member); made on first use. */
  endpoint(name: string): Endpoint {
    const { address } = parseEndpoint(name);
    const known = this.endpoints.find((e) => e.address === address) ?? this.pinned.get(address);
    if (known) return known;
    const e = this.make(name);
    this.pinned.set(address, e);
    return e;
  }

  /**
   * A connected endpoint, waiting for one until `until` (ms since epoch). Throws `UnavailableError` (never
   * sent) if none connects in time, the abort reason if `signal` fires, `ClientClosedError` after close.
   */
  async acquire(until: number, signal?: AbortSignal, only?: Endpoint): Promise<Endpoint> {
    const candidates = only ? [only] : this.endpoints;
    for (;;) {
      if (this.closed) throw new ClientClosedError();
      signal?.throwIfAborted();
      const ready = this.pickReady(candidates);
      if (ready) return ready;
      const now = Date.now();
      if (now >= until) {
        const names = candidates.map((e) => e.address).join(", ");
        throw new UnavailableError(`etcd client: no connection available to ${names}`, true);
      }
      await this.anyStateChange(candidates, until, signal);
    }
  }

  /** Marks an endpoint as failing so the next calls prefer another (failover). */
  demote(e: Endpoint): void {
    e.demotedUntil = Date.now() + DEMOTE_MS;
    const i = this.endpoints.indexOf(e);
    if (i === this.active && this.endpoints.length > 1) this.active = (i + 1) % this.endpoints.length;
  }

  close(): void {
    this.closed = true;
    for (const e of this.endpoints) e.close();
    for (const e of this.pinned.values()) e.close();
  }

  private pickReady(candidates: readonly Endpoint[]): Endpoint | undefined {
    const now = Date.now();
    const start = candidates === this.endpoints ? this.active : 0;
    let fallback: Endpoint | undefined;
    for (let n = 0; n < candidates.length; n++) {
      const i = (start + n) % candidates.length;
      const e = candidates[i]!;
      // Asking with connect=true also starts connecting idle endpoints, so their health is known early.
      if (e.state(true) !== connectivityState.READY) continue;
      if (e.demotedUntil <= now) {
        if (candidates === this.endpoints) this.active = i;
        return e;
      }
      fallback ??= e;
    }
    return fallback;
  }

  private anyStateChange(
    candidates: readonly Endpoint[],
    until: number,
    signal?: AbortSignal,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const done = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onAbort = (): void => done(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      for (const e of candidates) {
        const ch = e.grpc.getChannel();
        // Fires on a change or at `until`, whichever comes first; a late call after settling is a no-op.
        ch.watchConnectivityState(ch.getConnectivityState(false), until, () => done());
      }
    });
  }
}
