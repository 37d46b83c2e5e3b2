// Owns the typed Config a member runs with, and building it from validated flag values.
import { parseInitialCluster } from "./cluster.js";
import { fatalError } from "./errors.js";
import { GoDurationError, parseGoDuration } from "./goparse.js";
import { type EtcdURL, GoURLError } from "./gourl.js";
import type { LOG_LEVELS, Validated } from "./validate.js";
import type { FlagValue, FlagValues } from "./values.js";

export type LogLevel = (typeof LOG_LEVELS)[number];

/** Backend quota when --quota-backend-bytes is 0 (etcd's DefaultQuotaBytes, 2 GiB). */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;
/** Above this etcd warns that the quota is too large (MaxQuotaBytes, 8 GiB). */
export const MAX_QUOTA_BACKEND_BYTES = 8 * 1024 * 1024 * 1024;
/** Above this etcd warns about --max-request-bytes (10 MiB). */
export const RECOMMENDED_MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/** A member's configuration, as etcd would run with it. URLs are EtcdURL (a URL with etcd's string form). */
export interface Config {
  readonly name: string;
  /** `--data-dir`, defaulting to `${name}.etcd`. */
  readonly dataDir: string;
  /** Dedicated WAL directory; "" = `<dataDir>/member/wal`. */
  readonly walDir: string;
  readonly listenClientUrls: readonly EtcdURL[];
  readonly advertiseClientUrls: readonly EtcdURL[];
  readonly listenPeerUrls: readonly EtcdURL[];
  readonly initialAdvertisePeerUrls: readonly EtcdURL[];
  readonly listenMetricsUrls: readonly EtcdURL[];
  /** Member name → peer URLs; empty when bootstrapping by discovery. */
  readonly initialCluster: ReadonlyMap<string, readonly EtcdURL[]>;
  readonly initialClusterState: "new" | "existing";
  readonly initialClusterToken: string;
  readonly snapshotCount: number;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly initialElectionTickAdvance: boolean;
  /** Snapshot and WAL files to keep; 0 = unlimited. */
  readonly maxSnapshots: number;
  readonly maxWals: number;
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  /** As given: 0 = DEFAULT_QUOTA_BACKEND_BYTES, negative = no quota (see effectiveQuotaBackendBytes). */
  readonly quotaBackendBytes: number;
  readonly logLevel: LogLevel;
  /** Accepted for compatibility; etcd-ts always logs JSON in zap's shape. */
  readonly logger: "zap" | "capnslog";
  /** "default" (= stderr), "stderr", "stdout", "systemd/journal" or file paths. */
  readonly logOutputs: readonly string[];
  readonly preVote: boolean;
  readonly strictReconfigCheck: boolean;
  readonly autoCompactionMode: "periodic" | "revision";
  /** 0 = off. Periodic mode: milliseconds (a bare number means hours). Revision mode: revisions to keep. */
  readonly autoCompactionRetention: number;
  readonly enableGrpcGateway: boolean;
  readonly unsafeNoFsync: boolean;
  /** Revisions deleted per compaction batch (--experimental-compaction-batch-limit / --compaction-batch-limit). */
  readonly compactionBatchLimit: number;
  readonly watchProgressNotifyIntervalMs: number;
  /** The config file used, if any (then flags and env were ignored). */
  readonly configFile: string | undefined;
  /** Every flag's effective value by flag name: integers as bigint, durations as bigint nanoseconds. */
  readonly raw: ReadonlyMap<string, FlagValue>;
  /** Flags given explicitly (command line, environment or config file). */
  readonly setFlags: ReadonlySet<string>;
}

const num = (v: bigint): number => Number(v);
const nsToMs = (ns: bigint): number => Number(ns) / 1e6;

/** etcd's parseCompactionRetention: a non-negative integer is hours (periodic) or revisions; else a duration. */
function compactionRetention(mode: "periodic" | "revision", s: string): number {
  const text = s === "" ? "0" : s;
  // Go's strconv.Atoi: optional sign, decimal digits, within int64.
  if (/^[+-]?[0-9]+$/.test(text)) {
    const n = BigInt(text);
    if (n >= 0n && n < 1n << 63n) return mode === "revision" ? Number(n) : Number(n) * 3_600_000;
  }
  try {
    const ns = parseGoDuration(text);
    // Revision mode takes the duration's nanoseconds as a revision count, exactly like etcd.
    return mode === "revision" ? Number(ns) : nsToMs(ns);
  } catch (e) {
    if (e instanceof GoDurationError) throw fatalError(`error parsing CompactionRetention: ${e.message}`);
    throw e;
  }
}

