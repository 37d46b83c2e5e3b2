// Owns the etcd 3.4.23 server flags (names, kinds, defaults, help), including its hidden and ignored ones.
import type { FlagKind, FlagSpec, Section } from "./flags.js";

type Extra = Partial<Pick<FlagSpec, "shown" | "choices" | "file" | "fileStruct">>;
const f =
  (section: Section) =>
  (name: string, kind: FlagKind, def: string, help: string, extra: Extra = {}): FlagSpec => ({
    name,
    kind,
    def,
    section,
    since: "3.4",
    help,
    ...extra,
  });

const member = f("Member");
const cluster = f("Clustering");
const sec = f("Security");
const auth = f("Auth");
const prof = f("Profiling and Monitoring");
const log = f("Logging");
const proxy = f("v2 Proxy (to be deprecated in v4)");
const exp = f("Experimental feature");
const unsafe = f("Unsafe feature");
const old = f("TO BE DEPRECATED");
const hidden = f("Hidden");
const bare = (def: string): Extra => ({ shown: def });
const PROXY: Extra = { fileStruct: "configProxy" };

/** etcd 3.4's IgnoredFlag names: accepted anywhere, warned about, never used. */
export const IGNORED_FLAGS = [
  "cluster-active-size",
  "cluster-remove-delay",
  "cluster-sync-interval",
  "config",
  "force",
  "max-result-buffer",
  "max-retry-attempts",
  "peer-heartbeat-interval",
  "peer-election-timeout",
  "retry-interval",
  "snapshot",
  "v",
  "vv",
  "test.coverprofile",
  "test.outputdir",
] as const;

