// Specifies the TLS settings built from etcd's flags: Go cipher-suite and TLS-version names with etcd's errors, and
// a certificate rotated on disk served to the next connection (--client-crl-file: see api/tls.wire.test.ts).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import tls from "node:tls";
import { makeTestCerts, type TestCerts } from "../testing/certs.js";
import { opensslCiphers, ServerTls, type TlsInfo, tlsVersion } from "./tls_info.js";

test("Go cipher-suite names map to OpenSSL's; TLS 1.3 suites stay on; unknown names fail as in etcd", () => {
  assert.equal(opensslCiphers([]), undefined);
  assert.equal(
    opensslCiphers(["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"]),
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
  );
  assert.throws(() => opensslCiphers(["TLS_FALLBACK_SCSV"]), {
    message: 'unexpected TLS cipher suite "TLS_FALLBACK_SCSV"',
  });
});

test("TLS versions: TLS1.2, TLS1.3 or Go's default; anything else is etcd's error", () => {
  assert.equal(tlsVersion(""), undefined);
  assert.equal(tlsVersion("TLS1.2"), "TLSv1.2");
  assert.equal(tlsVersion("TLS1.3"), "TLSv1.3");
  assert.throws(() => tlsVersion("TLS1.1"), {
    message: 'unexpected TLS version "TLS1.1" (must be one of: TLS1.2, TLS1.3)',
  });
});

describe("ServerTls", () => {
  let dir: string;
  let certs: TestCerts;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "etcd-ts-tls-info-"));
    certs = await makeTestCerts(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const info = (over: Partial<TlsInfo> = {}): TlsInfo => ({
    certFile: certs.server.certFile,
    keyFile: certs.server.keyFile,
    trustedCaFile: "",
    clientCertAuth: false,
    crlFile: "",
    selfCert: false,
    ...over,
  });

  /** The cipher and certificate a TLS 1.2 client gets from a server with `st`'s options. */
  async function handshake(options: tls.SecureContextOptions): Promise<{ cipher: string; serial: string }> {
    const server = tls.createServer(options, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      return await new Promise((resolve, reject) => {
        const c = tls.connect({ port, host: "127.0.0.1", ca: certs.ca.caPem, maxVersion: "TLSv1.2" }, () => {
          resolve({ cipher: c.getCipher().standardName, serial: c.getPeerCertificate().serialNumber });
          c.destroy();
        });
        c.on("error", reject);
      });
    } finally {
      server.close();
    }
  }

  test("--cipher-suites limits what a TLS 1.2 client can negotiate", async () => {
    const st = await ServerTls.open(info(), {
      ciphers: opensslCiphers(["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]),
      minVersion: "TLSv1.2",
      maxVersion: undefined,
    });
    assert.equal((await handshake(st.options)).cipher, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
  });

  test("a certificate replaced on disk is picked up without a restart", async () => {
    const rotDir = mkdtempSync(join(dir, "rot-"));
    const certFile = join(rotDir, "cert.pem");
    const keyFile = join(rotDir, "key.pem");
    await copyFile(certs.server.certFile, certFile);
    await copyFile(certs.server.keyFile, keyFile);
    const st = await ServerTls.open(info({ certFile, keyFile }), {
      ciphers: undefined,
      minVersion: "TLSv1.2",
      maxVersion: undefined,
    });
    assert.equal(await st.refresh(), undefined, "unchanged files: nothing new");
    const next = await certs.ca.issue("rotated", { cn: "etcd-ts", ips: ["127.0.0.1"] });
    await copyFile(next.certFile, certFile);
    await copyFile(next.keyFile, keyFile);
    const fresh = await st.refresh();
    assert.ok(fresh);
    assert.equal((await handshake(fresh)).serial.toLowerCase().replace(/^0+/, ""), next.serial);
  });

  test("a bad certificate file fails at open, as etcd fails its start", async () => {
    await assert.rejects(
      ServerTls.open(info({ certFile: certs.ca.caFile }), {
        ciphers: undefined,
        minVersion: "TLSv1.2",
        maxVersion: undefined,
      }),
    );
  });
});
