// Owns etcd's TLSInfo for the client and the peer port: the TLS flags of one side, etcd's start-up checks and log
// lines about them, Go cipher-suite and TLS-version names, and the Node TLS settings built from them.
import { readFile, stat } from "node:fs/promises";
import tls from "node:tls";
import type { Config } from "../config/index.js";
import type { PeerTlsOptions } from "../transport/index.js";

export interface TlsInfo {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
  clientCertAuth: boolean;
  crlFile: string;
  /** Made by auto-TLS (etcd's selfCert): a dialer then does not verify the other side's certificate. */
  selfCert: boolean;
}

/** Cipher suites and protocol versions, shared by both sides (--cipher-suites, --tls-min/max-version). */
export interface TlsSettings {
  /** OpenSSL cipher list; undefined = Node's defaults. */
  ciphers: string | undefined;
  minVersion: tls.SecureVersion;
  maxVersion: tls.SecureVersion | undefined;
}

export class TlsConfigError extends Error {
  override name = "TlsConfigError";
}

/** etcd's TLSInfo.Empty: no certificate and no key given. */
export const isEmptyTls = (i: TlsInfo): boolean => i.certFile === "" && i.keyFile === "";

/** What etcd logs as "tls-info". */
export function describeTls(i: TlsInfo): string {
  return `cert = ${i.certFile}, key = ${i.keyFile}, trusted-ca = ${i.trustedCaFile}, client-cert-auth = ${i.clientCertAuth}, crl-file = ${i.crlFile}`;
}

/** etcd 3.4's ServerConfig: a trusted CA alone also makes the server require a verified client certificate. */
export const requiresClientCert = (i: TlsInfo): boolean => i.clientCertAuth || i.trustedCaFile !== "";

function str(c: Config, name: string): string {
  const v = c.raw.get(name);
  return typeof v === "string" ? v : "";
}
function bool(c: Config, name: string): boolean {
  return c.raw.get(name) === true;
}

/** The TLS flags of one side as given (auto-TLS is applied at start, see self_cert.ts). */
export function tlsInfoFromConfig(c: Config, side: "client" | "peer"): TlsInfo & { autoTls: boolean } {
  const p = side === "peer" ? "peer-" : "";
  return {
    certFile: str(c, `${p}cert-file`),
    keyFile: str(c, `${p}key-file`),
    trustedCaFile: str(c, side === "peer" ? "peer-trusted-ca-file" : "trusted-ca-file"),
    clientCertAuth: bool(c, side === "peer" ? "peer-client-cert-auth" : "client-cert-auth"),
    crlFile: str(c, side === "peer" ? "peer-crl-file" : "client-crl-file"),
    selfCert: false,
    autoTls: bool(c, `${p}auto-tls`),
  };
}

/** Go's cipher-suite names (crypto/tls CipherSuites + InsecureCipherSuites, as etcd accepts them) → OpenSSL's. */
const GO_CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_RC4_128_SHA: "RC4-SHA",
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: "DES-CBC3-SHA",
  TLS_RSA_WITH_AES_128_CBC_SHA: "AES128-SHA",
  TLS_RSA_WITH_AES_256_CBC_SHA: "AES256-SHA",
  TLS_RSA_WITH_AES_128_CBC_SHA256: "AES128-SHA256",
  TLS_RSA_WITH_AES_128_GCM_SHA256: "AES128-GCM-SHA256",
  TLS_RSA_WITH_AES_256_GCM_SHA384: "AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: "ECDHE-ECDSA-RC4-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: "ECDHE-RSA-RC4-SHA",
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: "ECDHE-RSA-DES-CBC3-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: "ECDHE-RSA-AES256-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: "ECDHE-ECDSA-AES128-SHA256",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: "ECDHE-RSA-AES128-SHA256",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_AES_128_GCM_SHA256: "TLS_AES_128_GCM_SHA256",
  TLS_AES_256_GCM_SHA384: "TLS_AES_256_GCM_SHA384",
  TLS_CHACHA20_POLY1305_SHA256: "TLS_CHACHA20_POLY1305_SHA256",
};
/** Go does not let TLS 1.3 suites be chosen: they stay on whatever --cipher-suites says. */
const TLS13_SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"];

/** --cipher-suites as an OpenSSL cipher list (etcd's updateCipherSuites, with its error). */
export function opensslCiphers(goNames: readonly string[]): string | undefined {
  if (goNames.length === 0) return undefined;
  const out = goNames.map((n) => {
    const o = GO_CIPHER_SUITES[n];
    if (o === undefined) throw new TlsConfigError(`unexpected TLS cipher suite ${JSON.stringify(n)}`);
    return o;
  });
  for (const s of TLS13_SUITES) if (!out.includes(s)) out.push(s);
  return [...new Set(out)].join(":");
}

/** etcd 3.5's GetTLSVersion: "" = Go's default. */
export function tlsVersion(v: string): tls.SecureVersion | undefined {
  switch (v) {
    case "":
      return undefined;
    case "TLS1.2":
      return "TLSv1.2";
    case "TLS1.3":
      return "TLSv1.3";
    default:
      throw new TlsConfigError(
        `unexpected TLS version ${JSON.stringify(v)} (must be one of: TLS1.2, TLS1.3)`,
      );
  }
}

