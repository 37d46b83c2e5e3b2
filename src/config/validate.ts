// Owns etcd's checks and derived defaults: embed.Config.Validate, the advertise/initial-cluster/data-dir rules.
import { ERR_UNSET_ADVERTISE_CLIENT_URLS, HINT_UNSET_ADVERTISE_CLIENT_URLS, verifyError } from "./errors.js";
import { lookupFlag } from "./flags.js";
import { goQuote, goQuoteList } from "./goparse.js";
import { EtcdURL, GoURLError, isGoIP, splitHostPort } from "./gourl.js";
import type { FlagValues } from "./values.js";

/** etcd's maxElectionMs. */
export const MAX_ELECTION_MS = 50_000;
export const DEFAULT_NAME = "default";
/** The default --initial-cluster, built by etcd from the default name and advertise peer URL. */
export const DEFAULT_INITIAL_CLUSTER = lookupFlag("initial-cluster")!.def;
export const LOG_LEVELS = ["debug", "info", "warn", "error", "dpanic", "panic", "fatal"] as const;

export interface ValidateOptions {
  /** "flags" = command line + env; "file" = --config-file (etcd applies slightly different rules to each). */
  readonly mode: "flags" | "file";
  /**
   * The machine's default host (etcd reads the default route's interface address). When set, advertise URLs
   * left at their localhost defaults while listening on 0.0.0.0 advertise this host instead, as etcd does.
   */
  readonly defaultHost?: string | undefined;
}

/** What validation decided beyond the flag values themselves. */
export interface Validated {
  readonly advertiseClientUrls: readonly EtcdURL[];
  readonly initialAdvertisePeerUrls: readonly EtcdURL[];
  readonly initialCluster: string;
  readonly dataDir: string;
}

/** Applies etcd's pre-validation rules, embed.Config.Validate and etcdmain's post-parse defaults. */
export function validate(values: FlagValues, opts: ValidateOptions): Validated {
  const fallbackToProxy = values.str("discovery") !== "" && values.str("discovery-fallback") === "proxy";
  const mayBeProxy = values.str("proxy") !== "off" || fallbackToProxy;
  let advertiseClient: readonly EtcdURL[] | null = values.urls("advertise-client-urls");
  let initialCluster = values.str("initial-cluster");
  const discovery = values.str("discovery") !== "" || values.str("discovery-srv") !== "";
  if (opts.mode === "flags") {
    // An explicit --listen-client-urls drops the default advertise URL (unless this may become a v2 proxy).
    if (values.isSet("listen-client-urls") && !values.isSet("advertise-client-urls") && !mayBeProxy)
      advertiseClient = null;
    const anyDiscovery =
      discovery || values.str("discovery-srv-name") !== "" || values.list("discovery-endpoints").length > 0;
    if (anyDiscovery && !values.isSet("initial-cluster")) initialCluster = "";
  } else if (discovery && initialCluster === DEFAULT_INITIAL_CLUSTER) initialCluster = "";

  checkLogging(values);
  for (const name of [
    "listen-peer-urls",
    "listen-client-urls",
    "listen-client-http-urls",
    "listen-metrics-urls",
  ]) {
    checkBindURLs(values.urls(name));
  }
  let advertisePeer = values.urls("initial-advertise-peer-urls");
  checkHostURLs("--initial-advertise-peer-urls", advertisePeer);
  checkHostURLs("--advertise-client-urls", advertiseClient ?? []);
  const state = values.str("initial-cluster-state");
  if (state !== "new" && state !== "existing") throw verifyError(`unexpected clusterState ${goQuote(state)}`);
  if (
    [values.str("discovery"), initialCluster, values.str("discovery-srv")].filter((s) => s !== "").length > 1
  ) {
    throw verifyError(
      'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"',
    );
  }
  const tick = values.big("heartbeat-interval");
  const election = values.big("election-timeout");
  if (tick === 0n) throw verifyError(`--heartbeat-interval must be >0 (set to ${tick}ms)`);
  if (election === 0n) throw verifyError(`--election-timeout must be >0 (set to ${election}ms)`);
  if (5n * tick > election) {
    throw verifyError(
      `--election-timeout[${election}ms] should be at least as 5 times as --heartbeat-interval[${tick}ms]`,
    );
  }
  if (election > BigInt(MAX_ELECTION_MS)) {
    throw verifyError(
      `--election-timeout[${election}ms] is too long, and should be set less than ${MAX_ELECTION_MS}ms`,
    );
  }
  if (advertiseClient === null && !mayBeProxy) {
    throw verifyError(ERR_UNSET_ADVERTISE_CLIENT_URLS, HINT_UNSET_ADVERTISE_CLIENT_URLS);
  }
  const mode = values.str("auto-compaction-mode");
  if (!["", "periodic", "revision"].includes(mode))
    throw verifyError(`unknown auto-compaction-mode ${goQuote(mode)}`);

  // etcdmain: UpdateDefaultClusterFromName, then the data-dir default.
  const listenClient0 = values.urls("listen-client-urls")[0];
  if (opts.defaultHost && isOnly(advertisePeer, "http://localhost:2380")) {
    const lp = values.urls("listen-peer-urls")[0];
    if (lp && hostOf(lp) === "0.0.0.0")
      advertisePeer = [withHost(advertisePeer[0]!, opts.defaultHost, portOf(lp))];
  }
  const name = values.str("name");
  if (name !== DEFAULT_NAME && initialCluster === DEFAULT_INITIAL_CLUSTER) {
    initialCluster = advertisePeer.map((u) => `${name || DEFAULT_NAME}=${u.goString}`).join(",");
  }
  if (
    opts.defaultHost &&
    advertiseClient &&
    isOnly(advertiseClient, "http://localhost:2379") &&
    listenClient0
  ) {
    if (hostOf(listenClient0) === "0.0.0.0")
      advertiseClient = [withHost(advertiseClient[0]!, opts.defaultHost, portOf(listenClient0))];
  }
  let dataDir = values.str("data-dir");
  if (dataDir === "") {
    dataDir = `${name}.etcd`;
    values.warnings.push(`no data-dir provided, using default data-dir ./${dataDir}`);
  }
  return {
    advertiseClientUrls: advertiseClient ?? [],
    initialAdvertisePeerUrls: advertisePeer,
    initialCluster,
    dataDir,
  };
}

