// Owns the flag table's shape, the combined table of every etcd server flag, and which flags etcd-ts supports.
import { FLAGS_34 } from "./flags_34.js";
import { FLAGS_35 } from "./flags_35.js";

/** How a flag's value is parsed, mirroring the Go flag.Value etcd registers for it. */
export type FlagKind =
  | "string"
  | "bool"
  | "uint" // Go uint (64-bit): flag errors "parse error" / "value out of range"
  | "uint64"
  | "int"
  | "int64"
  | "uint32" // etcd's Uint32Value: errors are raw strconv messages
  | "duration" // Go time.Duration: "1h2m", "500ms"; nanoseconds in the config file
  | "urls" // etcd's UniqueURLs: comma-separated, sorted; "" keeps the previous value
  | "cors" // UniqueURLs that also allows "*"
  | "strings" // comma-separated, order kept
  | "uniqueStrings" // comma-separated, deduplicated and sorted
  | "select" // one of `choices`
  | "ignored"; // a long-removed flag: accepted with a warning, like etcd's IgnoredFlag

export type Section =
  | "Member"
  | "Clustering"
  | "Security"
  | "Auth"
  | "Profiling and Monitoring"
  | "Logging"
  | "v2 Proxy (to be deprecated in v4)"
  | "Experimental feature"
  | "Unsafe feature"
  | "TO BE DEPRECATED"
  | "Hidden";

/** The Go type a config-file key decodes into (named in etcd's unmarshal errors). */
export type FileType =
  | "string"
  | "bool"
  | "uint"
  | "uint64"
  | "int"
  | "int64"
  | "uint32"
  | "time.Duration"
  | "[]string";

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  /** The default, written as it would be on the command line (durations as "10m", URLs comma-separated). */
  readonly def: string;
  readonly section: Section;
  /** First etcd release with this flag name. */
  readonly since: "3.4" | "3.5" | "3.6";
  readonly help: string;
  /** The default as `--help` shows it, when not `'<def>'`. */
  readonly shown?: string;
  readonly choices?: readonly string[];
  /** How the config file carries it; false = not a top-level file key (TLS keys are nested, see file.ts). */
  readonly file?: FileType | false;
  /** Go struct named in file errors for keys etcd 3.4 decodes separately (the v2 proxy ones). */
  readonly fileStruct?: "configProxy";
}

export const FLAGS: readonly FlagSpec[] = [...FLAGS_34, ...FLAGS_35];

const BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAGS.map((f) => [f.name, f]));

export const lookupFlag = (name: string): FlagSpec | undefined => BY_NAME.get(name);

/** The Go type of a top-level config-file key, or undefined when the file does not carry it. */
export function fileTypeOf(f: FlagSpec): FileType | undefined {
  if (f.file === false || f.kind === "ignored") return undefined;
  if (f.file !== undefined) return f.file;
  switch (f.kind) {
    case "duration":
      return "time.Duration";
    case "bool":
    case "uint":
    case "uint64":
    case "int":
    case "int64":
    case "uint32":
      return f.kind;
    default:
      return "string";
  }
}

/**
 * Flags etcd-ts implements. Every other flag is accepted and, when set to a non-default value, reported as
 * "flag not supported yet by etcd-ts; ignored". Later issues flip flags on by adding them here.
 * A 3.6 name and its 3.4/3.5 `experimental-` name are one feature and are listed together.
 */
// Not listed yet, so setting them warns: the gateway, WAL/snapshot retention
// (every WAL segment before a snapshot is released) and the election-tick advance.
export const SUPPORTED_FLAGS: ReadonlySet<string> = new Set([
  "name",
  "data-dir",
  "wal-dir",
  "listen-client-urls",
  "advertise-client-urls",
  "listen-peer-urls",
  "initial-advertise-peer-urls",
  "initial-cluster",
  "initial-cluster-state",
  "initial-cluster-token",
  "snapshot-count",
  "heartbeat-interval",
  "election-timeout",
  "initial-election-tick-advance",
  "max-request-bytes",
  "max-txn-ops",
  "quota-backend-bytes",
  "log-level",
  "logger",
  "log-outputs",
  "config-file",
  "version",
  "pre-vote",
  "auto-compaction-mode",
  "auto-compaction-retention",
  "unsafe-no-fsync",
  "experimental-compaction-batch-limit",
  "compaction-batch-limit",
  "experimental-watch-progress-notify-interval",
  "experimental-enable-lease-checkpoint",
  "experimental-enable-lease-checkpoint-persist",
  "watch-progress-notify-interval",
  "strict-reconfig-check",
  "experimental-snapshot-catchup-entries",
  "snapshot-catchup-entries",
  // TLS (src/embed/tls_setup.ts). Not yet: --peer-crl-file, allowed CN/hostname, separate client certificates.
  "cert-file",
  "key-file",
  "client-cert-auth",
  "trusted-ca-file",
  "client-crl-file",
  "auto-tls",
  "peer-cert-file",
  "peer-key-file",
  "peer-client-cert-auth",
  "peer-trusted-ca-file",
  "peer-auto-tls",
  "cipher-suites",
  "tls-min-version",
  "tls-max-version",
  // Auth (src/auth).
  "auth-token",
  "auth-token-ttl",
  "bcrypt-cost",
]);
