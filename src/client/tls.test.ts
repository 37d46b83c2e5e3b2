// Specifies the client's TLS option against a server with certificates from a throwaway CA: an https://
// endpoint with the CA verifies the server, a client certificate passes --client-cert-auth, a wrong CA fails.
// Skipped on a server that does not serve TLS yet.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freePort } from "../testing/server_process.js";
import { Client } from "./client.js";
import { UnavailableError } from "./errors.js";
import { TestServer } from "./test_util.js";

/** A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in `dir`. */
function makeCerts(dir: string): void {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ssl(
    "req",
    "-x509",
    ...key,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=etcd-ts test CA",
  );
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const [name, cn] of [
    ["server", "127.0.0.1"],
    ["client", "root"],
  ] as const) {
    ssl("req", ...key, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    ssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
    );
  }
}

test("TLS: verified server, client certificate, wrong CA refused", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "etcd-ts-client-tls-"));
  let server: TestServer | undefined;
  try {
    makeCerts(dir);
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const f = (n: string) => join(dir, n);
    server = await TestServer.start([
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--cert-file=${f("server.crt")}`,
      `--key-file=${f("server.key")}`,
      "--client-cert-auth",
      `--trusted-ca-file=${f("ca.crt")}`,
    ]).catch((e: unknown) => {
      if (/not supported yet/.test(String(e))) return undefined;
      throw e;
    });
    if (!server) return t.skip("this server does not serve TLS yet");
    const read = (n: string) => readFileSync(f(n));
    const client = new Client({
      endpoints: [url],
      tls: { ca: read("ca.crt"), cert: read("client.crt"), key: read("client.key") },
    });
    try {
      await client.kv.put("tls/k", "v");
      assert.equal((await client.kv.get("tls/k")).count, 1n);
    } finally {
      await client.close();
    }
    // Without the CA, the server's certificate does not verify: no connection ever becomes ready.
    const stranger = new Client({ endpoints: [url], dialTimeoutMs: 1_000, tls: {} });
    await assert.rejects(stranger.kv.get("tls/k"), UnavailableError);
    await stranger.close();
  } finally {
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
