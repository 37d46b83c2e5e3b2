// Owns etcd's v3rpc interceptors for every client RPC: learners serve only Status and serializable Range;
// `hasleader` metadata fails unary calls at once when the member has no leader, and cancels such streams after
// three election timeouts without one (etcd's monitorLeader), with `etcdserver: no leader`.
import type {
  handleUnaryCall,
  ServiceDefinition,
  ServiceError,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { ServerError } from "../../server/errors.js";
import { toServiceError } from "./errors.js";

/** etcd's maxNoLeaderCnt: election timeouts without a leader before `hasleader` streams are cancelled. */
export const MAX_NO_LEADER_COUNT = 3;
export const REQUIRE_LEADER_KEY = "hasleader";

export interface GuardDeps {
  leader(): bigint;
  isLearner(): boolean;
  electionMs: number;
}

/** What a learner may serve (etcd 3.4's isRPCSupportedForLearner). */
function learnerAllowed(path: string, req: unknown): boolean {
  if (path === "/etcdserverpb.Maintenance/Status") return true;
  if (path === "/etcdserverpb.KV/Range") return (req as { serializable?: boolean }).serializable === true;
  return false;
}

interface MetadataCall {
  metadata: { get(key: string): unknown[] };
  emit(event: "error", err: unknown): boolean;
  once(event: "close", fn: () => void): unknown;
}

const requiresLeader = (call: MetadataCall): boolean => call.metadata.get(REQUIRE_LEADER_KEY)[0] === "true";

export class RequestGuard {
  private readonly streams = new Set<MetadataCall>();
  private readonly timer: NodeJS.Timeout;
  private noLeaderCount = 0;

  constructor(private readonly deps: GuardDeps) {
    this.timer = setInterval(() => this.monitor(), deps.electionMs);
    this.timer.unref();
  }

  /** The service implementation with every method behind the interceptors. */
  wrap<T extends object>(def: ServiceDefinition, impl: T): T {
    const out: UntypedServiceImplementation = {};
    for (const [name, fn] of Object.entries(impl as UntypedServiceImplementation)) {
      const m = def[name];
      if (m === undefined || typeof fn !== "function") {
        out[name] = fn;
        continue;
      }
      const handler = fn as (...args: unknown[]) => void;
      if (!m.requestStream && !m.responseStream) {
        const unary: handleUnaryCall<unknown, unknown> = (call, cb) => {
          const err = this.checkUnary(m.path, call as unknown as MetadataCall & { request: unknown });
          if (err) return cb(toServiceError(err) as ServiceError);
          handler(call, cb);
        };
        out[name] = unary;
      } else {
        out[name] = ((call: MetadataCall) => {
          const err = this.checkStream(call);
          if (err) {
            call.emit("error", toServiceError(err));
            return;
          }
          if (requiresLeader(call)) {
            this.streams.add(call);
            call.once("close", () => this.streams.delete(call));
          }
          handler(call);
        }) as unknown as UntypedServiceImplementation[string];
      }
    }
    return out as T;
  }

  stop(): void {
    clearInterval(this.timer);
    this.streams.clear();
  }

  private checkUnary(path: string, call: MetadataCall & { request: unknown }): ServerError | undefined {
    if (this.deps.isLearner() && !learnerAllowed(path, call.request))
      return new ServerError("NotSupportedForLearner");
    if (requiresLeader(call) && this.deps.leader() === 0n) return new ServerError("NoLeader");
    return undefined;
  }

  private checkStream(call: MetadataCall): ServerError | undefined {
    if (this.deps.isLearner()) return new ServerError("NotSupportedForLearner");
    if (requiresLeader(call) && this.deps.leader() === 0n) return new ServerError("NoLeader");
    return undefined;
  }

  /** etcd's monitorLeader: rejecting new requests is cheap, reconnecting streams is not, so wait a while. */
  private monitor(): void {
    if (this.deps.leader() !== 0n) {
      this.noLeaderCount = 0;
      return;
    }
    this.noLeaderCount++;
    if (this.noLeaderCount < MAX_NO_LEADER_COUNT) return;
    const streams = [...this.streams];
    this.streams.clear();
    for (const s of streams) s.emit("error", toServiceError(new ServerError("NoLeader")));
  }
}
