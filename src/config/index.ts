// Owns the public surface of src/config: parse etcd flags, environment and config files into a typed Config.
export { checkInitialCluster, clusterString, parseInitialCluster } from "./cluster.js";
export {
  type Config,
  DEFAULT_QUOTA_BACKEND_BYTES,
  effectiveQuotaBackendBytes,
  type LogLevel,
  MAX_QUOTA_BACKEND_BYTES,
} from "./config.js";
export { flagToEnv } from "./env.js";
export { ConfigError, type ConfigErrorKind } from "./errors.js";
export { FLAGS, type FlagKind, type FlagSpec, lookupFlag, SUPPORTED_FLAGS } from "./flags.js";
export { EtcdURL, urlString } from "./gourl.js";
export { errorText, flagsText, helpText, usageText } from "./help.js";
export {
  type ConfigOverrides,
  defaultConfig,
  type ParseOptions,
  type ParseResult,
  parseConfig,
} from "./parse.js";
export { MAX_ELECTION_MS } from "./validate.js";
export type { FlagSource, FlagValue } from "./values.js";
export { ETCD_API_VERSION, ETCD_TS_VERSION, PROGRAM_NAME, versionText } from "./version.js";
