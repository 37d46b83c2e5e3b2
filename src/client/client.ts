// Owns the Client: its options (endpoints, timeouts, keepalive, TLS, auth), the endpoint pool and the services
// built on it (kv, watch, lease, cluster, maintenance, auth), endpoint sync from the member list, and a graceful
// close.
import { type ChannelCredentials, type ChannelOptions, credentials } from "@grpc/grpc-js";
import { Auth } from "./auth.js";
import { Caller, type CallOptions } from "./call.js";
import { Cluster } from "./cluster.js";
import { Endpoint, EndpointPool, parseEndpoint } from "./endpoints.js";
import { UnavailableError } from "./errors.js";
import { KeepAliveStream } from "./keepalive.js";
import type { Bytes } from "./keys.js";
import { KV } from "./kv.js";
import { Lease } from "./lease.js";
import { Maintenance } from "./maintenance.js";
import { Namespace } from "./namespace.js";
import { Watch } from "./watch.js";

export const DEFAULT_DIAL_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_RETRIES = 8;
/** clientv3's default send limit (2 MiB) and receive limit (math.MaxInt32). */
export const DEFAULT_MAX_SEND_BYTES = 2 * 1024 * 1024;
export const DEFAULT_MAX_RECV_BYTES = 2 ** 31 - 1;
/** Reconnect backoff of a channel to a down member; grpc-js's own default grows to 120 s. */
export const RECONNECT_BACKOFF_INITIAL_MS = 100;
export const RECONNECT_BACKOFF_MAX_MS = 1_000;
/** Deadline of one automatic sync (clientv3's autoSync uses 5 s). */
export const AUTO_SYNC_TIMEOUT_MS = 5_000;

export interface TlsOptions {
  /** PEM CA certificate(s) to verify the server with; default: the system's roots. */
  ca?: Buffer | string;
  /** PEM client certificate and key, for client-certificate auth. */
  cert?: Buffer | string;
  key?: Buffer | string;
  /** Server name to verify instead of the endpoint's host. */
  serverName?: string;
}

export interface ClientOptions {
  /** `host:port`, `http://host:port` or `https://host:port` (TLS). At least one. */
  endpoints: string[];
  /** How long a call waits for a connection to some endpoint before failing with UnavailableError. */
  dialTimeoutMs?: number;
  /** Default deadline of every unary call, retries included (per-call `timeoutMs` overrides). Default none. */
  callTimeoutMs?: number;
  /** Retries of one call on a retryable failure (with backoff, on the next healthy endpoint). */
  maxRetries?: number;
  /** Send `hasleader: true` on every call and on the watch stream (clientv3's WithRequireLeader). */
  requireLeader?: boolean;
  /** gRPC keepalive pings (clientv3 DialKeepAliveTime/Timeout); etcd rejects pings more often than every 5 s. */
  keepAliveTimeMs?: number;
  keepAliveTimeoutMs?: number;
  /** Ping also while no call is active (clientv3 PermitWithoutStream). */
  keepAliveWithoutCalls?: boolean;
  /** TLS for every endpoint (an `https://` endpoint uses TLS even without these). */
  tls?: TlsOptions;
  /** Authenticate as this user; the token is refreshed when the server rejects it. */
  auth?: { username: string; password: string };
  /** Largest request the client sends / response it accepts (bytes). */
  maxSendBytes?: number;
  maxRecvBytes?: number;
  /** Extra grpc-js channel options (advanced). */
  grpcOptions?: ChannelOptions;
  /**
   * Every this many ms, replace the endpoints with the cluster's members' client URLs (clientv3's
   * AutoSyncInterval; see `Client.sync`). Default 0: never. A failed sync is ignored and tried again later.
   */
  autoSyncIntervalMs?: number;
}

/**
 * An etcd v3 client: `client.kv`, `client.watch`, `client.lease`, `client.cluster`, `client.maintenance`,
 * `client.auth`. Calls go to one connected endpoint and fail over to another when it becomes unavailable.
 *
 * @example
 * const client = await Client.connect({ endpoints: ["127.0.0.1:2379"] });
 * await client.kv.put("greeting", "hello");
 * const { kvs } = await client.kv.get("greeting");
 * await client.close();
 */
export class Client {
  readonly kv: KV;
  readonly watch: Watch;
  readonly lease: Lease;
  readonly cluster: Cluster;
  readonly maintenance: Maintenance;
  readonly auth: Auth;
  private readonly caller: Caller;
  private readonly keepAlives: KeepAliveStream;
  private closing: Promise<void> | undefined;
  private autoSyncTimer: NodeJS.Timeout | undefined;

  /** Creates a client; connections are made on first use (see `Client.connect` to check one first). */
  constructor(options: ClientOptions) {
    const dialTimeoutMs = options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
    const channelOptions = grpcChannelOptions(options);
    const make = (endpoint: string): Endpoint => {
      const { address, secure } = parseEndpoint(endpoint);
      const useTls = secure ?? options.tls !== undefined;
      return new Endpoint(
        address,
        useTls ? tlsCredentials(options.tls) : credentials.createInsecure(),
        channelOptions,
        endpoint,
      );
    };
    const pool = new EndpointPool(options.endpoints.map(make), make);
    this.caller = new Caller(pool, {
      dialTimeoutMs,
      callTimeoutMs: options.callTimeoutMs,
      maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
      requireLeader: options.requireLeader ?? false,
      auth: options.auth,
    });
    this.keepAlives = new KeepAliveStream(this.caller, dialTimeoutMs + 1_000);
    this.kv = new KV(this.caller);
    this.watch = new Watch(this.caller, options.requireLeader);
    this.lease = new Lease(this.caller, this.keepAlives);
    this.cluster = new Cluster(this.caller);
    this.maintenance = new Maintenance(this.caller);
    this.auth = new Auth(this.caller);
    const every = options.autoSyncIntervalMs ?? 0;
    if (every > 0) this.scheduleAutoSync(every);
  }

