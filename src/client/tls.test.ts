// Specifies the client's TLS option against a server with certificates from a throwaway CA: an https://
// endpoint with the CA verifies the server, a client certificate passes --client-cert-auth, a wrong CA fails.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { makeTestCerts } from "../testing/certs.js";
import { freePort } from "../testing/server_process.js";
import { Client } from "./client.js";
import { UnavailableError } from "./errors.js";
import { TestServer } from "./test_util.js";

test("TLS: verified server, client certificate, wrong CA refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "etcd-ts-client-tls-"));
  let server: TestServer | undefined;
  try {
    const certs = await makeTestCerts(dir);
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    server = await TestServer.start([
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--cert-file=${certs.server.certFile}`,
      `--key-file=${certs.server.keyFile}`,
      "--client-cert-auth",
      `--trusted-ca-file=${certs.ca.caFile}`,
    ]);
    const client = new Client({
      endpoints: [url],
      tls: { ca: certs.ca.caPem, cert: certs.client.certPem, key: certs.client.keyPem },
    });
    try {
      await client.kv.put("tls/k", "v");
      assert.equal((await client.kv.get("tls/k")).count, 1n);
    } finally {
      await client.close();
    }
    // The CA but no client certificate: --client-cert-auth refuses the connection.
    const anonymous = new Client({ endpoints: [url], dialTimeoutMs: 1_000, tls: { ca: certs.ca.caPem } });
    await assert.rejects(anonymous.kv.get("tls/k"), UnavailableError);
    await anonymous.close();
    const stranger = new Client({ endpoints: [url], dialTimeoutMs: 1_000, tls: {} });
    await assert.rejects(stranger.kv.get("tls/k"), UnavailableError);
    await stranger.close();
  } finally {
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
