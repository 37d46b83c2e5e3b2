// Specifies the Lease gRPC service over a real grpc-js connection and a scripted LeaseBackend: etcd's error
// statuses, and the keepalive stream's quirks (TTL 0 for unknown leases, other errors end the stream).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { credentials, Server, ServerCredentials, type ServiceError, status } from "@grpc/grpc-js";
import {
  LeaseClient,
  type LeaseGrantResponse,
  type LeaseKeepAliveResponse,
  type LeaseLeasesResponse,
  LeaseService,
} from "../../proto/index.js";
import { ServerError } from "../../server/errors.js";
import type { LeaseOps } from "../../server/lease_ops.js";
import { type LeaseBackend, leaseService } from "./lease.js";

// The server's implementation must satisfy the interface the service is written against.
const _implements = (ops: LeaseOps): LeaseBackend => ops;
void _implements;

let revision = 10n;
const header = () => ({ clusterId: 1n, memberId: 2n, revision, raftTerm: 3n });
const backend: LeaseBackend = {
  leaseGrant: async (req) => {
    if (req.ID === 99n) throw new ServerError("LeaseExist");
    return { header: header(), ID: req.ID, TTL: req.TTL, error: "" };
  },
  leaseRevoke: async () => {
    throw new ServerError("LeaseNotFound");
  },
  leaseRenew: async (id) => {
    revision++; // a write lands while the renew runs: the reply's header must predate it
    if (id === 1n) return 30n;
    if (id === 13n) throw new ServerError("NoLeader");
    throw new ServerError("LeaseNotFound");
  },
  leaseTimeToLive: async (req) => ({ header: header(), ID: req.ID, TTL: -1n, grantedTTL: 0n, keys: [] }),
  leaseLeases: async () => ({ header: header(), leases: [{ ID: 5n }] }),
  currentHeader: header,
};

let server: Server;
let client: LeaseClient;
before(async () => {
  server = new Server();
  server.addService(LeaseService, leaseService(backend));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  client = new LeaseClient(`127.0.0.1:${port}`, credentials.createInsecure());
});
after(() => {
  client.close();
  server.forceShutdown();
});

/** Settles a unary call's callback as a promise. */
function settle<Res>(run: (cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    run((err, res) => (err ? reject(err) : resolve(res)));
  });
}

describe("unary lease RPCs", () => {
  test("responses pass through; typed errors become etcd's status and message", async () => {
    assert.equal(
      (await settle<LeaseGrantResponse>((cb) => client.leaseGrant({ ID: 4n, TTL: 10n }, cb))).TTL,
      10n,
    );
    await assert.rejects(
      settle((cb) => client.leaseGrant({ ID: 99n, TTL: 10n }, cb)),
      {
        code: status.FAILED_PRECONDITION,
        details: "etcdserver: lease already exists",
      },
    );
    await assert.rejects(
      settle((cb) => client.leaseRevoke({ ID: 1n }, cb)),
      {
        code: status.NOT_FOUND,
        details: "etcdserver: requested lease not found",
      },
    );
    assert.deepEqual((await settle<LeaseLeasesResponse>((cb) => client.leaseLeases({}, cb))).leases, [
      { ID: 5n },
    ]);
  });
});

describe("LeaseKeepAlive", () => {
  test("replies in order; an unknown lease gets TTL 0; the header is taken before the renew", async () => {
    const stream = client.leaseKeepAlive();
    const got: LeaseKeepAliveResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on("data", (r: LeaseKeepAliveResponse) => got.push(r));
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    const before = revision;
    for (const ID of [1n, 2n, 1n]) stream.write({ ID });
    stream.end();
    await done;
    assert.deepEqual(
      got.map((r) => [r.ID, r.TTL]),
      [
        [1n, 30n],
        [2n, 0n],
        [1n, 30n],
      ],
    );
    assert.deepEqual(
      got.map((r) => r.header?.revision),
      [before, before + 1n, before + 2n],
    );
  });

  test("any other error ends the stream with etcd's status", async () => {
    const stream = client.leaseKeepAlive();
    const ttls: bigint[] = [];
    stream.on("data", (r: LeaseKeepAliveResponse) => ttls.push(r.TTL));
    const err = await new Promise<ServiceError>((resolve) => {
      stream.on("error", resolve);
      stream.write({ ID: 1n });
      stream.write({ ID: 13n });
    });
    assert.deepEqual(ttls, [30n]);
    assert.equal(err.code, status.UNAVAILABLE);
    assert.equal(err.details, "etcdserver: no leader");
  });

  test("a client that cancels mid-stream leaves the service healthy", async () => {
    const stream = client.leaseKeepAlive();
    stream.on("error", () => undefined);
    const first = new Promise<void>((resolve) => stream.once("data", () => resolve()));
    stream.write({ ID: 1n });
    await first;
    stream.write({ ID: 1n });
    stream.cancel();
    const s2 = client.leaseKeepAlive();
    const reply = await new Promise<LeaseKeepAliveResponse>((resolve, reject) => {
      s2.once("data", resolve);
      s2.once("error", reject);
      s2.write({ ID: 1n });
    });
    s2.end();
    assert.equal(reply.TTL, 30n);
  });
});
