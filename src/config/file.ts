// Owns --config-file: YAML (or JSON) keyed by flag names, decoded with etcd 3.4's types, rules and error texts.
import { readFileSync } from "node:fs";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { fatalError, verifyError } from "./errors.js";
import { type FileType, FLAGS, type FlagSpec, fileTypeOf } from "./flags.js";
import { type Decoded, decodeAs } from "./gojson.js";
import { GoURLError, newURLs } from "./gourl.js";
import type { FlagValues } from "./values.js";

/** Nested TLS keys → flag names. 3.4 knows the first five; 3.5/3.6 added the rest. */
const TLS_KEYS: Readonly<
  Record<string, { type: FileType | "string|[]string"; client?: string; peer: string }>
> = {
  "cert-file": { type: "string", client: "cert-file", peer: "peer-cert-file" },
  "key-file": { type: "string", client: "key-file", peer: "peer-key-file" },
  "client-cert-auth": { type: "bool", client: "client-cert-auth", peer: "peer-client-cert-auth" },
  "trusted-ca-file": { type: "string", client: "trusted-ca-file", peer: "peer-trusted-ca-file" },
  "auto-tls": { type: "bool", client: "auto-tls", peer: "peer-auto-tls" },
  "client-cert-file": { type: "string", client: "client-cert-file", peer: "peer-client-cert-file" },
  "client-key-file": { type: "string", client: "client-key-file", peer: "peer-client-key-file" },
  "allowed-cn": { type: "string|[]string", peer: "peer-cert-allowed-cn" },
  "allowed-hostname": {
    type: "string|[]string",
    client: "client-cert-allowed-hostname",
    peer: "peer-cert-allowed-hostname",
  },
  "skip-client-san-verification": { type: "bool", peer: "experimental-peer-skip-client-san-verification" },
};
const TLS_SECTIONS = { "client-transport-security": "client", "peer-transport-security": "peer" } as const;

/** Order in which etcd turns the URL strings of the file into URL lists (its first failure wins). */
const URL_KEYS = [
  "listen-peer-urls",
  "listen-client-urls",
  "listen-client-http-urls",
  "initial-advertise-peer-urls",
  "advertise-client-urls",
  "listen-metrics-urls",
];

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EISDIR: "is a directory",
  ENOTDIR: "not a directory",
};

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    throw verifyError(
      `${code === "EISDIR" ? "read" : "open"} ${path}: ${ERRNO_TEXT[code] ?? (e as Error).message}`,
    );
  }
}

