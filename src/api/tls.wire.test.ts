// Specifies TLS on the client port against Debian's etcdctl, next to etcd 3.4 doing the same: an https:// listener
// with --client-cert-auth serves a client with a certificate from the trusted CA, and refuses one without a
// certificate, with another CA's certificate, or speaking plain text, as etcd does (the client times out).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTestCa, makeTestCerts, type TestCerts } from "../testing/certs.js";
import { normalizeStderr } from "../testing/differential.js";
import { ETCD, etcdctl, hasEtcd, hasEtcdctl } from "../testing/etcdctl.js";
import { freePort, type ServerProcess, startServer } from "../testing/server_process.js";

interface Target {
  name: string;
  binary: string | undefined;
}
const TARGETS: Target[] = [
  { name: "etcd-ts", binary: undefined },
  ...(hasEtcd() ? [{ name: "etcd 3.4", binary: ETCD }] : []),
];

/** Server flags for an https:// client URL on `port` with the test certificates. */
function tlsArgs(certs: TestCerts, url: string, extra: string[] = []): string[] {
  return [
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--cert-file=${certs.server.certFile}`,
    `--key-file=${certs.server.keyFile}`,
    ...extra,
  ];
}

describe("client TLS with etcdctl", { skip: hasEtcdctl() ? false : "etcdctl is not installed" }, () => {
  let dir: string;
  let certs: TestCerts;
  let stranger: { certFile: string; keyFile: string };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "etcd-ts-tls-wire-"));
    certs = await makeTestCerts(dir);
    const other = await makeTestCa(dir, "other-");
    stranger = await other.issue("client", { cn: "root", usage: "client" });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const target of TARGETS) {
    describe(target.name, () => {
      let s: ServerProcess;
      let url: string;
      before(async () => {
        const port = await freePort();
        url = `https://127.0.0.1:${port}`;
        s = await startServer({
          binary: target.binary,
          clientPort: port,
          extraArgs: tlsArgs(certs, url, [`--trusted-ca-file=${certs.ca.caFile}`, "--client-cert-auth"]),
        });
      });
      after(async () => {
        await s?.stop();
        s?.cleanup();
      });
      const ca = (): string[] => [`--cacert=${certs.ca.caFile}`];
      const short = ["--dial-timeout=1s", "--command-timeout=2s"];

      test("a client certificate from the trusted CA: put and get", async () => {
        const client = [...ca(), `--cert=${certs.client.certFile}`, `--key=${certs.client.keyFile}`];
        const put = await etcdctl(url, [...client, "put", "tls/k", "v"]);
        assert.equal(put.code, 0, put.stderr);
        assert.equal(put.stdout, "OK\n");
        const get = await etcdctl(url, [...client, "get", "tls/k"]);
        assert.equal(get.stdout, "tls/k\nv\n");
      });

      test("no client certificate: refused, the client times out", async () => {
        const r = await etcdctl(url, [...ca(), ...short, "get", "tls/k"]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /Error: context deadline exceeded\n$/);
      });

      test("a certificate from another CA: refused", async () => {
        const r = await etcdctl(url, [
          ...ca(),
          ...short,
          `--cert=${stranger.certFile}`,
          `--key=${stranger.keyFile}`,
          "get",
          "tls/k",
        ]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /Error: context deadline exceeded\n$/);
      });

      test("plain text on the https:// port: refused", async () => {
        const r = await etcdctl(url.replace("https://", ""), [...short, "get", "tls/k"]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /Error: context deadline exceeded\n$/);
        // etcd logs each refused connection.
        assert.match(s.logs(), /"msg":"rejected connection"/);
      });
    });
  }

  test("--client-cert-auth with auth on: a call without a token acts as its certificate's CN, as in etcd", async () => {
    const alice = await certs.ca.issue("alice", { cn: "alice", usage: "client" });
    const as = (c: { certFile: string; keyFile: string }): string[] => [
      `--cacert=${certs.ca.caFile}`,
      `--cert=${c.certFile}`,
      `--key=${c.keyFile}`,
    ];
    const root = as(certs.client); // CN=root
    const steps: string[][] = [
      [...root, "user", "add", "root:rootpw"],
      [...root, "role", "add", "root"],
      [...root, "user", "grant-role", "root", "root"],
      [...root, "user", "add", "alice:alicepw"],
      [...root, "role", "add", "reader"],
      [...root, "role", "grant-permission", "reader", "read", "cn/", "--prefix"],
      [...root, "user", "grant-role", "alice", "reader"],
      [...root, "auth", "enable"],
      [...root, "put", "cn/k", "v"],
      [...as(alice), "get", "cn/k"],
      [...as(alice), "put", "cn/k", "w"],
      [...as(alice), "user", "list"],
      [...root, "user", "list"],
      // A token still wins over the certificate: alice with root's password is root.
      [...as(alice), "--user=root:rootpw", "put", "cn/k", "x"],
      [...as(alice), "get", "cn/k", "--print-value-only"],
    ];
    const outputs: string[][] = [];
    for (const target of TARGETS) {
      const port = await freePort();
      const url = `https://127.0.0.1:${port}`;
      const s = await startServer({
        binary: target.binary,
        clientPort: port,
        extraArgs: tlsArgs(certs, url, [`--trusted-ca-file=${certs.ca.caFile}`, "--client-cert-auth"]),
      });
      try {
        const out: string[] = [];
        for (const args of steps) {
          const r = await etcdctl(url, args);
          out.push(`${args.slice(3).join(" ")} → ${r.code} ${r.stdout}${normalizeStderr(r.stderr)}`);
        }
        outputs.push(out);
      } finally {
        await s.stop();
        s.cleanup();
      }
    }
    const ours = outputs[0]!;
    assert.equal(ours[9], "get cn/k → 0 cn/k\nv\n");
    assert.match(ours[10]!, /^put cn\/k w → 1 .*\nError: etcdserver: permission denied\n$/);
    assert.equal(ours[14], "get cn/k --print-value-only → 0 x\n");
    if (outputs[1]) assert.deepEqual(ours, outputs[1], "etcd 3.4 prints the same");
  });

  for (const target of TARGETS) {
    test(`--client-crl-file: a revoked client certificate is refused (${target.name})`, async () => {
      const revoked = await certs.ca.issue(`revoked-${target.name.replace(/\W/g, "")}`, {
        cn: "root",
        usage: "client",
      });
      const crl = await certs.ca.crl(`crl-${target.name.replace(/\W/g, "")}.pem`, [revoked.serial]);
      const port = await freePort();
      const url = `https://127.0.0.1:${port}`;
      const s = await startServer({
        binary: target.binary,
        clientPort: port,
        extraArgs: tlsArgs(certs, url, [`--trusted-ca-file=${certs.ca.caFile}`, `--client-crl-file=${crl}`]),
      });
      try {
        const as = (c: { certFile: string; keyFile: string }): string[] => [
          `--cacert=${certs.ca.caFile}`,
          `--cert=${c.certFile}`,
          `--key=${c.keyFile}`,
          "--dial-timeout=1s",
          "--command-timeout=2s",
        ];
        assert.equal((await etcdctl(url, [...as(certs.client), "put", "crl", "ok"])).stdout, "OK\n");
        const r = await etcdctl(url, [...as(revoked), "get", "crl"]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /Error: context deadline exceeded\n$/);
        assert.match(s.logs(), /certificate serial 0*[0-9a-f]+ revoked/);
      } finally {
        await s.stop();
        s.cleanup();
      }
    });
  }

  test("an https:// client URL without a certificate fails the start with etcd's error", async () => {
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const err = await startServer({
      clientPort: port,
      extraArgs: [`--listen-client-urls=${url}`, `--advertise-client-urls=${url}`],
    }).then(
      async (p) => {
        await p.stop();
        p.cleanup();
        return "";
      },
      (e: unknown) => String(e),
    );
    assert.match(
      err,
      new RegExp(
        `TLS key/cert \\(--cert-file, --key-file\\) must be provided for client url ${url} with HTTPS scheme`,
      ),
    );
  });

  test("--auto-tls: a self-signed certificate in <data-dir>/fixtures/client, as etcd makes it", async () => {
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const args = [`--listen-client-urls=${url}`, `--advertise-client-urls=${url}`, "--auto-tls"];
    const s = await startServer({ clientPort: port, extraArgs: args });
    try {
      const insecure = ["--insecure-transport=false", "--insecure-skip-tls-verify"];
      const put = await etcdctl(url, [...insecure, "put", "auto", "tls"]);
      assert.equal(put.stdout, "OK\n", put.stderr);
      // Without skipping verification the self-signed certificate is not trusted.
      const strict = await etcdctl(url, [
        "--insecure-transport=false",
        "--dial-timeout=1s",
        "--command-timeout=2s",
        "get",
        "auto",
      ]);
      assert.equal(strict.code, 1);
      const { X509Certificate } = await import("node:crypto");
      const { readFileSync } = await import("node:fs");
      const cert = new X509Certificate(readFileSync(join(s.dataDir, "fixtures", "client", "cert.pem")));
      assert.equal(cert.subject, "O=etcd");
      assert.equal(cert.subjectAltName, "IP Address:127.0.0.1");
      assert.match(
        readFileSync(join(s.dataDir, "fixtures", "client", "key.pem"), "utf8"),
        /^-----BEGIN EC PRIVATE KEY-----/,
      );
    } finally {
      await s.stop();
      s.cleanup();
    }
  });
});
