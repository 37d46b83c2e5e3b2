// Owns auto-TLS (etcd's transport.SelfCert): a self-signed certificate for the listen hosts, made once into
// <data-dir>/fixtures/{client,peer} and reused at the next start.
import { createPrivateKey, randomBytes, webcrypto } from "node:crypto";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import type { Logger } from "pino";
import type { TlsInfo } from "./tls_info.js";

/** etcd 3.4's validity for self-signed certificates (3.5 made it --self-signed-cert-validity, default 1). */
export const SELF_CERT_VALIDITY_YEARS = 1;
const YEAR_MS = 365 * 24 * 3_600_000;
/** etcd's key: ECDSA on P-521, the certificate signed with SHA-512. */
const ALG = { name: "ECDSA", namedCurve: "P-521", hash: "SHA-512" } as const;

async function exists(f: string): Promise<boolean> {
  return stat(f).then(
    () => true,
    () => false,
  );
}

/**
 * The TLSInfo of a self-signed certificate in `dir` for `hosts` (URL hosts, `host:port`), made if missing.
 * Like etcd, the result replaces every other TLS setting of that side: no CA, no client-cert auth.
 */
export async function selfCert(dir: string, hosts: readonly string[], log: Logger): Promise<TlsInfo> {
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const info: TlsInfo = {
    certFile,
    keyFile,
    trustedCaFile: "",
    clientCertAuth: false,
    crlFile: "",
    selfCert: true,
  };
  if ((await exists(certFile)) && (await exists(keyFile))) return info;
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const { x509 } = await import("./x509.js");
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  // Go puts DNS names before IP addresses.
  const names = hosts.map(hostOnly);
  const sans = [
    ...names.filter((h) => isIP(h) === 0).map((value) => ({ type: "dns" as const, value })),
    ...names.filter((h) => isIP(h) !== 0).map((value) => ({ type: "ip" as const, value })),
  ];
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: "O=etcd",
    notBefore: new Date(now),
    notAfter: new Date(now + SELF_CERT_VALIDITY_YEARS * YEAR_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.BasicConstraintsExtension(false, undefined, true),
      ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const keyPem = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }).export({
    type: "sec1",
    format: "pem",
  });
  await writeFile(certFile, cert.toString("pem"), { mode: 0o644 });
  log.info({ path: certFile }, "created cert file");
  await writeFile(keyFile, keyPem, { mode: 0o600 });
  log.info({ path: keyFile }, "created key file");
  return info;
}

/** etcd's serial: random below 2^128 (kept positive in DER). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString("hex");
}

/** Go's net.SplitHostPort host part; a host without a port is taken as it is. */
function hostOnly(hostPort: string): string {
  const m = /^\[([^\]]*)\](?::\d*)?$/.exec(hostPort);
  if (m) return m[1]!;
  const i = hostPort.lastIndexOf(":");
  return i >= 0 && hostPort.indexOf(":") === i ? hostPort.slice(0, i) : hostPort;
}
