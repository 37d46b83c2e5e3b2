// Owns the client's endpoints: one gRPC channel per endpoint, picking a connected one, demoting failed ones,
// and replacing the endpoint set (SetEndpoints / Sync) while keeping the channels of endpoints still listed.
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
  private isClosed = false;

  constructor(
    /** `host:port` as dialled. */
    readonly address: string,
    credentials: ChannelCredentials,
    options: ChannelOptions,
    /** The endpoint as given (a URL keeps its scheme, which says whether to use TLS). */
    readonly name: string = address,
  ) {
    this.grpc = new GrpcClient(address, credentials, options);
  }

  /** The channel's state; `connect` starts connecting an idle channel. */
  state(connect: boolean): connectivityState {
    return this.grpc.getChannel().getConnectivityState(connect);
  }

  /** Closed: no new call may start on it (calls already on it finish). */
  get closed(): boolean {
    return this.isClosed;
  }

  close(): void {
    this.isClosed = true;
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
  private list: readonly Endpoint[];
  private readonly pinned = new Map<string, Endpoint>();
  /** Calls waiting in `acquire` for a state change; a new endpoint set wakes them too. */
  private readonly waiting = new Set<() => void>();

  constructor(
    endpoints: readonly Endpoint[],
    private readonly make: (endpoint: string) => Endpoint,
  ) {
    if (endpoints.length === 0) throw new TypeError("etcd client: at least one endpoint is required");
    this.list = endpoints;
  }

  /** The current endpoint set, in the order given. */
  get endpoints(): readonly Endpoint[] {
    return this.list;
  }

  /**
   * Replaces the endpoint set (clientv3's SetEndpoints). An endpoint still listed keeps its channel, and the
   * current one stays current if it is still listed. Channels of endpoints no longer listed are closed: calls
   * and streams already on them finish (the connection closes gracefully), new calls go to the new set.
   * Returns whether the set changed.
   */
  setEndpoints(names: readonly string[]): boolean {
    if (names.length === 0) throw new TypeError("etcd client: at least one endpoint is required");
    if (this.closed) return false;
    const current = this.current;
    const next: Endpoint[] = [];
    for (const name of names) {
      const { address } = parseEndpoint(name);
      if (next.some((e) => e.address === address)) continue;
      const known = this.list.find((e) => e.address === address) ?? this.pinned.get(address);
      this.pinned.delete(address);
      next.push(known ?? this.make(name));
    }
    const same = next.length === this.list.length && next.every((e, i) => e === this.list[i]);
    if (same) return false;
    for (const e of this.list) if (!next.includes(e)) e.close();
    this.list = next;
    this.active = Math.max(0, next.indexOf(current));
    for (const wake of [...this.waiting]) wake();
    return true;
  }

  /** The endpoint calls currently go to. */
  get current(): Endpoint {
    return this.list[this.active]!;
  }

  /** A client for one named endpoint (maintenance calls aimed at a member); made on first use. */
  endpoint(name: string): Endpoint {
    const { address } = parseEndpoint(name);
    const known = this.list.find((e) => e.address === address) ?? this.pinned.get(address);
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
    let target = only;
    for (;;) {
      if (this.closed) throw new ClientClosedError();
      signal?.throwIfAborted();
      // Read each round: the set may be replaced (sync) while a call waits, closing a named endpoint's channel.
      if (target?.closed) target = this.endpoint(target.name);
      const candidates = target ? [target] : this.list;
      const ready = this.pickReady(candidates, target === undefined);
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
    const i = this.list.indexOf(e);
    if (i === this.active && this.list.length > 1) this.active = (i + 1) % this.list.length;
  }

  close(): void {
    this.closed = true;
    for (const e of this.list) e.close();
    for (const e of this.pinned.values()) e.close();
  }

  private pickReady(candidates: readonly Endpoint[], isPool: boolean): Endpoint | undefined {
    const now = Date.now();
    const start = isPool ? this.active : 0;
    let fallback: Endpoint | undefined;
    for (let n = 0; n < candidates.length; n++) {
      const i = (start + n) % candidates.length;
      const e = candidates[i]!;
      // Asking with connect=true also starts connecting idle endpoints, so their health is known early.
      if (e.state(true) !== connectivityState.READY) continue;
      if (e.demotedUntil <= now) {
        if (isPool) this.active = i;
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
        this.waiting.delete(wake);
        signal?.removeEventListener("abort", onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onAbort = (): void => done(signal!.reason);
      const wake = (): void => done();
      this.waiting.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
      for (const e of candidates) {
        if (e.closed) continue;
        const ch = e.grpc.getChannel();
        // Fires on a change or at `until`, whichever comes first; a late call after settling is a no-op.
        ch.watchConnectivityState(ch.getConnectivityState(false), until, () => done());
      }
    });
  }
}
