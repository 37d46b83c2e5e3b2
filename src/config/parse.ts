// Owns the entry points: argv + ETCD_* env (or a config file) → Config, in the order etcd 3.4 does it.
import { parseArgv } from "./argv.js";
import {
  buildConfig,
  type Config,
  MAX_QUOTA_BACKEND_BYTES,
  RECOMMENDED_MAX_REQUEST_BYTES,
} from "./config.js";
import { applyEnv, type Env, flagToEnv } from "./env.js";
import { loadConfigFile } from "./file.js";
import { FLAGS, SUPPORTED_FLAGS } from "./flags.js";
import { urlString } from "./gourl.js";
import { validate } from "./validate.js";
import { type FlagValue, FlagValues } from "./values.js";

export interface ParseResult {
  readonly config: Config;
  /** Lines for the server to log at warning level (unsupported flags, unknown ETCD_* variables, …). */
  readonly warnings: readonly string[];
  /** Lines for the server to log at info level (environment variables used, config file loaded). */
  readonly info: readonly string[];
  /** "version"/"help": print versionText()/helpText() and exit 0; `config` is then the default one. */
  readonly action: "run" | "version" | "help";
}

export interface ParseOptions {
  /** The machine's default host, for etcd's 0.0.0.0 advertise-URL substitution (see ValidateOptions). */
  readonly defaultHost?: string;
}

/**
 * Parses etcd server arguments (without the program name) and environment like etcd 3.4, accepting the
 * 3.5/3.6 flags too. Throws ConfigError, whose `kind` says how etcd would report it and `exitCode` its status.
 */
export function parseConfig(argv: readonly string[], env: Env, opts: ParseOptions = {}): ParseResult {
  let values = new FlagValues();
  const early = parseArgv(argv, values);
  if (early === "help" || values.bool("version")) {
    return { config: defaultConfig(), warnings: values.warnings, info: [], action: early ?? "version" };
  }
  // ETCD_CONFIG_FILE is read before everything else: with a config file, flags and other variables are ignored.
  const configFile = values.str("config-file") || env.ETCD_CONFIG_FILE || "";
  let info: readonly string[];
  let afterValidate: (() => void) | undefined;
  if (configFile !== "") {
    const argvWarnings = values.warnings;
    const source = values.isSet("config-file") ? "flag" : "env";
    values = new FlagValues();
    values.warnings.push(...argvWarnings);
    values.setTyped("config-file", configFile, source);
    afterValidate = loadConfigFile(configFile, values);
    info = [
      `loaded server configuration, other configuration command line flags and environment variables will be ignored if provided (path=${configFile})`,
    ];
  } else info = applyEnv(env, values).info;
  const validated = validate(values, { mode: configFile ? "file" : "flags", defaultHost: opts.defaultHost });
  afterValidate?.();
  const config = buildConfig(values, validated, configFile || undefined);
  return {
    config,
    warnings: [...values.warnings, ...unsupportedWarnings(values), ...limitWarnings(config)],
    info,
    action: "run",
  };
}

/** Overrides for defaultConfig, keyed by flag name; values as they would be written on the command line. */
export type ConfigOverrides = Readonly<
  Record<string, string | number | bigint | boolean | URL | readonly (string | URL)[]>
>;

/**
 * The configuration etcd-ts runs with when given only `overrides` (no environment), for embedding and tests:
 * `defaultConfig({ name: "n1", "data-dir": dir, "listen-client-urls": "http://127.0.0.1:0" })`.
 * Overrides go through the same parsing and validation as command-line flags.
 */
export function defaultConfig(overrides: ConfigOverrides = {}, opts: ParseOptions = {}): Config {
  const text = (v: string | URL): string => (v instanceof URL ? urlString(v) : v);
  const argv = Object.entries(overrides).map(([name, v]) => {
    const s = Array.isArray(v) ? v.map(text).join(",") : v instanceof URL ? urlString(v) : String(v);
    return `--${name}=${s}`;
  });
  return parseConfig(argv, {}, opts).config;
}

function sameValue(a: FlagValue, b: FlagValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    const s = (x: unknown) => (x instanceof URL ? urlString(x) : String(x));
    return a.length === b.length && a.every((x, i) => s(x) === s(b[i]));
  }
  return a === b;
}

/** One warning per explicitly set, unsupported flag whose value differs from its default. */
function unsupportedWarnings(values: FlagValues): string[] {
  const defaults = new FlagValues();
  const out: string[] = [];
  for (const f of FLAGS) {
    if (SUPPORTED_FLAGS.has(f.name) || f.kind === "ignored" || !values.isSet(f.name)) continue;
    if (sameValue(values.get(f.name), defaults.get(f.name))) continue;
    const src = values.source(f.name);
    const from = src === "env" ? ` (from ${flagToEnv(f.name)})` : src === "file" ? " (from config file)" : "";
    out.push(`flag not supported yet by etcd-ts; ignored: --${f.name}${from}`);
  }
  if (values.str("logger") === "capnslog") {
    out.push("--logger=capnslog is accepted for compatibility; etcd-ts logs JSON in zap's format");
  }
  return out;
}

/** etcd's start-up warnings about limits set beyond what it recommends. */
function limitWarnings(c: Config): string[] {
  const out: string[] = [];
  if (c.maxRequestBytes > RECOMMENDED_MAX_REQUEST_BYTES) {
    out.push(
      `exceeded recommended request limit: --max-request-bytes=${c.maxRequestBytes} is above ${RECOMMENDED_MAX_REQUEST_BYTES}`,
    );
  }
  if (c.quotaBackendBytes > MAX_QUOTA_BACKEND_BYTES) {
    out.push(
      `quota exceeds the maximum value: --quota-backend-bytes=${c.quotaBackendBytes} is above ${MAX_QUOTA_BACKEND_BYTES}`,
    );
  }
  return out;
}