/** Cipher suites and versions from the config, with etcd's checks (Config.Validate in 3.5). */
export function tlsSettingsFromConfig(c: Config): TlsSettings {
  const raw = c.raw.get("cipher-suites");
  const suites = Array.isArray(raw) ? raw.filter((s): s is string => typeof s === "string" && s !== "") : [];
  const ciphers = opensslCiphers(suites);
  const min = tlsVersion(str(c, "tls-min-version"));
  const max = tlsVersion(str(c, "tls-max-version"));
  if (min === "TLSv1.3" && max === "TLSv1.2") {
    throw new TlsConfigError(
      `min version (${str(c, "tls-min-version")}) is greater than max version (${str(c, "tls-max-version")})`,
    );
  }
  if (min === "TLSv1.3" && suites.length > 0) {
    throw new TlsConfigError("cipher suites cannot be configured when only TLS1.3 is enabled");
  }
  return { ciphers, minVersion: min ?? "TLSv1.2", maxVersion: max };
}

const versionOpts = (s: TlsSettings): tls.SecureContextOptions => ({
  minVersion: s.minVersion,
  ...(s.maxVersion ? { maxVersion: s.maxVersion } : {}),
  ...(s.ciphers ? { ciphers: s.ciphers } : {}),
});

async function readOrFail(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new TlsConfigError(`${what}: ${(err as Error).message}`);
  }
}

/**
 * A server's TLS for one port. The certificate and key are read again when their files change (etcd reads
 * them for every new connection, so certificates rotate without a restart); the CA bundle is read once.
 */
export class ServerTls {
  private current: tls.SecureContextOptions = {};
  private stamp = "";
  private revoked: { stamp: string; serials: Set<string> } | undefined;

  private constructor(
    readonly info: TlsInfo,
    private readonly settings: TlsSettings,
    private readonly ca: Buffer | undefined,
  ) {}

  /** Reads and checks the files; a bad certificate or key fails the start, as in etcd. */
  static async open(info: TlsInfo, settings: TlsSettings): Promise<ServerTls> {
    const ca = info.trustedCaFile ? await readOrFail(info.trustedCaFile, "trusted CA") : undefined;
    const s = new ServerTls(info, settings, ca);
    await s.refresh();
    return s;
  }

  get requestCert(): boolean {
    return requiresClientCert(this.info);
  }

  /** The options in force. */
  get options(): tls.SecureContextOptions {
    return this.current;
  }

  /** New options when the certificate or key file changed since the last call, else undefined. */
  async refresh(): Promise<tls.SecureContextOptions | undefined> {
    const stamp = await fileStamp([this.info.certFile, this.info.keyFile]);
    if (stamp === this.stamp) return undefined;
    const [cert, key] = await Promise.all([
      readOrFail(this.info.certFile, "cert-file"),
      readOrFail(this.info.keyFile, "key-file"),
    ]);
    const next: tls.SecureContextOptions = {
      cert,
      key,
      ...(this.ca ? { ca: this.ca } : {}),
      ...versionOpts(this.settings),
    };
    try {
      tls.createSecureContext(next);
    } catch (err) {
      throw new TlsConfigError((err as Error).message);
    }
    this.current = next;
    this.stamp = stamp;
    return next;
  }

  /** etcd's checkCRL after the handshake: the client certificate's serial must not be in --client-crl-file. */
  async checkCrl(peer: tls.TLSSocket): Promise<void> {
    if (this.info.crlFile === "") return;
    const cert = peer.getPeerCertificate();
    if (!cert?.serialNumber) return;
    const serial = normalizeSerial(cert.serialNumber);
    if ((await this.revokedSerials()).has(serial)) {
      // Go prints the serial's big-endian bytes in hex.
      throw new Error(`transport: certificate serial ${serial.length % 2 ? `0${serial}` : serial} revoked`);
    }
  }

  private async revokedSerials(): Promise<Set<string>> {
    const stamp = await fileStamp([this.info.crlFile]);
    if (this.revoked?.stamp !== stamp) {
      const { X509Crl } = await import("./x509.js");
      // PEM ("X509 CRL") or DER, as Go's ParseCRL takes.
      const raw = await readFile(this.info.crlFile);
      const crl = new X509Crl(raw.subarray(0, 10).toString() === "-----BEGIN" ? raw.toString("latin1") : raw);
      this.revoked = { stamp, serials: new Set(crl.entries.map((e) => normalizeSerial(e.serialNumber))) };
    }
    return this.revoked.serials;
  }

  /** Static options for the peer port's https server and for dialling peers. */
  peerOptions(): PeerTlsOptions {
    return {
      ...this.current,
      clientCertAuth: this.requestCert,
      // A member dialling another presents the same certificate; auto-TLS members trust any (as etcd).
      rejectUnauthorized: !this.info.selfCert,
    };
  }
}

/** Hex serial, lower case, without leading zeros (Go prints big.Int bytes; we only compare). */
function normalizeSerial(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^0-9a-f]/g, "")
    .replace(/^0+(?=.)/, "");
}

async function fileStamp(files: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    files.map(async (f) => {
      try {
        const st = await stat(f);
        return `${st.ino}:${st.size}:${st.mtimeMs}`;
      } catch {
        return "missing";
      }
    }),
  );
  return parts.join("|");
}
