// Tests for proto/: bigint round trips, byte-exact encodings built from the protobuf rules, gateway JSON,
// field numbers against the etcd3 npm client's copy of etcd's protos, and grpc-js service paths end to end.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  credentials,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import {
  AlarmType,
  Compare,
  Compare_CompareResult,
  Compare_CompareTarget,
  DeleteRangeResponse,
  Event_EventType,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  type HealthServer,
  HealthService,
  InternalRaftRequest,
  KVClient,
  type KVServer,
  KVService,
  LeaseTimeToLiveResponse,
  LockService,
  MemberListResponse,
  type MessageFns,
  PutRequest,
  RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  RangeResponse,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchClient,
  WatchCreateRequest_FilterType,
  WatchRequest,
  WatchResponse,
  type WatchServer,
  WatchService,
} from "./index.js";

const MAX_INT64 = 2n ** 63n - 1n;
const MIN_INT64 = -(2n ** 63n);
const MAX_UINT64 = 2n ** 64n - 1n;

const b = (s: string): Buffer => Buffer.from(s, "utf8");
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

// Expected bytes are built with this independent varint/tag writer, straight from the protobuf encoding rules.
function varint(n: bigint): number[] {
  let v = BigInt.asUintN(64, n); // negative int64 → two's complement, 10 bytes
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const tag = (field: number, wireType: 0 | 2): number[] => varint(BigInt((field << 3) | wireType));
const vField = (field: number, n: bigint): number[] => [...tag(field, 0), ...varint(n)];
const lenField = (field: number, payload: number[] | Uint8Array): number[] => [
  ...tag(field, 2),
  ...varint(BigInt(payload.length)),
  ...payload,
];
const bytesOf = (s: string): number[] => [...b(s)];

function roundTrip<T>(codec: MessageFns<T>, message: T): T {
  const decoded = codec.decode(codec.encode(message).finish());
  assert.deepStrictEqual(decoded, message);
  return decoded;
}

describe("proto: bigint round trips", () => {
  it("keeps int64 and uint64 extremes exact", () => {
    roundTrip(
      RangeResponse,
      RangeResponse.fromPartial({
        header: { clusterId: MAX_UINT64, memberId: 1n, revision: MAX_INT64, raftTerm: MAX_UINT64 },
        kvs: [
          {
            key: b("foo"),
            createRevision: 2n,
            modRevision: MAX_INT64,
            version: 3n,
            value: b("bar"),
            lease: 0x7fff_ffff_ffff_fff0n,
          },
          { key: Buffer.from([0, 0xff, 0x80]), createRevision: 9n, modRevision: 9n, version: 1n },
        ],
        more: true,
        count: 2n,
      }),
    );
    const ttl = roundTrip(
      LeaseTimeToLiveResponse,
      LeaseTimeToLiveResponse.fromPartial({ ID: MIN_INT64, TTL: -1n }),
    );
    assert.equal(ttl.TTL, -1n);
    assert.equal(typeof ttl.ID, "bigint");
  });

  it("round-trips nested txns, compare unions and deletes", () => {
    const txn = TxnRequest.fromPartial({
      compare: [
        {
          result: Compare_CompareResult.NOT_EQUAL,
          target: Compare_CompareTarget.LEASE,
          key: b("k"),
          targetUnion: { $case: "lease", value: 0x1234_5678_9abc_def0n },
          rangeEnd: b("l"),
        },
      ],
      success: [
        {
          request: {
            $case: "requestTxn",
            value: { success: [{ request: { $case: "requestPut", value: { key: b("a"), lease: -5n } } }] },
          },
        },
      ],
      failure: [
        { request: { $case: "requestDeleteRange", value: { key: b("a"), rangeEnd: b("\0"), prevKv: true } } },
      ],
    });
    const decoded = roundTrip(TxnRequest, txn);
    const op = decoded.success[0]?.request;
    assert.equal(op?.$case, "requestTxn");
    roundTrip(
      TxnResponse,
      TxnResponse.fromPartial({
        header: { revision: 10n },
        succeeded: true,
        responses: [
          { response: { $case: "responseDeleteRange", value: { header: { revision: 10n }, deleted: 3n } } },
        ],
      }),
    );
    roundTrip(DeleteRangeResponse, DeleteRangeResponse.fromPartial({ deleted: MAX_INT64 }));
  });

  it("round-trips raft entries and 3.5–3.7 additions", () => {
    roundTrip(
      InternalRaftRequest,
      InternalRaftRequest.fromPartial({
        header: {
          ID: MAX_UINT64,
          username: "root",
          authRevision: 4n,
          requesterMemberId: 0x8e9e05c52164694dn,
        },
        ID: MAX_UINT64,
        leaseCheckpoint: { checkpoints: [{ ID: 7n, remainingTTL: 30n }] },
        authStatus: {},
        clusterMemberAttrSet: {
          memberID: 3n,
          memberAttributes: { name: "m1", clientUrls: ["http://a:2379"] },
        },
      }),
    );
    roundTrip(
      StatusResponse,
      StatusResponse.fromPartial({
        version: "3.6.0",
        dbSize: 1n << 40n,
        raftAppliedIndex: MAX_UINT64,
        errors: ["memberID:1 alarm:NOSPACE "],
        isLearner: true,
        storageVersion: "3.6.0",
        dbSizeQuota: 2n << 30n,
        downgradeInfo: { enabled: true, targetVersion: "3.5.0" },
      }),
    );
  });

  it("rejects 64-bit values out of range instead of truncating", () => {
    assert.throws(() => PutRequest.encode(PutRequest.fromPartial({ lease: MAX_INT64 + 1n })), /too large/);
    assert.throws(() => PutRequest.encode(PutRequest.fromPartial({ lease: MIN_INT64 - 1n })), /too large/);
  });

  it("decodes bytes fields as Buffers that do not alias the input", () => {
    const wire = PutRequest.encode(PutRequest.fromPartial({ key: b("key"), value: b("value") })).finish();
    const put = PutRequest.decode(wire);
    assert.ok(Buffer.isBuffer(put.key));
    wire.fill(0);
    assert.equal(put.key.toString(), "key");
  });
});

describe("proto: wire bytes match etcd's encoding", () => {
  it("PutRequest", () => {
    const put = PutRequest.fromPartial({
      key: b("foo"),
      value: b("bar"),
      lease: 300n,
      prevKv: true,
      ignoreLease: true,
    });
    // Literal vector: 0a 03 "foo" | 12 03 "bar" | 18 ac02 (300) | 20 01 | 30 01
    assert.equal(hex(PutRequest.encode(put).finish()), "0a03666f6f1203626172" + "18ac02" + "2001" + "3001");
  });

  it("RangeRequest with every option", () => {
    const req = RangeRequest.fromPartial({
      key: b("a"),
      rangeEnd: b("\0"),
      limit: 10n,
      revision: 5n,
      sortOrder: RangeRequest_SortOrder.DESCEND,
      sortTarget: RangeRequest_SortTarget.MOD,
      serializable: true,
      keysOnly: true,
      countOnly: true,
      minModRevision: 1n,
      maxModRevision: 2n,
      minCreateRevision: 3n,
      maxCreateRevision: 4n,
    });
    const expected = [
      ...lenField(1, bytesOf("a")),
      ...lenField(2, [0]),
      ...vField(3, 10n),
      ...vField(4, 5n),
      ...vField(5, 2n),
      ...vField(6, 3n),
      ...vField(7, 1n),
      ...vField(8, 1n),
      ...vField(9, 1n),
      ...vField(10, 1n),
      ...vField(11, 2n),
      ...vField(12, 3n),
      ...vField(13, 4n),
    ];
    assert.equal(hex(RangeRequest.encode(req).finish()), hex(Uint8Array.from(expected)));
  });

  it("RangeResponse with etcd's default cluster and member IDs", () => {
    const clusterId = 0xcdf818194e3a8c32n;
    const memberId = 0x8e9e05c52164694dn;
    const resp = RangeResponse.fromPartial({
      header: { clusterId, memberId, revision: 5n, raftTerm: 2n },
      kvs: [{ key: b("foo"), createRevision: 2n, modRevision: 5n, version: 4n, value: b("bar"), lease: 0n }],
      count: 1n,
    });
    const header = [...vField(1, clusterId), ...vField(2, memberId), ...vField(3, 5n), ...vField(4, 2n)];
    const kv = [
      ...lenField(1, bytesOf("foo")),
      ...vField(2, 2n),
      ...vField(3, 5n),
      ...vField(4, 4n),
      ...lenField(5, bytesOf("bar")),
    ];
    const expected = [...lenField(1, header), ...lenField(2, kv), ...vField(4, 1n)];
    assert.equal(hex(RangeResponse.encode(resp).finish()), hex(Uint8Array.from(expected)));
    // The header varints, spelled out: cluster_id 0xcdf818194e3a8c32 is 10 bytes on the wire.
    assert.equal(hex(Uint8Array.from(vField(1, clusterId))), "08b298eaf1948386fccd01");
  });

  it("negative int64 is a 10-byte varint", () => {
    const resp = LeaseTimeToLiveResponse.fromPartial({ ID: 1n, TTL: -1n });
    assert.equal(hex(LeaseTimeToLiveResponse.encode(resp).finish()), "1001" + "18ffffffffffffffffff01");
  });

  it("Compare puts a zero operand on the wire (clientv3 Version(k) = 0) and range_end at field 64", () => {
    const absent = Compare.fromPartial({ key: b("k"), targetUnion: { $case: "version", value: 0n } });
    assert.equal(hex(Compare.encode(absent).finish()), "1a016b" + "2000");
    const decoded = Compare.decode(Compare.encode(absent).finish());
    assert.deepStrictEqual(decoded.targetUnion, { $case: "version", value: 0n });
    assert.equal(Compare.decode(Buffer.from("1a016b", "hex")).targetUnion, undefined);

    const ranged = Compare.fromPartial({
      result: Compare_CompareResult.LESS,
      target: Compare_CompareTarget.MOD,
      key: b("a"),
      targetUnion: { $case: "modRevision", value: 7n },
      rangeEnd: b("b"),
    });
    assert.equal(hex(Compare.encode(ranged).finish()), "0802" + "1002" + "1a0161" + "3007" + "82040162");
  });

  it("WatchCreateRequest packs filters like Go does", () => {
    const req = WatchRequest.fromPartial({
      requestUnion: {
        $case: "createRequest",
        value: {
          key: b("a"),
          filters: [WatchCreateRequest_FilterType.NOPUT, WatchCreateRequest_FilterType.NODELETE],
          prevKv: true,
          watchId: 5n,
        },
      },
    });
    assert.equal(hex(WatchRequest.encode(req).finish()), "0a0b" + "0a0161" + "2a020001" + "3001" + "3805");
    // An unpacked encoding (older encoders) decodes to the same filters.
    const unpacked = WatchRequest.decode(Buffer.from("0a07" + "0a0161" + "2800" + "2801", "hex"));
    assert.deepStrictEqual(
      unpacked.requestUnion?.$case === "createRequest" ? unpacked.requestUnion.value.filters : undefined,
      [0, 1],
    );
  });

  it("WatchResponse events sit at field 11", () => {
    const resp = WatchResponse.fromPartial({
      watchId: 1n,
      events: [{ type: Event_EventType.DELETE, kv: { key: b("k"), modRevision: 8n } }],
    });
    const event = [...vField(1, 1n), ...lenField(2, [...lenField(1, bytesOf("k")), ...vField(3, 8n)])];
    const expected = [...vField(2, 1n), ...lenField(11, event)];
    assert.equal(hex(WatchResponse.encode(resp).finish()), hex(Uint8Array.from(expected)));
  });

  it("InternalRaftRequest uses etcd's field numbers, in ascending order", () => {
    const entry = InternalRaftRequest.fromPartial({
      header: { ID: 7n, username: "root" },
      ID: 7n,
      put: { key: b("k"), value: b("v") },
      authenticate: { name: "root", simpleToken: "tok.1" },
    });
    const expected = [
      ...vField(1, 7n),
      ...lenField(4, [...lenField(1, bytesOf("k")), ...lenField(2, bytesOf("v"))]),
      ...lenField(100, [...vField(1, 7n), ...lenField(2, bytesOf("root"))]),
      ...lenField(1012, [...lenField(1, bytesOf("root")), ...lenField(3, bytesOf("tok.1"))]),
    ];
    assert.equal(hex(InternalRaftRequest.encode(entry).finish()), hex(Uint8Array.from(expected)));
    assert.equal(hex(Uint8Array.from(tag(100, 2))), "a206");
    assert.equal(hex(Uint8Array.from(tag(1012, 2))), "a23f");
  });

  it("decoders skip unknown fields (a 3.4 peer reading 3.6 messages, and vice versa)", () => {
    const known = StatusResponse.encode(
      StatusResponse.fromPartial({ version: "3.4.23", isLearner: true }),
    ).finish();
    const withUnknown = Uint8Array.from([...known, ...vField(99, 5n), ...lenField(100, bytesOf("future"))]);
    assert.deepStrictEqual(StatusResponse.decode(withUnknown), StatusResponse.decode(known));
  });
});

describe("proto: gateway JSON", () => {
  it("emits proto field names, int64 as strings, bytes as base64, enums as names, zero values omitted", () => {
    const resp = RangeResponse.fromPartial({
      header: { clusterId: 1n, memberId: 2n, revision: 3n, raftTerm: 4n },
      kvs: [{ key: b("foo"), createRevision: 2n, modRevision: 3n, version: 1n, value: b("bar") }],
      count: 1n,
    });
    assert.deepStrictEqual(RangeResponse.toJSON(resp), {
      header: { cluster_id: "1", member_id: "2", revision: "3", raft_term: "4" },
      kvs: [{ key: "Zm9v", create_revision: "2", mod_revision: "3", version: "1", value: "YmFy" }],
      count: "1",
    });
    const members = MemberListResponse.fromPartial({
      members: [{ ID: 5n, name: "n", peerURLs: ["http://p"], clientURLs: [], isLearner: false }],
    });
    assert.deepStrictEqual(MemberListResponse.toJSON(members), {
      members: [{ ID: "5", name: "n", peerURLs: ["http://p"] }],
    });
  });

  it("accepts requests as etcd's gateway documents them", () => {
    const req = RangeRequest.fromJSON({ key: "Zm9v", range_end: "Zm9w", limit: 10, sort_order: "DESCEND" });
    assert.deepStrictEqual(
      req,
      RangeRequest.fromPartial({
        key: b("foo"),
        rangeEnd: b("fop"),
        limit: 10n,
        sortOrder: RangeRequest_SortOrder.DESCEND,
      }),
    );
    assert.equal(RangeRequest.fromJSON({ revision: "9223372036854775807" }).revision, MAX_INT64);
    assert.equal(RangeRequest.fromJSON({ sort_target: 3 }).sortTarget, RangeRequest_SortTarget.MOD);
  });

  it("keeps top-level enum names", () => {
    assert.equal(AlarmType[AlarmType.NOSPACE], "NOSPACE");
  });
});

// A tiny reader of .proto text: enough for etcd's files (messages, nested enums, oneofs, services).
interface ProtoShape {
  fields: Map<string, string>; // "Msg.field" → "[repeated ]type=number"
  enumValues: Map<string, string>; // "Msg.Enum.NUMBER" → normalised value name
  rpcs: Map<string, string>; // "Service.Method" → "(Req) returns (Res)" with streams
  fieldOrder: Map<string, number[]>; // message → numbers in declaration order
}

function parseProto(text: string): ProtoShape {
  const tokens: string[] =
    text.replace(/\/\/.*$/gm, "").match(/[A-Za-z_][\w.]*|\d+|"[^"]*"|[{}=;()[\],<>]/g) ?? [];
  const shape: ProtoShape = {
    fields: new Map(),
    enumValues: new Map(),
    rpcs: new Map(),
    fieldOrder: new Map(),
  };
  const scopes: { kind: string; name: string; depth: number }[] = [];
  let depth = 0;
  const strip = (type: string): string => type.replace(/^(mvccpb|authpb|etcdserverpb)\./, "");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (["message", "enum", "service", "oneof"].includes(t) && tokens[i + 2] === "{") {
      scopes.push({ kind: t, name: tokens[i + 1]!, depth });
      i++;
      continue;
    }
    if (t === "{") depth++;
    else if (t === "}") {
      depth--;
      if (scopes.at(-1)?.depth === depth) scopes.pop();
    }
    const top = scopes.at(-1);
    if (!top) continue;
    const path = scopes
      .filter((s) => s.kind === "message" || s.kind === "enum")
      .map((s) => s.name)
      .join(".");
    if (
      (top.kind === "message" || top.kind === "oneof") &&
      !["option", "reserved", "message", "enum"].includes(t)
    ) {
      const repeated = t === "repeated";
      const j = repeated ? i + 1 : i;
      if (tokens[j + 2] === "=" && /^\d+$/.test(tokens[j + 3] ?? "")) {
        const num = Number(tokens[j + 3]);
        shape.fields.set(
          `${path}.${tokens[j + 1]}`,
          `${repeated ? "repeated " : ""}${strip(tokens[j]!)}=${num}`,
        );
        const order = shape.fieldOrder.get(path) ?? [];
        order.push(num);
        shape.fieldOrder.set(path, order);
        i = j + 3;
      }
    } else if (top.kind === "enum" && tokens[i + 1] === "=" && /^\d+$/.test(tokens[i + 2] ?? "")) {
      shape.enumValues.set(`${path}.${tokens[i + 2]}`, t.replaceAll("_", "").toUpperCase());
      i += 2;
    } else if (top.kind === "service" && t === "rpc") {
      const end = tokens.indexOf(")", tokens.indexOf("returns", i));
      const sig = tokens
        .slice(i + 2, end + 1)
        .map(strip)
        .join(" ");
      shape.rpcs.set(`${top.name}.${tokens[i + 1]}`, sig);
    }
  }
  return shape;
}