function checkLogging(values: FlagValues): void {
  const logger = values.str("logger");
  const outputs = values.list("log-outputs");
  if (logger === "capnslog") {
    if (outputs.length !== 1) {
      throw verifyError(
        `--logger=capnslog supports only 1 value in '--log-outputs', got ${goQuoteList(outputs)}`,
      );
    }
    if (!["default", "stderr", "stdout"].includes(outputs[0]!)) {
      throw verifyError(
        `unknown log-output ${goQuote(outputs[0]!)} (only supports "default", "stderr", "stdout")`,
      );
    }
  } else if (logger === "zap") {
    if (outputs.length > 1 && outputs.includes("default")) {
      throw verifyError('multi logoutput for "default" is not supported yet');
    }
    if (outputs.length > 1 && outputs.includes("systemd/journal")) {
      throw verifyError(
        `running with systemd/journal but other '--log-outputs' values (${goQuoteList(outputs)}) are configured with 'default'; override 'default' value with something else`,
      );
    }
  } else throw verifyError(`unknown logger option ${goQuote(logger)}`);
  const level = values.str("log-level");
  // etcd 3.4 panics here (exit 2); etcd-ts reports the same text as an ordinary error.
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw verifyError(`unknown level ${goQuote(level)}`);
}

const hostOf = (u: EtcdURL): string => splitHostPort(u.hostPort).host;
const portOf = (u: EtcdURL): string => splitHostPort(u.hostPort).port;
const isOnly = (urls: readonly EtcdURL[], s: string): boolean => urls.length === 1 && urls[0]!.goString === s;
const withHost = (u: EtcdURL, host: string, port: string): EtcdURL => {
  const hostPort = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  return new EtcdURL(`${u.protocol}//${hostPort}`, hostPort);
};

/** etcd's checkBindURLs: listen URLs need an IP (or "localhost"), unix sockets excepted. */
function checkBindURLs(urls: readonly EtcdURL[]): void {
  for (const u of urls) {
    if (u.protocol === "unix:" || u.protocol === "unixs:") continue;
    const host = hostOrThrow(u.hostPort);
    if (host !== "localhost" && !isGoIP(host))
      throw verifyError(`expected IP in URL for binding (${u.goString})`);
  }
}

/** etcd's checkHostURLs, wrapped the way Validate reports it. */
function checkHostURLs(flag: string, urls: readonly EtcdURL[]): void {
  const wrap = (why: string) =>
    verifyError(`${flag} ${goQuote(urls.map((u) => u.goString).join(","))} must be "host:port" (${why})`);
  for (const u of urls) {
    let host: string;
    try {
      host = splitHostPort(u.hostPort).host;
    } catch (e) {
      if (e instanceof GoURLError) throw wrap(e.message);
      throw e;
    }
    if (host === "") throw wrap(`unexpected empty host (${u.goString})`);
  }
}

function hostOrThrow(hostPort: string): string {
  try {
    return splitHostPort(hostPort).host;
  } catch (e) {
    if (e instanceof GoURLError) throw verifyError(e.message);
    throw e;
  }
}
