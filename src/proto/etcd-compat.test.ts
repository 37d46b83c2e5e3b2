// Wire compatibility of proto/ with the real etcd binaries (skipped when they are not installed):
// our generated clients against a real `etcd`, checking that every response etcd's Go code encoded decodes and
// re-encodes to the very same bytes; and the Go `etcdctl` against a grpc-js server built on our definitions.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  type CallOptions,
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import {
  AlarmResponse,
  AuthRoleAddResponse,
  AuthRoleGetResponse,
  AuthRoleGrantPermissionResponse,
  AuthService,
  AuthUserAddResponse,
  AuthUserGetResponse,
  AuthUserGrantRoleResponse,
  CampaignResponse,
  ClusterService,
  Compare_CompareResult,
  Compare_CompareTarget,
  DeleteRangeResponse,
  ElectionService,
  Event_EventType,
  HashKVResponse,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthService,
  KVService,
  LeaderResponse,
  LeaseGrantResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseService,
  LeaseTimeToLiveResponse,
  LockResponse,
  LockService,
  MaintenanceService,
  MemberListResponse,
  type MessageFns,
  Permission_Type,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  SnapshotResponse,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  UnlockResponse,
  WatchClient,
  WatchRequest,
  type WatchResponse,
} from "./index.js";

const ETCD = process.env.ETCD_BIN ?? "/usr/bin/etcd";
const ETCDCTL = process.env.ETCDCTL_BIN ?? "/usr/bin/etcdctl";
const DEADLINE_MS = 20_000;

const b = (s: string): Buffer => Buffer.from(s, "utf8");
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const callOptions = (): CallOptions => ({ deadline: Date.now() + DEADLINE_MS });
// Wait for the connection instead of failing fast while etcd is still starting.
const waitForReady = (): Metadata => new Metadata({ waitForReady: true });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address && typeof address === "object");
  return address.port;
}

interface UnaryMethod<Req> {
  path: string;
  requestSerialize(value: Req): Buffer;
}

/** Calls a unary RPC, keeps the raw response bytes, and checks our codec re-encodes them byte for byte. */
function call<Req, Res>(
  client: Client,
  method: UnaryMethod<Req>,
  codec: MessageFns<Res>,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      (r: Req) => method.requestSerialize(r),
      (raw: Buffer) => raw,
      req,
      waitForReady(),
      callOptions(),
      (err, raw) => {
        if (err || raw === undefined) return reject(err);
        try {
          const res = codec.decode(raw);
          assert.equal(
            hex(codec.encode(res).finish()),
            hex(raw),
            `${method.path}: re-encoding changed etcd's bytes`,
          );
          resolve(res);
        } catch (e) {
          reject(e);
        }
      },
    );
  });
}

