// Owns the typed errors configuration parsing throws, each saying how etcd reports it and with which exit code.

/**
 * How etcd reports a configuration error; the CLI entry prints accordingly:
 * - "usage": Go flag syntax errors. Print `message`, then the usage text, to stderr; exit 2.
 * - "verify": etcd's "error verifying flags, <message>. See 'etcd --help'." (plus `hint` when set); exit 1.
 * - "fatal": a fatal log line with just `message`; exit 1.
 */
export type ConfigErrorKind = "usage" | "verify" | "fatal";

export class ConfigError extends Error {
  override name = "ConfigError";
  readonly kind: ConfigErrorKind;
  /** A second line etcd prints after some errors. */
  readonly hint: string | undefined;
  constructor(kind: ConfigErrorKind, message: string, hint?: string) {
    super(message);
    this.kind = kind;
    this.hint = hint;
  }
  get exitCode(): 1 | 2 {
    return this.kind === "usage" ? 2 : 1;
  }
}

export const usageError = (message: string): ConfigError => new ConfigError("usage", message);
export const verifyError = (message: string, hint?: string): ConfigError =>
  new ConfigError("verify", message, hint);
export const fatalError = (message: string): ConfigError => new ConfigError("fatal", message);

/** etcd's ErrUnsetAdvertiseClientURLsFlag and the line it prints after it. */
export const ERR_UNSET_ADVERTISE_CLIENT_URLS =
  "--advertise-client-urls is required when --listen-client-urls is set explicitly";
export const HINT_UNSET_ADVERTISE_CLIENT_URLS =
  "When listening on specific address(es), this etcd process must advertise accessible url(s) to each connected client.";