export const FLAGS_34: readonly FlagSpec[] = [
  hidden(
    "config-file",
    "string",
    "",
    "Path to the server configuration file. Note that if a configuration file is provided, other command line flags and environment variables will be ignored.",
    { file: false },
  ),
  hidden("version", "bool", "false", "Print the version and exit.", { file: false }),

  member("name", "string", "default", "Human-readable name for this member."),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: etcd's help shows this placeholder literally.
  member("data-dir", "string", "", "Path to the data directory.", { shown: "'${name}.etcd'" }),
  member("wal-dir", "string", "", "Path to the dedicated wal directory."),
  member(
    "snapshot-count",
    "uint64",
    "100000",
    "Number of committed transactions to trigger a snapshot to disk.",
  ),
  member("heartbeat-interval", "uint", "100", "Time (in milliseconds) of a heartbeat interval."),
  member(
    "election-timeout",
    "uint",
    "1000",
    "Time (in milliseconds) for an election to timeout. See tuning documentation for details.",
  ),
  member(
    "initial-election-tick-advance",
    "bool",
    "true",
    "Whether to fast-forward initial election ticks on boot for faster election.",
  ),
  member("listen-peer-urls", "urls", "http://localhost:2380", "List of URLs to listen on for peer traffic."),
  member(
    "listen-client-urls",
    "urls",
    "http://localhost:2379",
    "List of URLs to listen on for client traffic.",
  ),
  member("max-snapshots", "uint", "5", "Maximum number of snapshot files to retain (0 is unlimited)."),
  member("max-wals", "uint", "5", "Maximum number of wal files to retain (0 is unlimited)."),
  member(
    "quota-backend-bytes",
    "int64",
    "0",
    "Raise alarms when backend size exceeds the given quota (0 defaults to low space quota).",
  ),
  member(
    "backend-batch-interval",
    "duration",
    "0s",
    "BackendBatchInterval is the maximum time before commit the backend transaction.",
    { shown: "''" },
  ),
  member(
    "backend-batch-limit",
    "int",
    "0",
    "BackendBatchLimit is the maximum operations before commit the backend transaction.",
  ),
  member("max-txn-ops", "uint", "128", "Maximum number of operations permitted in a transaction."),
  member(
    "max-request-bytes",
    "uint",
    "1572864",
    "Maximum client request size in bytes the server will accept.",
  ),
  member(
    "max-concurrent-streams",
    "uint32",
    "4294967295",
    "Maximum concurrent streams that each client can open at a time.",
    { shown: "'math.MaxUint32'" },
  ),
  member(
    "grpc-keepalive-min-time",
    "duration",
    "5s",
    "Minimum duration interval that a client should wait before pinging server.",
  ),
  member(
    "grpc-keepalive-interval",
    "duration",
    "2h",
    "Frequency duration of server-to-client ping to check if a connection is alive (0 to disable).",
  ),
  member("enable-grpc-gateway", "bool", "true", "Enable GRPC gateway."),
  member(
    "grpc-keepalive-timeout",
    "duration",
    "20s",
    "Additional duration of wait before closing a non-responsive connection (0 to disable).",
  ),

  cluster(
    "initial-advertise-peer-urls",
    "urls",
    "http://localhost:2380",
    "List of this member's peer URLs to advertise to the rest of the cluster.",
  ),
  cluster(
    "initial-cluster",
    "string",
    "default=http://localhost:2380",
    "Initial cluster configuration for bootstrapping.",
  ),
  cluster("initial-cluster-state", "select", "new", "Initial cluster state ('new' or 'existing').", {
    choices: ["new", "existing"],
  }),
  cluster(
    "initial-cluster-token",
    "string",
    "etcd-cluster",
    "Initial cluster token for the etcd cluster during bootstrap.\n    Specifying this can protect you from unintended cross-cluster interaction when running multiple clusters.",
  ),
  cluster(
    "advertise-client-urls",
    "urls",
    "http://localhost:2379",
    "List of this member's client URLs to advertise to the public.\n    The client URLs advertised should be accessible to machines that talk to etcd cluster. etcd client libraries parse these URLs to connect to the cluster.",
  ),
  cluster("discovery", "string", "", "Discovery URL used to bootstrap the cluster."),
  cluster(
    "discovery-fallback",
    "select",
    "proxy",
    "Expected behavior ('exit' or 'proxy') when discovery services fails.\n    \"proxy\" supports v2 API only.",
    { choices: ["proxy", "exit"], ...PROXY },
  ),
  cluster("discovery-proxy", "string", "", "HTTP proxy to use for traffic to discovery service."),
  cluster("discovery-srv", "string", "", "DNS srv domain used to bootstrap the cluster."),
  cluster("discovery-srv-name", "string", "", "Suffix to the dns srv name queried when bootstrapping."),
  cluster(
    "strict-reconfig-check",
    "bool",
    "true",
    "Reject reconfiguration requests that would cause quorum loss.",
  ),
  // etcd-ts takes 3.5's default: PreVote on (etcd 3.4 defaulted to false).
  cluster(
    "pre-vote",
    "bool",
    "true",
    "Enable to run an additional Raft election phase. (etcd-ts and etcd 3.5+ default: true; etcd 3.4: false)",
  ),
  cluster(
    "auto-compaction-retention",
    "string",
    "0",
    "Auto compaction retention length. 0 means disable auto compaction.",
  ),
  cluster(
    "auto-compaction-mode",
    "string",
    "periodic",
    "Interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration based retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' for revision number based retention.",
  ),
  cluster("enable-v2", "bool", "false", "Accept etcd V2 client requests."),

  sec("cert-file", "string", "", "Path to the client server TLS cert file.", { file: false }),
  sec("key-file", "string", "", "Path to the client server TLS key file.", { file: false }),
  sec("client-cert-auth", "bool", "false", "Enable client cert authentication.", { file: false }),
  sec("client-crl-file", "string", "", "Path to the client certificate revocation list file.", {
    file: false,
  }),
  sec("client-cert-allowed-hostname", "string", "", "Allowed TLS hostname for client cert authentication.", {
    file: false,
  }),
  sec("trusted-ca-file", "string", "", "Path to the client server TLS trusted CA cert file.", {
    file: false,
  }),
  sec("auto-tls", "bool", "false", "Client TLS using generated certificates.", { file: false }),
  sec("peer-cert-file", "string", "", "Path to the peer server TLS cert file.", { file: false }),
  sec("peer-key-file", "string", "", "Path to the peer server TLS key file.", { file: false }),
  sec("peer-client-cert-auth", "bool", "false", "Enable peer client cert authentication.", { file: false }),
  sec("peer-trusted-ca-file", "string", "", "Path to the peer server TLS trusted CA file.", { file: false }),
  sec("peer-cert-allowed-cn", "string", "", "Required CN for client certs connecting to the peer endpoint.", {
    file: false,
  }),
  sec("peer-cert-allowed-hostname", "string", "", "Allowed TLS hostname for inter peer authentication.", {
    file: false,
  }),
  sec(
    "peer-auto-tls",
    "bool",
    "false",
    "Peer TLS using self-generated certificates if --peer-key-file and --peer-cert-file are not provided.",
    { file: false },
  ),
  sec("peer-crl-file", "string", "", "Path to the peer certificate revocation list file.", { file: false }),
  sec(
    "cipher-suites",
    "strings",
    "",
    "Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated by Go).",
    { file: "[]string" },
  ),
  sec(
    "cors",
    "cors",
    "*",
    "Comma-separated whitelist of origins for CORS, or cross-origin resource sharing, (empty or * means allow all).",
  ),
  sec(
    "host-whitelist",
    "uniqueStrings",
    "*",
    "Acceptable hostnames from HTTP client requests, if server is not secure (empty or * means allow all).",
  ),

  auth(
    "auth-token",
    "string",
    "simple",
    "Specify a v3 authentication token type and its options ('simple' or 'jwt').",
  ),
  auth(
    "bcrypt-cost",
    "uint",
    "10",
    "Specify the cost / strength of the bcrypt algorithm for hashing auth passwords. Valid values are between 4 and 31.",
    bare("10"),
  ),
  auth("auth-token-ttl", "uint", "300", "Time (in seconds) of the auth-token-ttl.", bare("300")),

  prof(
    "enable-pprof",
    "bool",
    "false",
    'Enable runtime profiling data via HTTP server. Address is at client URL + "/debug/pprof/"',
  ),
  prof(
    "metrics",
    "string",
    "basic",
    "Set level of detail for exported metrics, specify 'extensive' to include histogram metrics.",
  ),
  prof("listen-metrics-urls", "urls", "", "List of URLs to listen on for the metrics and health endpoints."),

  // etcd-ts always logs JSON like zap; 'capnslog' is accepted with a warning.
  log(
    "logger",
    "string",
    "zap",
    "Specify 'zap' for structured logging or 'capnslog'. (etcd-ts always logs JSON like zap; etcd 3.4's default was 'capnslog')",
  ),
  log(
    "log-outputs",
    "uniqueStrings",
    "default",
    "Specify 'stdout' or 'stderr' to skip journald logging even when running under systemd, or list of comma separated output targets.",
    { file: "[]string" },
  ),
  log(
    "log-level",
    "string",
    "info",
    "Configures log level. Only supports debug, info, warn, error, panic, or fatal.",
  ),

  proxy("proxy", "select", "off", "Proxy mode setting ('off', 'readonly' or 'on').", {
    choices: ["off", "readonly", "on"],
    ...PROXY,
  }),
  proxy(
    "proxy-failure-wait",
    "uint",
    "5000",
    "Time (in milliseconds) an endpoint will be held in a failed state.",
    { ...bare("5000"), ...PROXY },
  ),
  proxy(
    "proxy-refresh-interval",
    "uint",
    "30000",
    "Time (in milliseconds) of the endpoints refresh interval.",
    { ...bare("30000"), ...PROXY },
  ),
  proxy("proxy-dial-timeout", "uint", "1000", "Time (in milliseconds) for a dial to timeout.", {
    ...bare("1000"),
    ...PROXY,
  }),
  proxy("proxy-write-timeout", "uint", "5000", "Time (in milliseconds) for a write to timeout.", {
    ...bare("5000"),
    ...PROXY,
  }),
  proxy("proxy-read-timeout", "uint", "0", "Time (in milliseconds) for a read to timeout.", {
    ...bare("0"),
    ...PROXY,
  }),

  exp(
    "experimental-initial-corrupt-check",
    "bool",
    "false",
    "Enable to check data corruption before serving any client/peer traffic.",
  ),
  exp(
    "experimental-corrupt-check-time",
    "duration",
    "0s",
    "Duration of time between cluster corruption check passes.",
  ),
  exp(
    "experimental-enable-v2v3",
    "string",
    "",
    "Serve v2 requests through the v3 backend under a given prefix.",
  ),
  exp(
    "experimental-backend-bbolt-freelist-type",
    "string",
    "array",
    "ExperimentalBackendFreelistType specifies the type of freelist that boltdb backend uses(array and map are supported types).",
  ),
  exp(
    "experimental-enable-lease-checkpoint",
    "bool",
    "false",
    "ExperimentalEnableLeaseCheckpoint enables primary lessor to persist lease remainingTTL to prevent indefinite auto-renewal of long lived leases.",
  ),
  exp(
    "experimental-enable-lease-checkpoint-persist",
    "bool",
    "false",
    "Enable persisting remainingTTL to prevent indefinite auto-renewal of long lived leases. Requires experimental-enable-lease-checkpoint to be enabled.",
  ),
  exp(
    "experimental-compaction-batch-limit",
    "int",
    "1000",
    "ExperimentalCompactionBatchLimit sets the maximum revisions deleted in each compaction batch.",
    bare("1000"),
  ),
  exp(
    "experimental-peer-skip-client-san-verification",
    "bool",
    "false",
    "Skip verification of SAN field in client certificate for peer connections.",
    { file: false },
  ),
  exp(
    "experimental-watch-progress-notify-interval",
    "duration",
    "10m",
    "Duration of periodical watch progress notification.",
  ),
  exp(
    "experimental-warning-apply-duration",
    "duration",
    "100ms",
    "Warning is generated if requests take more than this duration.",
  ),

  unsafe("force-new-cluster", "bool", "false", "Force to create a new one-member cluster."),
  unsafe("unsafe-no-fsync", "bool", "false", "Disables fsync, unsafe, will cause data loss."),

  old(
    "debug",
    "bool",
    "false",
    "Enable debug-level logging for etcd. [WARN] Will be deprecated in v3.5. Use '--log-level=debug' instead.",
  ),
  old(
    "log-package-levels",
    "string",
    "",
    "Specify a particular log level for each etcd package (eg: 'etcdmain=CRITICAL,etcdserver=DEBUG').",
  ),
  old("log-output", "uniqueStrings", "default", "[TO BE DEPRECATED IN v3.5] use '--log-outputs'.", {
    file: "[]string",
  }),

  ...IGNORED_FLAGS.map((name) => hidden(name, "ignored", "", "No longer supported; ignored.")),
];
