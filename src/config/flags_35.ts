// Owns the server flags added in etcd 3.5 and 3.6 (accepted by etcd-ts so newer command lines keep working).
import type { FlagKind, FlagSpec, Section } from "./flags.js";

type Extra = Partial<Pick<FlagSpec, "shown" | "choices" | "file">>;
const f =
  (section: Section, since: "3.5" | "3.6") =>
  (name: string, kind: FlagKind, def: string, help: string, extra: Extra = {}): FlagSpec => ({
    name,
    kind,
    def,
    section,
    since,
    help: `${help} [${since}+]`,
    ...extra,
  });

const member5 = f("Member", "3.5");
const member6 = f("Member", "3.6");
const cluster5 = f("Clustering", "3.5");
const cluster6 = f("Clustering", "3.6");
const sec5 = f("Security", "3.5");
const sec6 = f("Security", "3.6");
const prof6 = f("Profiling and Monitoring", "3.6");
const log5 = f("Logging", "3.5");
const log6 = f("Logging", "3.6");
const exp5 = f("Experimental feature", "3.5");
const NOT_IN_FILE: Extra = { file: false };

export const FLAGS_35: readonly FlagSpec[] = [
  member5(
    "listen-client-http-urls",
    "urls",
    "",
    "List of URLs to listen on for http only client traffic. Enabling this flag removes http services from --listen-client-urls.",
  ),
  member5(
    "backend-bbolt-freelist-type",
    "string",
    "map",
    "BackendFreelistType specifies the type of freelist that boltdb backend uses (array and map are supported types).",
  ),
  member5(
    "socket-reuse-port",
    "bool",
    "false",
    "Enable to set socket option SO_REUSEPORT on listeners allowing rebinding of a port already in use.",
  ),
  member5(
    "socket-reuse-address",
    "bool",
    "false",
    "Enable to set socket option SO_REUSEADDR on listeners allowing binding to an address in `TIME_WAIT` state.",
  ),
  member5("raft-read-timeout", "duration", "5s", "Read timeout set on each rafthttp connection."),
  member5("raft-write-timeout", "duration", "5s", "Write timeout set on each rafthttp connection."),
  member6(
    "memory-mlock",
    "bool",
    "false",
    "Enable to enforce etcd pages (in particular bbolt) to stay in RAM.",
  ),
  member6(
    "snapshot-catchup-entries",
    "uint64",
    "5000",
    "Number of entries for a slow follower to catch up after compacting the raft storage entries.",
  ),
  member6(
    "bootstrap-defrag-threshold-megabytes",
    "uint",
    "0",
    "Enable the defrag during etcd server bootstrap on condition that it will free at least the provided threshold of disk space. Needs to be set to non-zero value to take effect.",
  ),
  member6(
    "feature-gates",
    "string",
    "",
    "A set of key=value pairs that describe server level feature gates for alpha/experimental features (e.g. 'InitialCorruptCheck=true,StopGRPCServiceOnDefrag=true').",
  ),
  member6(
    "corrupt-check-time",
    "duration",
    "0s",
    "Duration of time between cluster corruption check passes.",
  ),
  member6(
    "compact-hash-check-time",
    "duration",
    "1m",
    "Duration of time between leader checks followers compaction hashes.",
  ),
  member6(
    "compaction-batch-limit",
    "int",
    "1000",
    "Sets the maximum revisions deleted in each compaction batch.",
  ),
  member6(
    "compaction-sleep-interval",
    "duration",
    "10ms",
    "Sets the sleep interval between each compaction batch.",
  ),
  member6(
    "watch-progress-notify-interval",
    "duration",
    "10m",
    "Duration of periodic watch progress notifications.",
  ),
  member6("downgrade-check-time", "duration", "5s", "Duration of time between two downgrade status checks."),

  cluster5(
    "v2-deprecation",
    "select",
    "not-yet",
    "v2store deprecation stage: 'not-yet', 'write-only', 'write-only-drop-data' or 'gone'.",
    { choices: ["not-yet", "write-only", "write-only-drop-data", "gone"] },
  ),
  cluster6(
    "max-learners",
    "int",
    "1",
    "Sets the maximum number of learners that can be available in the cluster membership.",
  ),
  cluster6(
    "discovery-token",
    "string",
    "",
    "V3 discovery: discovery token for the etcd cluster to be bootstrapped.",
  ),
  cluster6(
    "discovery-endpoints",
    "strings",
    "",
    "V3 discovery: List of gRPC endpoints of the discovery service.",
    { file: "[]string" },
  ),
  cluster6("discovery-dial-timeout", "duration", "2s", "V3 discovery: dial timeout for client connections."),
  cluster6(
    "discovery-request-timeout",
    "duration",
    "5s",
    "V3 discovery: timeout for discovery requests (excluding dial timeout).",
  ),
  cluster6(
    "discovery-keepalive-time",
    "duration",
    "2s",
    "V3 discovery: keepalive time for client connections.",
  ),
  cluster6(
    "discovery-keepalive-timeout",
    "duration",
    "6s",
    "V3 discovery: keepalive timeout for client connections.",
  ),
  cluster6(
    "discovery-insecure-transport",
    "bool",
    "true",
    "V3 discovery: disable transport security for client connections.",
  ),
  cluster6(
    "discovery-insecure-skip-tls-verify",
    "bool",
    "false",
    "V3 discovery: skip server certificate verification (CAUTION: this option should be enabled only for testing purposes).",
  ),
  cluster6(
    "discovery-cert",
    "string",
    "",
    "V3 discovery: identify secure client using this TLS certificate file.",
  ),
  cluster6("discovery-key", "string", "", "V3 discovery: identify secure client using this TLS key file."),
  cluster6(
    "discovery-cacert",
    "string",
    "",
    "V3 discovery: verify certificates of TLS-enabled secure servers using this CA bundle.",
  ),
  cluster6(
    "discovery-user",
    "string",
    "",
    "V3 discovery: username[:password] for authentication (prompt if password is not supplied).",
  ),
  cluster6(
    "discovery-password",
    "string",
    "",
    "V3 discovery: password for authentication (if this option is used, --user option shouldn't include password).",
  ),

  sec5(
    "client-cert-file",
    "string",
    "",
    "Path to an explicit peer client TLS cert file otherwise cert file will be used when client auth is required.",
    NOT_IN_FILE,
  ),
  sec5(
    "client-key-file",
    "string",
    "",
    "Path to an explicit peer client TLS key file otherwise key file will be used when client auth is required.",
    NOT_IN_FILE,
  ),
  sec5(
    "peer-client-cert-file",
    "string",
    "",
    "Path to an explicit peer client TLS cert file otherwise peer cert file will be used when client auth is required.",
    NOT_IN_FILE,
  ),
  sec5(
    "peer-client-key-file",
    "string",
    "",
    "Path to an explicit peer client TLS key file otherwise peer key file will be used when client auth is required.",
    NOT_IN_FILE,
  ),
  sec5(
    "self-signed-cert-validity",
    "uint",
    "1",
    "The validity period of the client and peer certificates, unit is year.",
  ),
  sec5(
    "tls-min-version",
    "string",
    "TLS1.2",
    "Minimum TLS version supported by etcd. Possible values: TLS1.2, TLS1.3.",
  ),
  sec5(
    "tls-max-version",
    "string",
    "",
    "Maximum TLS version supported by etcd. Possible values: TLS1.2, TLS1.3 (empty defers to Go).",
  ),
  sec6(
    "peer-skip-client-san-verification",
    "bool",
    "false",
    "Skip verification of SAN field in client certificate for peer connections.",
    NOT_IN_FILE,
  ),

  prof6(
    "enable-distributed-tracing",
    "bool",
    "false",
    "Enable distributed tracing using OpenTelemetry Tracing.",
  ),
  prof6(
    "distributed-tracing-address",
    "string",
    "localhost:4317",
    "Address for distributed tracing used for OpenTelemetry Tracing.",
  ),
  prof6(
    "distributed-tracing-service-name",
    "string",
    "etcd",
    "Configures service name for distributed tracing to be used to define service name for OpenTelemetry Tracing.",
  ),
  prof6(
    "distributed-tracing-instance-id",
    "string",
    "",
    "Configures service instance ID for distributed tracing. This ID must be unique per etcd instance.",
  ),
  prof6(
    "distributed-tracing-sampling-rate",
    "int",
    "0",
    "Number of samples to collect per million spans for OpenTelemetry Tracing.",
  ),

  log5("log-format", "string", "json", "Configures log format. Only supports json, console."),
  log5("enable-log-rotation", "bool", "false", "Enable log rotation of a single log-outputs file target."),
  log5(
    "log-rotation-config-json",
    "string",
    '{"maxsize": 100, "maxage": 0, "maxbackups": 0, "localtime": false, "compress": false}',
    "Configures log rotation if enabled with a JSON logger config.",
  ),
  log6(
    "warning-unary-request-duration",
    "duration",
    "300ms",
    "Time duration after which a warning is generated if a unary request takes more time.",
  ),
  log6(
    "warning-apply-duration",
    "duration",
    "100ms",
    "Time duration after which a warning is generated if watch progress takes more time.",
  ),

  exp5(
    "experimental-enable-distributed-tracing",
    "bool",
    "false",
    "Enable experimental distributed tracing using OpenTelemetry Tracing.",
  ),
  exp5(
    "experimental-distributed-tracing-address",
    "string",
    "localhost:4317",
    "Address for distributed tracing used for OpenTelemetry Tracing.",
  ),
  exp5(
    "experimental-distributed-tracing-service-name",
    "string",
    "etcd",
    "Configures service name for distributed tracing.",
  ),
  exp5(
    "experimental-distributed-tracing-instance-id",
    "string",
    "",
    "Configures service instance ID for distributed tracing.",
  ),
  exp5(
    "experimental-distributed-tracing-sampling-rate",
    "int",
    "0",
    "Number of samples to collect per million spans for OpenTelemetry Tracing.",
  ),
  exp5(
    "experimental-compaction-sleep-interval",
    "duration",
    "10ms",
    "Sets the sleep interval between each compaction batch.",
  ),
  exp5(
    "experimental-downgrade-check-time",
    "duration",
    "5s",
    "Duration of time between two downgrade status checks.",
  ),
  exp5(
    "experimental-warning-unary-request-duration",
    "duration",
    "300ms",
    "Time duration after which a warning is generated if a unary request takes more time.",
  ),
  exp5(
    "experimental-memory-mlock",
    "bool",
    "false",
    "Enable to enforce etcd pages (in particular bbolt) to stay in RAM.",
  ),
  exp5(
    "experimental-txn-mode-write-with-shared-buffer",
    "bool",
    "true",
    "Enable the write transaction to use a shared buffer in its readonly check operations.",
  ),
  exp5(
    "experimental-bootstrap-defrag-threshold-megabytes",
    "uint",
    "0",
    "Enable the defrag during etcd server bootstrap on condition that it will free at least the provided threshold of disk space.",
  ),
  exp5(
    "experimental-max-learners",
    "int",
    "1",
    "Sets the maximum number of learners that can be available in the cluster membership.",
  ),
  exp5(
    "experimental-snapshot-catchup-entries",
    "uint64",
    "5000",
    "Number of entries for a slow follower to catch up after compacting the raft storage entries.",
  ),
  exp5(
    "experimental-compact-hash-check-enabled",
    "bool",
    "false",
    "Enable leader to periodically check followers compaction hashes.",
  ),
  exp5(
    "experimental-compact-hash-check-time",
    "duration",
    "1m",
    "Duration of time between leader checks followers compaction hashes.",
  ),
  exp5(
    "experimental-stop-grpc-service-on-defrag",
    "bool",
    "false",
    "Enable etcd gRPC service to stop serving client requests on defragmentation.",
  ),
  exp5(
    "experimental-wait-cluster-ready-timeout",
    "duration",
    "5s",
    "Maximum duration to wait for the cluster to be ready.",
  ),
  exp5(
    "experimental-set-member-local-addr",
    "bool",
    "false",
    "Enable to have etcd use the first specified and non-loopback host from initial-advertise-peer-urls as the local address when communicating with a peer.",
  ),
];