const here = dirname(fileURLToPath(import.meta.url)); // dist/proto
const protoRoot = join(here, "..", "..", "src", "proto");

function listProtos(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "gen" ? [] : listProtos(p);
    return e.name.endsWith(".proto") ? [p] : [];
  });
}

describe("proto: .proto sources", () => {
  it("declare fields in ascending number order, so encodings are byte-identical to etcd's Go marshalers", () => {
    const files = listProtos(protoRoot);
    assert.ok(files.length >= 8, `found ${files.length} .proto files under ${protoRoot}`);
    for (const file of files) {
      for (const [message, order] of parseProto(readFileSync(file, "utf8")).fieldOrder) {
        const sorted = [...order].sort((x, y) => x - y);
        assert.deepStrictEqual(order, sorted, `${file}: ${message}`);
      }
    }
  });

  // etcd3 (npm) ships its own copy of etcd's kv/auth/rpc protos; everything it knows must match ours exactly.
  const require = createRequire(import.meta.url);
  let etcd3Protos: string | undefined;
  try {
    etcd3Protos = join(dirname(require.resolve("etcd3/package.json")), "proto");
  } catch {
    etcd3Protos = undefined;
  }
  for (const [theirs, ours] of [
    ["kv.proto", "etcd/api/mvccpb/kv.proto"],
    ["auth.proto", "etcd/api/authpb/auth.proto"],
    ["rpc.proto", "etcd/api/etcdserverpb/rpc.proto"],
  ] as const) {
    it(`agrees with the etcd3 npm client's ${theirs}`, {
      skip: etcd3Protos === undefined && "etcd3 not installed",
    }, () => {
      const a = parseProto(readFileSync(join(etcd3Protos!, theirs), "utf8"));
      const o = parseProto(readFileSync(join(protoRoot, ours), "utf8"));
      assert.ok(a.fields.size > 0);
      for (const [key, value] of a.fields) assert.equal(o.fields.get(key), value, `field ${key}`);
      for (const [key, value] of a.enumValues)
        assert.equal(o.enumValues.get(key), value, `enum value ${key}`);
      for (const [key, value] of a.rpcs) assert.equal(o.rpcs.get(key), value, `rpc ${key}`);
      // Ours is a superset: only the 3.5+ additions that etcd3 1.1.2 predates are extra.
      const extra = [...o.fields.keys()].filter((k) => !a.fields.has(k));
      if (theirs === "rpc.proto") {
        assert.deepStrictEqual(extra.sort(), [
          "AuthUserAddRequest.hashedPassword",
          "AuthUserChangePasswordRequest.hashedPassword",
          "DowngradeInfo.enabled",
          "DowngradeInfo.targetVersion",
          "DowngradeVersionTestRequest.ver",
          "HashKVResponse.hash_revision",
          "SnapshotResponse.version",
          "StatusResponse.dbSizeQuota",
          "StatusResponse.downgradeInfo",
          "StatusResponse.storageVersion",
        ]);
      } else {
        assert.deepStrictEqual(extra, []);
      }
    });
  }
});

