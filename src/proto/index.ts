// proto/ owns the etcd v3 wire definitions; this is its one entry point for server, gateway and client code.
// Messages are ts-proto codecs (encode/decode, fromJSON/toJSON with etcd's gateway field names, fromPartial);
// `<Name>Service` are grpc-js service definitions (paths `/etcdserverpb.KV/Range`, …), `<Name>Server` the
// handler interfaces, `<Name>Client` the client constructors. Generated code lives in ./gen (scripts/gen-proto.sh).
import type { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";

export * from "./gen/etcd/api/authpb/auth.js";
export * from "./gen/etcd/api/etcdserverpb/rpc.js";
// membershippb.Member differs from etcdserverpb.Member, so the package stays a namespace.
export * as membershippb from "./gen/etcd/api/membershippb/membership.js";
export * from "./gen/etcd/api/mvccpb/kv.js";
export * from "./gen/etcd/api/v3election/v3electionpb/v3election.js";
export * from "./gen/etcd/api/v3lock/v3lockpb/v3lock.js";
export * from "./gen/etcd/server/etcdserverpb/raft_internal.js";
export * from "./gen/grpc/health/v1/health.js";

/** The codec every generated message exposes; lets the gateway and tests handle messages generically. */
export interface MessageFns<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): T;
  /** Accepts etcd's gateway JSON: proto field names, int64 as string or number, bytes as base64. */
  fromJSON(object: unknown): T;
  /** Emits etcd's gateway JSON: proto field names, int64 as strings, bytes as base64, zero values omitted. */
  toJSON(message: T): unknown;
}
