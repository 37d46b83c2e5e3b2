// Owns the load generator's connections: C gRPC channels (each its own TCP connection, like etcd benchmark's
// --conns) with N clients spread over them round-robin, and promise wrappers for the unary calls we make.
import { Channel, type ChannelOptions, type Client, credentials, type ServiceError } from "@grpc/grpc-js";
import {
  KVClient,
  LeaseClient,
  type LeaseGrantResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  WatchClient,
} from "../proto/index.js";

const CHANNEL_OPTIONS: ChannelOptions = {
  // Without a local pool, grpc-js shares one subchannel (one TCP connection) among equal channels.
  "grpc.use_local_subchannel_pool": 1,
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
};
const READY_TIMEOUT_MS = 10_000;

type ClientCtor<C> = new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
  opts: object,
) => C;

export class Conns {
  private readonly channels: Channel[];
  private readonly clients: Client[] = [];

  constructor(
    private readonly endpoint: string,
    count: number,
  ) {
    this.channels = Array.from(
      { length: Math.max(1, count) },
      () => new Channel(endpoint, credentials.createInsecure(), CHANNEL_OPTIONS),
    );
  }

  /** `n` clients of one service, client i on connection i mod C. */
  private make<C extends Client>(ctor: ClientCtor<C>, n: number): C[] {
    const out = Array.from({ length: n }, (_, i) => {
      const channelOverride = this.channels[i % this.channels.length]!;
      return new ctor(this.endpoint, credentials.createInsecure(), { channelOverride });
    });
    this.clients.push(...out);
    return out;
  }

  kv(n: number): KVClient[] {
    return this.make(KVClient, n);
  }
  lease(n: number): LeaseClient[] {
    return this.make(LeaseClient, n);
  }
  watch(n: number): WatchClient[] {
    return this.make(WatchClient, n);
  }

  /** Connects every channel before timing starts. */
  async ready(): Promise<void> {
    const probes = this.make(KVClient, this.channels.length);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    await Promise.all(
      probes.map(
        (c) => new Promise<void>((res, rej) => c.waitForReady(deadline, (e) => (e ? rej(e) : res()))),
      ),
    );
  }

  close(): void {
    for (const c of this.clients) c.close();
    for (const ch of this.channels) ch.close();
  }
}

type Cb<R> = (err: ServiceError | null, res: R) => void;
const promised = <R>(start: (cb: Cb<R>) => unknown): Promise<R> =>
  new Promise((resolve, reject) => {
    start((err, res) => (err ? reject(err) : resolve(res)));
  });

export const put = (kv: KVClient, req: PutRequest): Promise<PutResponse> => promised((cb) => kv.put(req, cb));
export const range = (kv: KVClient, req: RangeRequest): Promise<RangeResponse> =>
  promised((cb) => kv.range(req, cb));
export const leaseGrant = (lease: LeaseClient, ttl: bigint): Promise<LeaseGrantResponse> =>
  promised((cb) => lease.leaseGrant({ TTL: ttl, ID: 0n }, cb));

export function putRequest(key: Buffer, value: Buffer, lease = 0n): PutRequest {
  return { key, value, lease, prevKv: false, ignoreValue: false, ignoreLease: false };
}

/** etcd benchmark's keys: `n` written into `size` bytes (decimal, zero-padded; truncated if it does not fit). */
export function makeKey(n: number, size: number, prefix = ""): Buffer {
  const digits = String(n).padStart(size, "0");
  return Buffer.from(prefix + digits.slice(digits.length - size));
}

/** Describes a failed call in one line for the report. */
export function errText(err: unknown): string {
  const e = err as Partial<ServiceError>;
  return e.code !== undefined ? `${e.code} ${e.details ?? e.message}` : String(err);
}
