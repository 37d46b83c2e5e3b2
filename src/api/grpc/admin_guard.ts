// Owns the root check etcd's API layer makes before admin-only RPCs when auth is enabled: Maintenance Defragment,
// Hash, HashKV and Snapshot (3.4's authMaintenanceServer) and every membership change (checkMembershipOperation-
// Permission). Other methods pass through untouched.
import type {
  handleServerStreamingCall,
  handleUnaryCall,
  Metadata,
  ServiceDefinition,
  ServiceError,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { AuthOps } from "../../server/auth_ops.js";
import { credentialsOf } from "./credentials.js";
import { toServiceError, toUnmappedServiceError } from "./errors.js";

export const ADMIN_MAINTENANCE_METHODS = ["defragment", "hash", "hashKv", "snapshot"] as const;
export const ADMIN_CLUSTER_METHODS = ["memberAdd", "memberRemove", "memberUpdate", "memberPromote"] as const;

/**
 * `impl` with `methods` behind AuthOps.checkAdmin (the caller's token must belong to a user with role root).
 * `unmapped`: the refusal goes out as etcd 3.4's Maintenance sends it (Unknown, "auth: …"), not mapped.
 */
export function requireAdmin<T extends object>(
  auth: AuthOps,
  def: ServiceDefinition,
  impl: T,
  methods: readonly string[],
  unmapped = false,
): T {
  const toError = unmapped ? toUnmappedServiceError : toServiceError;
  const out: UntypedServiceImplementation = { ...(impl as UntypedServiceImplementation) };
  for (const name of methods) {
    const m = def[name];
    const fn = out[name];
    if (m === undefined || typeof fn !== "function") continue;
    if (!m.requestStream && !m.responseStream) {
      const handler = fn as handleUnaryCall<unknown, unknown>;
      out[name] = ((call, cb) => {
        auth.checkAdmin(credentialsOf(call)).then(
          () => handler(call, cb),
          (err: unknown) => cb(toError(err) as ServiceError),
        );
      }) as handleUnaryCall<unknown, unknown>;
    } else if (!m.requestStream) {
      const handler = fn as handleServerStreamingCall<unknown, unknown>;
      out[name] = ((call) => {
        auth.checkAdmin(credentialsOf(call as { metadata: Metadata })).then(
          () => handler(call),
          (err: unknown) => call.emit("error", toError(err)),
        );
      }) as handleServerStreamingCall<unknown, unknown>;
    }
  }
  return out as T;
}
