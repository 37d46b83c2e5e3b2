// Owns helpers for Watch service tests: an in-process gRPC server serving Watch on a temp store (writes go
// straight to the store and notify), and a raw client stream that collects responses and waits for them.

import type { ClientDuplexStream } from "@grpc/grpc-js";
import { credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import { TempStore } from "../../mvcc/test_util.js";
import { WatchableStore, type WatchableStoreOptions } from "../../mvcc/watchable_store.js";
import {
  type ResponseHeader,
  WatchClient,
  WatchCreateRequest,
  type WatchRequest,
  type WatchResponse,
} from "../../proto/index.js";
import { installGrpcCompat } from "./grpc_compat.js";
import { FastWatchService, watchService } from "./watch.js";

export const HEADER = { clusterId: 11n, memberId: 22n, raftTerm: 3n };
const header = (revision: bigint): ResponseHeader => ({ ...HEADER, revision });

/** A gRPC server on 127.0.0.1 serving only Watch (as the server does: shared encoding, batched writes). */
export class WatchHarness {
  readonly ts = new TempStore();
  readonly watchable: WatchableStore;
  readonly server = new Server();
  endpoint = "";

  constructor(opts: WatchableStoreOptions & { maxRequestBytes?: number } = {}) {
    installGrpcCompat();
    this.watchable = new WatchableStore(this.ts.store, opts);
    this.server.addService(
      FastWatchService,
      watchService({
        watchable: this.watchable,
        header,
        maxRequestBytes: opts.maxRequestBytes ?? 1.5 * 1024 * 1024,
      }),
    );
  }

  async start(): Promise<this> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.endpoint = `127.0.0.1:${port}`;
    return this;
  }

  /** Puts (and deletes, with value undefined) in one revision, notifying watchers like the apply loop. */
  write(pairs: Array<[string, string | undefined]>): bigint {
    const t = this.ts.store.write();
    for (const [k, v] of pairs) {
      if (v === undefined) t.deleteRange(Buffer.from(k), undefined);
      else t.put(Buffer.from(k), Buffer.from(v));
    }
    const r = t.end();
    this.watchable.notify(r.changes, r.revision);
    return r.revision;
  }

  client(): WatchClient {
    return new WatchClient(this.endpoint, credentials.createInsecure());
  }

  async stop(): Promise<void> {
    this.server.forceShutdown();
    this.watchable.close();
    await this.ts.cleanup();
  }
}

/** Waits until `cond()` holds, polling on timers; fails after a generous deadline. */
export async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw Watch stream: collects every response and status. */
export class RawWatch {
  readonly responses: WatchResponse[] = [];
  error: { code?: number; details?: string } | undefined;
  ended = false;
  readonly call: ClientDuplexStream<WatchRequest, WatchResponse>;

  constructor(client: WatchClient) {
    this.call = client.watch();
    this.call.on("data", (r: WatchResponse) => this.responses.push(r));
    this.call.on("error", (e: { code?: number; details?: string }) => {
      this.error = e;
    });
    this.call.on("end", () => {
      this.ended = true;
    });
  }

  create(v: Partial<WatchCreateRequest>): void {
    this.call.write({ requestUnion: { $case: "createRequest", value: WatchCreateRequest.fromPartial(v) } });
  }

  cancel(watchId: bigint): void {
    this.call.write({ requestUnion: { $case: "cancelRequest", value: { watchId } } });
  }

  progress(): void {
    this.call.write({ requestUnion: { $case: "progressRequest", value: {} } });
  }

  async waitFor(n: number, what = `${n} responses`): Promise<WatchResponse[]> {
    await until(() => this.responses.length >= n || this.error !== undefined, what);
    if (this.error && this.responses.length < n) throw new Error(`stream failed: ${this.error.details}`);
    return this.responses.slice(0, n);
  }
}
