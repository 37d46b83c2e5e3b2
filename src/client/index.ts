// Owns the public surface of `etcd-ts/client`: the Client, its services, options, typed errors, and the wire
// types its responses use (ts-proto messages: 64-bit numbers are bigint, bytes are Buffer).

export type {
  AlarmMember,
  AlarmResponse,
  AuthenticateResponse,
  AuthRoleGetResponse,
  AuthRoleListResponse,
  AuthStatusResponse,
  AuthUserGetResponse,
  AuthUserListResponse,
  CompactionResponse,
  DefragmentResponse,
  DeleteRangeResponse,
  DowngradeResponse,
  Event,
  HashKVResponse,
  HashResponse,
  KeyValue,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  Member,
  MemberAddResponse,
  MemberListResponse,
  MemberPromoteResponse,
  MemberRemoveResponse,
  MemberUpdateResponse,
  MoveLeaderResponse,
  Permission,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  StatusResponse,
  TxnResponse,
} from "../proto/index.js";
export {
  AlarmRequest_AlarmAction as AlarmAction,
  AlarmType,
  DowngradeRequest_DowngradeAction as DowngradeAction,
  Event_EventType as EventType,
  Permission_Type as PermissionKind,
} from "../proto/index.js";
export type { PermissionType, UserAddOptions } from "./auth.js";
export { Auth } from "./auth.js";
export type { CallOptions, MemberCallOptions } from "./call.js";
export type { ClientOptions, TlsOptions } from "./client.js";
export { Client } from "./client.js";
export type { MemberAddOptions, MemberId, MemberListOptions } from "./cluster.js";
export { Cluster } from "./cluster.js";
export * from "./concurrency/index.js";
export type { ConfigChange, ConfigHandler } from "./config.js";
export { ConfigCache } from "./config.js";
export * from "./errors.js";
export { LeaseKeepAlive } from "./keepalive.js";
export type { Bytes, RangeOptions } from "./keys.js";
export { prefixEnd } from "./keys.js";
export type { CompactOptions, DeleteOptions, GetOptions, OpResponse, PutOptions } from "./kv.js";
export { KV } from "./kv.js";
export type { GrantOptions, KeepAliveOptions, TimeToLiveOptions } from "./lease.js";
export { Lease } from "./lease.js";
export { Maintenance } from "./maintenance.js";
export type { MirrorChange } from "./mirror.js";
export { PrefixMirror } from "./mirror.js";
export { Namespace, NamespaceKV, NamespaceLease, NamespaceWatch, withNamespace } from "./namespace.js";
export * from "./naming/index.js";
export type {
  DeleteRequestOptions,
  GetRequestOptions,
  LeaseId,
  PutRequestOptions,
  Revision,
  SortOrder,
  SortTarget,
} from "./ops.js";
export { Op } from "./ops.js";
export type { OrderViolation, OrderViolationHandler } from "./ordering.js";
export { OrderingKV, switchEndpointOnViolation, withOrdering } from "./ordering.js";
export * from "./recipes/index.js";
export type { KVApi, KVClient, LeaseApi, WatchApi } from "./services.js";
export type { CompareOp } from "./txn.js";
export { Cmp, Txn } from "./txn.js";
export { Watch } from "./watch.js";
export type { WatchOptions, WatchResponse } from "./watcher.js";
export { Watcher } from "./watcher.js";
