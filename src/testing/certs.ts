// Owns the throwaway PKI tests use: a CA, certificates it issues (server, peer, client) and CRLs, made in-process
// with @peculiar/x509 on WebCrypto and written as PEM files.
import { webcrypto } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { x509 } from "../embed/x509.js";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const HOUR_MS = 3_600_000;

export interface Issued {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  serial: string;
}

export interface TestCa {
  caFile: string;
  caPem: string;
  /** Issues a certificate for `cn`; IPs and DNS names become SANs. */
  issue(
    name: string,
    opts: { cn: string; ips?: string[]; dns?: string[]; usage?: "server" | "client" | "both" },
  ): Promise<Issued>;
  /** Writes a CRL revoking `serials` and returns its path. */
  crl(name: string, serials: string[]): Promise<string>;
}

let serialSeq = 0x1000;
/** Hex serials with no leading zero byte (DER integers must be minimal, and Go and OpenSSL check). */
const nextSerial = (): string => (serialSeq++).toString(16);

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** A new CA whose files go into `dir` as `<prefix>ca.pem` and `<name>.pem` / `<name>-key.pem`. */
export async function makeTestCa(dir: string, prefix = ""): Promise<TestCa> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const notBefore = new Date(Date.now() - HOUR_MS);
  const notAfter = new Date(Date.now() + 24 * HOUR_MS);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=etcd-ts test CA ${prefix}`.trim(),
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const caPem = ca.toString("pem");
  const caFile = join(dir, `${prefix}ca.pem`);
  writeFileSync(caFile, caPem);
  return {
    caFile,
    caPem,
    async issue(name, opts) {
      const k = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
      const usage = opts.usage ?? "both";
      const eku = [
        ...(usage !== "client" ? [x509.ExtendedKeyUsage.serverAuth] : []),
        ...(usage !== "server" ? [x509.ExtendedKeyUsage.clientAuth] : []),
      ];
      const sans = [
        ...(opts.ips ?? []).map((value) => ({ type: "ip" as const, value })),
        ...(opts.dns ?? []).map((value) => ({ type: "dns" as const, value })),
      ];
      const serial = nextSerial();
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial,
        subject: `CN=${opts.cn}`,
        issuer: ca.subject,
        notBefore,
        notAfter,
        signingKey: keys.privateKey,
        publicKey: k.publicKey,
        signingAlgorithm: ALG,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
            true,
          ),
          new x509.ExtendedKeyUsageExtension(eku),
          await x509.AuthorityKeyIdentifierExtension.create(ca),
          ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
        ],
      });
      const certPem = cert.toString("pem");
      const kPem = await keyPem(k.privateKey);
      const certFile = join(dir, `${prefix}${name}.pem`);
      const keyFile = join(dir, `${prefix}${name}-key.pem`);
      writeFileSync(certFile, certPem);
      writeFileSync(keyFile, kPem, { mode: 0o600 });
      return { certFile, keyFile, certPem, keyPem: kPem, serial };
    },
    async crl(name, serials) {
      const crl = await x509.X509CrlGenerator.create({
        issuer: ca.subject,
        thisUpdate: notBefore,
        nextUpdate: notAfter,
        entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: notBefore })),
        signingKey: keys.privateKey,
        signingAlgorithm: ALG,
      });
      const file = join(dir, `${prefix}${name}`);
      // The library labels it "CRL"; Go and OpenSSL read only "X509 CRL".
      writeFileSync(file, x509.PemConverter.encode(crl.rawData, "X509 CRL"));
      return file;
    },
  };
}

/** The usual set: a CA, a server/peer certificate for 127.0.0.1 and localhost, and a client certificate. */
export interface TestCerts {
  dir: string;
  ca: TestCa;
  server: Issued;
  client: Issued;
}

export async function makeTestCerts(dir: string, clientCn = "root"): Promise<TestCerts> {
  const ca = await makeTestCa(dir);
  const server = await ca.issue("server", { cn: "etcd-ts", ips: ["127.0.0.1"], dns: ["localhost"] });
  const client = await ca.issue("client", { cn: clientCn, usage: "client" });
  return { dir, ca, server, client };
}