  /**
   * Creates a client and waits until one endpoint is connected (and authenticated, with `auth`); throws
   * `UnavailableError` after `dialTimeoutMs` otherwise (clientv3's blocking New).
   */
  static async connect(options: ClientOptions): Promise<Client> {
    const client = new Client(options);
    try {
      const until = Date.now() + (options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS);
      await client.caller.pool.acquire(until);
      if (options.auth) await client.maintenance.status({ timeoutMs: Math.max(1, until - Date.now()) });
      return client;
    } catch (e) {
      await client.close();
      throw e;
    }
  }

  /** The current endpoints (`host:port`): as given, or as the last `sync`/`setEndpoints` set them. */
  get endpoints(): string[] {
    return this.caller.pool.endpoints.map((e) => e.address);
  }

  /** The endpoint calls currently go to. */
  get activeEndpoint(): string {
    return this.caller.pool.current.address;
  }

  /**
   * Replaces the endpoints (clientv3's SetEndpoints). An endpoint still listed keeps its connection, and calls
   * keep going to the current endpoint if it is still listed; watchers and keepalives on a dropped endpoint
   * stay there until their stream breaks, then reconnect to the new set.
   */
  setEndpoints(endpoints: string[]): void {
    this.caller.pool.setEndpoints(endpoints);
  }

  /**
   * Fetches the member list and makes the members' client URLs the endpoints (clientv3's Sync): a client given
   * one member finds the others, so it can fail over to them. Members not started yet (no name) and learners
   * are left out, as in clientv3 3.5. Resolves with the new endpoints.
   */
  async sync(options: CallOptions = {}): Promise<string[]> {
    const { members } = await this.cluster.memberList(options);
    const urls = members.filter((m) => m.name !== "" && !m.isLearner).flatMap((m) => m.clientURLs);
    if (urls.length === 0)
      throw new UnavailableError("etcd client: the member list has no client URLs", false);
    this.caller.pool.setEndpoints(urls);
    return this.endpoints;
  }

  /**
   * Moves calls off the current endpoint to the next one; the endpoint left is passed over for a while (as one
   * that failed a call). The ordering view uses it when a member answers with an old revision.
   */
  switchEndpoint(): void {
    this.caller.pool.demote(this.caller.pool.current);
  }

  /**
   * A view of this client in which every key lives under `prefix` (clientv3's namespace package): keys and
   * ranges are prefixed on the way out and the prefix is stripped from every key on the way back.
   */
  namespace(prefix: Bytes): Namespace {
    return new Namespace(this, prefix);
  }

  /**
   * Closes the client: new calls fail with ClientClosedError, watchers and keepalives end, calls on the wire
   * get a short grace period to finish, then connections are closed. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.autoSyncTimer);
      const done = this.caller.close();
      this.watch.close();
      this.keepAlives.close();
      await done;
    })();
    return this.closing;
  }

  private scheduleAutoSync(every: number): void {
    this.autoSyncTimer = setTimeout(async () => {
      try {
        await this.sync({ timeoutMs: AUTO_SYNC_TIMEOUT_MS });
      } catch {
        // clientv3 only logs it: the endpoints stay as they were until a later sync succeeds.
      }
      if (!this.caller.closed) this.scheduleAutoSync(every);
    }, every);
    this.autoSyncTimer.unref();
  }
}

function grpcChannelOptions(o: ClientOptions): ChannelOptions {
  const opts: ChannelOptions = {
    "grpc.initial_reconnect_backoff_ms": RECONNECT_BACKOFF_INITIAL_MS,
    "grpc.max_reconnect_backoff_ms": RECONNECT_BACKOFF_MAX_MS,
    "grpc.max_send_message_length": o.maxSendBytes ?? DEFAULT_MAX_SEND_BYTES,
    "grpc.max_receive_message_length": o.maxRecvBytes ?? DEFAULT_MAX_RECV_BYTES,
    // Every Client gets channels of its own: closing one never affects another's connections.
    "grpc.use_local_subchannel_pool": 1,
  };
  if (o.keepAliveTimeMs !== undefined) opts["grpc.keepalive_time_ms"] = o.keepAliveTimeMs;
  if (o.keepAliveTimeoutMs !== undefined) opts["grpc.keepalive_timeout_ms"] = o.keepAliveTimeoutMs;
  if (o.keepAliveWithoutCalls) opts["grpc.keepalive_permit_without_calls"] = 1;
  if (o.tls?.serverName) opts["grpc.ssl_target_name_override"] = o.tls.serverName;
  return { ...opts, ...o.grpcOptions };
}

function tlsCredentials(tls: TlsOptions | undefined): ChannelCredentials {
  const buf = (v: Buffer | string | undefined): Buffer | null => (v === undefined ? null : Buffer.from(v));
  return credentials.createSsl(buf(tls?.ca), buf(tls?.key), buf(tls?.cert));
}