function parseDocument(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { version: "1.1", intAsBigInt: true, uniqueKeys: false });
  } catch (e) {
    if (!(e instanceof YAMLParseError)) throw e;
    const line = e.linePos?.[0]?.line ?? 1;
    throw verifyError(`error converting YAML to JSON: yaml: line ${line}: ${e.message.split(" at line")[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw verifyError(
      `error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${Array.isArray(doc) ? "array" : typeof doc === "string" ? "string" : typeof doc === "boolean" ? "bool" : "number"} into Go value of type embed.configYAML`,
    );
  }
  return doc as Record<string, unknown>;
}

const typeError = (what: string, struct: string, field: string, type: string): string =>
  `error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${what} into Go struct field ${struct}.${field} of type ${type}`;

const TOP_KEYS: ReadonlyMap<string, FlagSpec> = new Map(
  FLAGS.filter((f) => fileTypeOf(f) !== undefined).map((f) => [f.name, f]),
);

/** Go's encoding/json matches a key to a field exactly, else case-insensitively. */
const matchKey = (key: string, known: (k: string) => boolean): string | undefined =>
  known(key) ? key : known(key.toLowerCase()) ? key.toLowerCase() : undefined;

/**
 * Loads `path` into `values` as etcd's embed.ConfigFromFile does. The caller validates, then calls the returned
 * function: etcd 3.4 decodes the v2-proxy keys (proxy, discovery-fallback) only after validating the rest.
 * Unknown keys are ignored like etcd, but reported as warnings.
 */
export function loadConfigFile(path: string, values: FlagValues): () => void {
  const doc = parseDocument(readConfigFile(path));
  // Go decodes the JSON etcd builds from YAML with sorted keys and reports the earliest type error.
  const keys = Object.keys(doc).sort();
  const decoded = new Map<string, Decoded>();
  let firstError: string | undefined;
  let proxyError: string | undefined;
  const fail = (e: string, proxy: boolean) => {
    if (proxy) proxyError ??= e;
    else firstError ??= e;
  };
  for (const key of keys) {
    const raw = doc[key];
    const tls = matchKey(key, (k) => k in TLS_SECTIONS) as keyof typeof TLS_SECTIONS | undefined;
    if (tls) {
      if (raw === null || raw === undefined) continue;
      if (typeof raw !== "object" || Array.isArray(raw)) {
        fail(
          typeError(
            Array.isArray(raw)
              ? "array"
              : typeof raw === "string"
                ? "string"
                : typeof raw === "boolean"
                  ? "bool"
                  : "number",
            "configYAML",
            tls,
            "embed.securityConfig",
          ),
          false,
        );
        continue;
      }
      decodeTls(tls, raw as Record<string, unknown>, decoded, values, (e) => fail(e, false));
      continue;
    }
    const name = matchKey(key, (k) => TOP_KEYS.has(k));
    if (name === undefined) {
      values.warnings.push(`unrecognized config file key ${JSON.stringify(key)}; ignored`);
      continue;
    }
    if (raw === null || raw === undefined) continue;
    const spec = TOP_KEYS.get(name)!;
    const type = fileTypeOf(spec)!;
    const v = decodeAs(raw, type);
    if (typeof v === "object" && !Array.isArray(v)) {
      fail(
        typeError(v.what, spec.fileStruct ?? "configYAML", name, v.type ?? type),
        spec.fileStruct !== undefined,
      );
    } else decoded.set(name, v);
  }
  if (firstError !== undefined) throw verifyError(firstError);
  applyDecoded(decoded, values);
  return () => {
    if (proxyError !== undefined) throw verifyError(proxyError);
    for (const name of ["discovery-fallback", "proxy"]) {
      const v = decoded.get(name) as string | undefined;
      if (v === undefined || v === "") continue;
      const err = values.set(name, v, "file");
      const label = name === "proxy" ? "proxyFlag" : "discovery-fallback flag";
      if (err !== undefined) throw fatalError(`unexpected error setting up ${label}: ${err}`);
    }
  };
}

function decodeTls(
  section: keyof typeof TLS_SECTIONS,
  obj: Record<string, unknown>,
  decoded: Map<string, Decoded>,
  values: FlagValues,
  fail: (e: string) => void,
): void {
  const side = TLS_SECTIONS[section];
  for (const key of Object.keys(obj).sort()) {
    const k = matchKey(key, (x) => x in TLS_KEYS);
    const spec = k === undefined ? undefined : TLS_KEYS[k];
    const name = spec?.[side];
    if (k === undefined || spec === undefined || name === undefined) {
      values.warnings.push(`unrecognized config file key ${JSON.stringify(`${section}.${key}`)}; ignored`);
      continue;
    }
    const raw = obj[key];
    if (raw === null || raw === undefined) continue;
    const type: FileType =
      spec.type === "string|[]string" ? (Array.isArray(raw) ? "[]string" : "string") : spec.type;
    const v = decodeAs(raw, type);
    if (typeof v === "object" && !Array.isArray(v))
      fail(typeError(v.what, "securityConfig", `${section}.${k}`, v.type ?? type));
    else decoded.set(name, Array.isArray(v) ? v.join(",") : v);
  }
}

/** Puts decoded values into `values`, turning strings into URL and string lists the way etcd does. */
function applyDecoded(decoded: ReadonlyMap<string, Decoded>, values: FlagValues): void {
  for (const name of URL_KEYS) {
    const s = decoded.get(name) as string | undefined;
    if (s === undefined || s === "") continue;
    try {
      values.setTyped(name, newURLs(s.split(",")), "file");
    } catch (e) {
      if (!(e instanceof GoURLError)) throw e;
      // etcd's message for advertise-client-urls really says "advertise-peer-urls".
      const label = name === "advertise-client-urls" ? "advertise-peer-urls" : name;
      throw fatalError(`unexpected error setting up ${label}: ${e.message}`);
    }
  }
  for (const [name, v] of decoded) {
    if (URL_KEYS.includes(name) || name === "discovery-fallback" || name === "proxy") continue;
    if (name === "cors" || name === "host-whitelist") {
      if (v === "") continue;
      const err = values.set(name, v as string, "file");
      if (err !== undefined) throw fatalError(`new UniqueURLs should never fail: ${err}`);
      continue;
    }
    values.setTyped(name, v, "file");
  }
  if (values.str("initial-cluster-state") === "") values.setTyped("initial-cluster-state", "new", "file");
}
