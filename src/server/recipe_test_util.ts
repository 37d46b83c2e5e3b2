// Owns the in-process member the lock and election tests run their recipes against (no gRPC in between).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PutRequest, RangeRequest } from "../proto/index.js";
import { TEST_SERVER_DEFAULTS } from "../testing/server_defaults.js";
import type { RecipeBackend } from "./concurrency.js";
import { EtcdServer } from "./server.js";

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

export const b = (s: string): Buffer => Buffer.from(s);

export interface TestMember {
  server: EtcdServer;
  backend: RecipeBackend;
  grant(ttl?: bigint): Promise<bigint>;
  revoke(id: bigint): Promise<void>;
  put(key: string, value?: string): Promise<void>;
  /** The keys under `prefix` as `key=value`, in create-revision order. */
  keys(prefix: string): Promise<string[]>;
  /** A round trip through raft: everything applied before it has been notified to watchers. */
  barrier(): Promise<void>;
  stop(): Promise<void>;
}

export async function startMember(): Promise<TestMember> {
  const dir = mkdtempSync(join(tmpdir(), "etcd-ts-recipes-"));
  const peer = "http://127.0.0.1:2380";
  const server = await EtcdServer.start({
    name: "default",
    dataDir: dir,
    initialAdvertisePeerUrls: [peer],
    advertiseClientUrls: ["http://127.0.0.1:2379"],
    initialCluster: new Map([["default", [peer]]]),
    initialClusterToken: "etcd-cluster",
    initialClusterState: "new",
    ...TEST_SERVER_DEFAULTS,
    heartbeatMs: 100,
    electionMs: 1000,
    logger: quiet,
  });
  await server.ready;
  const backend: RecipeBackend = {
    range: (r) => server.range(r),
    txn: (r) => server.txn(r),
    deleteRange: (r) => server.deleteRange(r),
    leaseGrant: (r) => server.lease.leaseGrant(r),
    watchable: server.watchable,
    header: (rev) => server.header(rev),
  };
  const put = async (key: string, value = ""): Promise<void> => {
    const req: PutRequest = {
      key: b(key),
      value: b(value),
      lease: 0n,
      prevKv: false,
      ignoreValue: false,
      ignoreLease: false,
    };
    await server.put(req);
  };
  return {
    server,
    backend,
    grant: async (ttl = 60n) => (await server.lease.leaseGrant({ ID: 0n, TTL: ttl })).ID,
    revoke: async (id) => {
      await server.lease.leaseRevoke({ ID: id });
    },
    put,
    keys: async (prefix) => {
      const end = Buffer.from(prefix);
      end[end.length - 1]!++;
      const r = await server.range(
        RangeRequest.fromPartial({ key: b(prefix), rangeEnd: end, sortTarget: 2, sortOrder: 1 }),
      );
      return r.kvs.map((kv) => `${kv.key}=${kv.value}`);
    },
    barrier: () => put("\u0000barrier"),
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A promise's state without waiting for it: its value, its error, or "pending". */
export async function peek<T>(p: Promise<T>): Promise<{ value: T } | { error: unknown } | "pending"> {
  const pending = Symbol("pending");
  const r = await Promise.race([
    p.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    new Promise<typeof pending>((resolve) => setImmediate(() => resolve(pending))),
  ]);
  return r === pending ? "pending" : r;
}