// ---- end to end over grpc-js ----

function startServer(setup: (server: Server) => void): Promise<{ server: Server; address: string }> {
  const server = new Server();
  setup(server);
  return new Promise((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, port) => {
      if (err) reject(err);
      else resolve({ server, address: `127.0.0.1:${port}` });
    });
  });
}

function unary<Res>(call: (cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    call((err, res) => (err ? reject(err) : resolve(res)));
  });
}

describe("proto: grpc-js end to end", () => {
  it("serves KV.Range, Watch and Health on etcd's paths to the generated clients", async () => {
    const paths: string[] = [];
    const kv: Pick<KVServer, "range"> = {
      range(call: ServerUnaryCall<RangeRequest, RangeResponse>, callback) {
        paths.push(call.getPath());
        const key = call.request.key;
        callback(
          null,
          RangeResponse.fromPartial({
            header: { clusterId: 0xcdf818194e3a8c32n, memberId: 1n, revision: MAX_INT64, raftTerm: 2n },
            kvs: [{ key, createRevision: 2n, modRevision: 3n, version: 1n, value: b(`value of ${key}`) }],
            count: 1n,
          }),
        );
      },
    };
    const watch: WatchServer = {
      watch(call) {
        call.on("data", (req: WatchRequest) => {
          if (req.requestUnion?.$case !== "createRequest") return;
          const { key, watchId } = req.requestUnion.value;
          call.write(WatchResponse.fromPartial({ header: { revision: 1n }, watchId, created: true }));
          call.write(
            WatchResponse.fromPartial({
              watchId,
              events: [{ type: Event_EventType.PUT, kv: { key, modRevision: 2n, value: b("v") } }],
            }),
          );
        });
        call.on("end", () => call.end());
      },
    };
    const health: HealthServer = {
      check(_call, callback) {
        callback(null, { status: HealthCheckResponse_ServingStatus.SERVING });
      },
      watch(call) {
        call.end();
      },
    };
    const { server, address } = await startServer((s) => {
      s.addService(KVService, kv);
      s.addService(WatchService, watch);
      s.addService(HealthService, health);
    });
    const kvClient = new KVClient(address, credentials.createInsecure());
    const watchClient = new WatchClient(address, credentials.createInsecure());
    const healthClient = new HealthClient(address, credentials.createInsecure());
    try {
      const res = await unary<RangeResponse>((cb) =>
        kvClient.range(RangeRequest.fromPartial({ key: b("foo") }), cb),
      );
      assert.deepStrictEqual(paths, ["/etcdserverpb.KV/Range"]);
      assert.equal(res.header?.revision, MAX_INT64);
      assert.equal(res.kvs[0]?.value.toString(), "value of foo");

      // Methods the server did not implement answer UNIMPLEMENTED, as grpc-go does.
      await assert.rejects(
        unary((cb) => kvClient.put(PutRequest.fromPartial({ key: b("x") }), cb)),
        {
          code: status.UNIMPLEMENTED,
        },
      );

      const stream = watchClient.watch();
      const got: WatchResponse[] = [];
      const done = new Promise<void>((resolve, reject) => {
        stream.on("data", (r: WatchResponse) => {
          got.push(r);
          if (got.length === 2) stream.end();
        });
        stream.on("end", resolve);
        stream.on("error", reject);
      });
      stream.write(
        WatchRequest.fromPartial({
          requestUnion: { $case: "createRequest", value: { key: b("w"), watchId: 42n } },
        }),
      );
      await done;
      assert.equal(got[0]?.created, true);
      assert.equal(got[0]?.watchId, 42n);
      assert.equal(got[1]?.events[0]?.kv?.key.toString(), "w");

      const health = await unary<HealthCheckResponse>((cb) => healthClient.check({ service: "" }, cb));
      assert.equal(health.status, HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      kvClient.close();
      watchClient.close();
      healthClient.close();
      server.forceShutdown();
    }
  });

  it("service definitions carry etcd's fully qualified method paths", () => {
    assert.equal(KVService.txn.path, "/etcdserverpb.KV/Txn");
    assert.equal(KVService.compact.path, "/etcdserverpb.KV/Compact");
    assert.equal(WatchService.watch.path, "/etcdserverpb.Watch/Watch");
    assert.equal(WatchService.watch.requestStream && WatchService.watch.responseStream, true);
    assert.equal(LockService.lock.path, "/v3lockpb.Lock/Lock");
    assert.equal(HealthService.check.path, "/grpc.health.v1.Health/Check");
  });

  it("answers the etcd3 npm client", {
    skip: !existsSync(join(here, "..", "..", "node_modules", "etcd3")),
  }, async () => {
    const { server, address } = await startServer((s) => {
      s.addService(KVService, {
        range(
          call: ServerUnaryCall<RangeRequest, RangeResponse>,
          callback: (e: null, r: RangeResponse) => void,
        ) {
          callback(
            null,
            RangeResponse.fromPartial({
              header: { revision: 7n },
              kvs: [
                {
                  key: call.request.key,
                  createRevision: 2n,
                  modRevision: 7n,
                  version: 3n,
                  value: b("from etcd-ts"),
                },
              ],
              count: 1n,
            }),
          );
        },
      });
    });
    const { Etcd3 } = await import("etcd3");
    const etcd = new Etcd3({ hosts: address });
    try {
      assert.equal(await etcd.get("foo").string(), "from etcd-ts");
    } finally {
      etcd.close();
      server.forceShutdown();
    }
  });
});