/** Builds the Config; throws etcd's start-up errors for --initial-cluster and --auto-compaction-retention. */
export function buildConfig(values: FlagValues, v: Validated, configFile: string | undefined): Config {
  let initialCluster: Map<string, EtcdURL[]>;
  try {
    initialCluster = parseInitialCluster(v.initialCluster);
  } catch (e) {
    if (e instanceof GoURLError) throw fatalError(`error setting up initial cluster: ${e.message}`);
    throw e;
  }
  // etcd 3.4 leaves an empty mode (possible in a config file) as is; etcd-ts uses 3.5's default, periodic.
  const mode = (values.str("auto-compaction-mode") || "periodic") as "periodic" | "revision";
  const pick = (experimental: string, plain: string) => (values.isSet(experimental) ? experimental : plain);
  const raw = new Map(values.snapshot());
  raw.set("data-dir", v.dataDir);
  raw.set("initial-cluster", v.initialCluster);
  raw.set("advertise-client-urls", v.advertiseClientUrls);
  raw.set("initial-advertise-peer-urls", v.initialAdvertisePeerUrls);
  return Object.freeze({
    name: values.str("name"),
    dataDir: v.dataDir,
    walDir: values.str("wal-dir"),
    listenClientUrls: values.urls("listen-client-urls"),
    advertiseClientUrls: v.advertiseClientUrls,
    listenPeerUrls: values.urls("listen-peer-urls"),
    initialAdvertisePeerUrls: v.initialAdvertisePeerUrls,
    listenMetricsUrls: values.urls("listen-metrics-urls"),
    initialCluster,
    initialClusterState: values.str("initial-cluster-state") as "new" | "existing",
    initialClusterToken: values.str("initial-cluster-token"),
    snapshotCount: num(values.big("snapshot-count")),
    heartbeatIntervalMs: num(values.big("heartbeat-interval")),
    electionTimeoutMs: num(values.big("election-timeout")),
    initialElectionTickAdvance: values.bool("initial-election-tick-advance"),
    maxSnapshots: num(values.big("max-snapshots")),
    maxWals: num(values.big("max-wals")),
    maxRequestBytes: num(values.big("max-request-bytes")),
    maxTxnOps: num(values.big("max-txn-ops")),
    quotaBackendBytes: num(values.big("quota-backend-bytes")),
    logLevel: values.str("log-level") as LogLevel,
    logger: values.str("logger") as "zap" | "capnslog",
    logOutputs: values.list("log-outputs"),
    preVote: values.bool("pre-vote"),
    strictReconfigCheck: values.bool("strict-reconfig-check"),
    autoCompactionMode: mode,
    autoCompactionRetention: compactionRetention(mode, values.str("auto-compaction-retention")),
    enableGrpcGateway: values.bool("enable-grpc-gateway"),
    unsafeNoFsync: values.bool("unsafe-no-fsync"),
    compactionBatchLimit: num(
      values.big(pick("experimental-compaction-batch-limit", "compaction-batch-limit")),
    ),
    watchProgressNotifyIntervalMs: nsToMs(
      values.big(pick("experimental-watch-progress-notify-interval", "watch-progress-notify-interval")),
    ),
    configFile,
    raw,
    setFlags: new Set([...raw.keys()].filter((k) => values.isSet(k))),
  });
}

/** The quota a backend enforces: 0 → the 2 GiB default; negative → no quota (MAX_SAFE_INTEGER, never reached). */
export function effectiveQuotaBackendBytes(c: Pick<Config, "quotaBackendBytes">): number {
  if (c.quotaBackendBytes < 0) return Number.MAX_SAFE_INTEGER;
  return c.quotaBackendBytes === 0 ? DEFAULT_QUOTA_BACKEND_BYTES : c.quotaBackendBytes;
}