describe("proto: against a real etcd", {
  skip: !existsSync(ETCD) && `${ETCD} not installed`,
  timeout: 60_000,
}, () => {
  let proc: ChildProcess | undefined;
  let dataDir = "";
  let client: Client;
  let address = "";
  let stderr = "";

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "etcd-ts-proto-compat-"));
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    address = `127.0.0.1:${clientPort}`;
    proc = spawn(
      ETCD,
      [
        `--name=compat`,
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=compat=${peerUrl}`,
        "--logger=zap",
        "--log-level=error",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    proc.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    client = new Client(address, credentials.createInsecure());
    // The first call waits (waitForReady) until etcd listens; a put then waits until it has elected itself.
    await call(
      client,
      KVService.put,
      PutResponse,
      PutRequest.fromPartial({ key: b("ready"), value: b("1"), lease: 0n }),
    ).catch((e: unknown) => {
      throw new Error(`etcd did not become ready: ${String(e)}\n${stderr}`);
    });
  });

  after(async () => {
    client?.close();
    if (proc && proc.exitCode === null) {
      const exited = new Promise((resolve) => proc?.once("exit", resolve));
      proc.kill("SIGTERM");
      await exited;
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("KV: put, range, delete with prev_kv", async () => {
    await call(
      client,
      KVService.put,
      PutResponse,
      PutRequest.fromPartial({ key: b("foo"), value: b("bar") }),
    );
    const put = await call(
      client,
      KVService.put,
      PutResponse,
      PutRequest.fromPartial({ key: b("foo"), value: b("baz"), prevKv: true }),
    );
    assert.equal(put.prevKv?.value.toString(), "bar");
    assert.ok((put.header?.revision ?? 0n) > 1n);
    assert.notEqual(put.header?.clusterId, 0n);

    const range = await call(
      client,
      KVService.range,
      RangeResponse,
      RangeRequest.fromPartial({ key: b("foo") }),
    );
    assert.equal(range.count, 1n);
    const kv = range.kvs[0];
    assert.equal(kv?.value.toString(), "baz");
    assert.equal(kv?.version, 2n);
    assert.equal(kv?.modRevision, put.header?.revision);

    const all = await call(
      client,
      KVService.range,
      RangeResponse,
      RangeRequest.fromPartial({ key: b("\0"), rangeEnd: b("\0"), keysOnly: true, limit: 1n }),
    );
    assert.equal(all.more, true);
    assert.equal(all.kvs[0]?.value.length, 0);

    const del = await call(client, KVService.deleteRange, DeleteRangeResponse, {
      key: b("foo"),
      rangeEnd: Buffer.alloc(0),
      prevKv: true,
    });
    assert.equal(del.deleted, 1n);
    assert.equal(del.prevKvs[0]?.value.toString(), "baz");
  });

  it("KV: txn with a zero compare operand, range_end compares and nested ops", async () => {
    const txn = {
      compare: [
        {
          result: Compare_CompareResult.EQUAL,
          target: Compare_CompareTarget.VERSION,
          key: b("absent"),
          targetUnion: { $case: "version" as const, value: 0n },
          rangeEnd: Buffer.alloc(0),
        },
        {
          result: Compare_CompareResult.LESS,
          target: Compare_CompareTarget.MOD,
          key: b("a"),
          targetUnion: { $case: "modRevision" as const, value: 1_000_000n },
          rangeEnd: b("z"),
        },
      ],
      success: [
        { request: { $case: "requestPut" as const, value: { key: b("absent"), value: b("1") } } },
        {
          request: { $case: "requestRange" as const, value: RangeRequest.fromPartial({ key: b("absent") }) },
        },
      ],
      failure: [],
    };
    const first = await call(client, KVService.txn, TxnResponse, TxnRequest.fromPartial(txn));
    assert.equal(first.succeeded, true);
    assert.equal(first.responses.length, 2);
    const rangeOp = first.responses[1]?.response;
    assert.equal(rangeOp?.$case, "responseRange");
    assert.equal(rangeOp?.$case === "responseRange" && rangeOp.value.kvs[0]?.value.toString(), "1");

    const second = await call(client, KVService.txn, TxnResponse, TxnRequest.fromPartial(txn));
    assert.equal(second.succeeded, false);
    assert.equal(second.responses.length, 0);
  });

  it("Lease: grant, attach, time-to-live with keys, list, revoke", async () => {
    const grant = await call(client, LeaseService.leaseGrant, LeaseGrantResponse, { TTL: 60n, ID: 0n });
    assert.equal(grant.TTL, 60n);
    assert.ok(grant.ID > 0n);
    await call(
      client,
      KVService.put,
      PutResponse,
      PutRequest.fromPartial({ key: b("leased"), value: b("v"), lease: grant.ID }),
    );
    const ttl = await call(client, LeaseService.leaseTimeToLive, LeaseTimeToLiveResponse, {
      ID: grant.ID,
      keys: true,
    });
    assert.equal(ttl.grantedTTL, 60n);
    assert.deepStrictEqual(
      ttl.keys.map((k) => k.toString()),
      ["leased"],
    );
    const leases = await call(client, LeaseService.leaseLeases, LeaseLeasesResponse, {});
    assert.ok(leases.leases.some((l) => l.ID === grant.ID));
    await call(client, LeaseService.leaseRevoke, LeaseRevokeResponse, { ID: grant.ID });
    const gone = await call(client, LeaseService.leaseTimeToLive, LeaseTimeToLiveResponse, {
      ID: grant.ID,
      keys: false,
    });
    assert.equal(gone.TTL, -1n);
  });

  it("Maintenance and Cluster: status, hashkv, alarms, members, snapshot", async () => {
    const st = await call(client, MaintenanceService.status, StatusResponse, {});
    assert.match(st.version, /^3\./);
    assert.ok(st.dbSize > 0n);
    assert.equal(st.leader, st.header?.memberId);
    assert.ok(st.raftAppliedIndex > 0n);

    const hash = await call(client, MaintenanceService.hashKv, HashKVResponse, { revision: 0n });
    assert.ok(hash.hash > 0);

    const alarms = await call(client, MaintenanceService.alarm, AlarmResponse, {
      action: 0,
      memberID: 0n,
      alarm: 0,
    });
    assert.deepStrictEqual(alarms.alarms, []);

    const members = await call(client, ClusterService.memberList, MemberListResponse, {
      linearizable: false,
    });
    assert.equal(members.members.length, 1);
    assert.equal(members.members[0]?.name, "compat");
    assert.equal(members.members[0]?.ID, st.header?.memberId);

    const chunks: SnapshotResponse[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = client.makeServerStreamRequest(
        MaintenanceService.snapshot.path,
        MaintenanceService.snapshot.requestSerialize,
        (raw: Buffer) => raw,
        {},
        waitForReady(),
        callOptions(),
      );
      stream.on("data", (raw: Buffer) => {
        const msg = SnapshotResponse.decode(raw);
        if (hex(SnapshotResponse.encode(msg).finish()) !== hex(raw))
          reject(new Error("snapshot re-encode differs"));
        chunks.push(msg);
      });
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    assert.ok(chunks.length > 0);
    assert.equal(chunks.at(-1)?.remainingBytes, 0n);
    assert.ok(chunks.reduce((n, c) => n + c.blob.length, 0) > 0);
  });

  it("Watch: created, events with prev_kv, canceled", async () => {
    const watch = new WatchClient(address, credentials.createInsecure());
    try {
      const stream = watch.watch(waitForReady(), callOptions());
      const responses: WatchResponse[] = [];
      const seen = new Promise<void>((resolve, reject) => {
        stream.on("data", (r: WatchResponse) => {
          responses.push(r);
          if (r.created) {
            void call(
              client,
              KVService.put,
              PutResponse,
              PutRequest.fromPartial({ key: b("w"), value: b("2") }),
            ).catch(reject);
          } else if (r.events.length > 0) {
            stream.write(
              WatchRequest.fromPartial({
                requestUnion: { $case: "cancelRequest", value: { watchId: r.watchId } },
              }),
            );
          } else if (r.canceled) {
            stream.end();
            resolve();
          }
        });
        stream.on("error", reject);
      });
      await call(client, KVService.put, PutResponse, PutRequest.fromPartial({ key: b("w"), value: b("1") }));
      stream.write(
        WatchRequest.fromPartial({
          requestUnion: { $case: "createRequest", value: { key: b("w"), prevKv: true } },
        }),
      );
      await seen;
      const event = responses.find((r) => r.events.length > 0)?.events[0];
      assert.equal(event?.type, Event_EventType.PUT);
      assert.equal(event?.kv?.value.toString(), "2");
      assert.equal(event?.prevKv?.value.toString(), "1");
      assert.equal(responses.at(-1)?.canceled, true);
    } finally {
      watch.close();
    }
  });

  it("Auth records: roles with permissions, users with options (auth stays disabled)", async () => {
    await call(client, AuthService.roleAdd, AuthRoleAddResponse, { name: "reader" });
    await call(client, AuthService.roleGrantPermission, AuthRoleGrantPermissionResponse, {
      name: "reader",
      perm: { permType: Permission_Type.READWRITE, key: b("a"), rangeEnd: b("b") },
    });
    const role = await call(client, AuthService.roleGet, AuthRoleGetResponse, { role: "reader" });
    assert.deepStrictEqual(role.perm, [
      { permType: Permission_Type.READWRITE, key: b("a"), rangeEnd: b("b") },
    ]);
    await call(client, AuthService.userAdd, AuthUserAddResponse, {
      name: "svc",
      password: "",
      options: { noPassword: true },
      hashedPassword: "",
    });
    await call(client, AuthService.userGrantRole, AuthUserGrantRoleResponse, { user: "svc", role: "reader" });
    const user = await call(client, AuthService.userGet, AuthUserGetResponse, { name: "svc" });
    assert.deepStrictEqual(user.roles, ["reader"]);
  });

  it("v3lock, v3election and grpc.health.v1 are served on our paths", async () => {
    const lease = await call(client, LeaseService.leaseGrant, LeaseGrantResponse, { TTL: 30n, ID: 0n });
    const lock = await call(client, LockService.lock, LockResponse, { name: b("mylock"), lease: lease.ID });
    assert.equal(lock.key.toString(), `mylock/${lease.ID.toString(16)}`);
    await call(client, LockService.unlock, UnlockResponse, { key: lock.key });

    await assert.rejects(call(client, ElectionService.leader, LeaderResponse, { name: b("el") }), {
      code: status.UNKNOWN,
      details: "election: no leader",
    });
    const campaign = await call(client, ElectionService.campaign, CampaignResponse, {
      name: b("el"),
      lease: lease.ID,
      value: b("me"),
    });
    assert.equal(campaign.leader?.lease, lease.ID);
    const leader = await call(client, ElectionService.leader, LeaderResponse, { name: b("el") });
    assert.equal(leader.kv?.value.toString(), "me");
    assert.equal(leader.kv?.createRevision, campaign.leader?.rev);

    const health = await call(client, HealthService.check, HealthCheckResponse, { service: "" });
    assert.equal(health.status, HealthCheckResponse_ServingStatus.SERVING);
  });
});

describe("proto: the Go etcdctl against our definitions", {
  skip: !existsSync(ETCDCTL) && `${ETCDCTL} not installed`,
  timeout: 30_000,
}, () => {
  it("etcdctl get decodes a RangeResponse encoded by our codec", async () => {
    const server = new Server();
    server.addService(KVService, {
      range(call: ServerUnaryCall<RangeRequest, RangeResponse>, callback: sendUnaryData<RangeResponse>) {
        callback(
          null,
          RangeResponse.fromPartial({
            header: { clusterId: 11n, memberId: 22n, revision: 33n, raftTerm: 4n },
            kvs: [
              {
                key: call.request.key,
                createRevision: 5n,
                modRevision: 33n,
                version: 6n,
                value: b("from etcd-ts"),
                lease: 77n,
              },
            ],
            count: 1n,
          }),
        );
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    try {
      const run = promisify(execFile);
      const args = [`--endpoints=127.0.0.1:${port}`, "--command-timeout=10s", "get", "foo"];
      const plain = await run(ETCDCTL, args, { env: { ...process.env, ETCDCTL_API: "3" } });
      assert.equal(plain.stdout, "foo\nfrom etcd-ts\n");
      const json = await run(ETCDCTL, [...args, "--write-out=json"], {
        env: { ...process.env, ETCDCTL_API: "3" },
      });
      assert.deepStrictEqual(JSON.parse(json.stdout), {
        header: { cluster_id: 11, member_id: 22, revision: 33, raft_term: 4 },
        kvs: [
          {
            key: b("foo").toString("base64"),
            create_revision: 5,
            mod_revision: 33,
            version: 6,
            value: b("from etcd-ts").toString("base64"),
            lease: 77,
          },
        ],
        count: 1,
      });
    } finally {
      server.forceShutdown();
    }
  });
});
