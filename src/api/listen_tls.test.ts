// Specifies a TLS client listener in-process: HTTP/1.1 is sniffed after the handshake, the verified client
// certificate is known by the connection's peer address, and a client without a certificate is refused.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Server as GrpcServer, ServerCredentials } from "@grpc/grpc-js";
import { makeTestCerts, type TestCerts } from "../testing/certs.js";
import { createClientListener, verifiedPeerCertificate } from "./listen.js";

describe("TLS client listener", () => {
  let dir: string;
  let certs: TestCerts;
  let port: number;
  const rejected: string[] = [];
  const grpc = new GrpcServer();
  const injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
  const http = createHttpServer((req, res) => {
    const cert = verifiedPeerCertificate(`${req.socket.remoteAddress}:${req.socket.remotePort}`);
    res.end(cert ? `CN=${cert.subject.CN}` : "none");
  });
  let listener: ReturnType<typeof createClientListener>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "etcd-ts-listen-tls-"));
    certs = await makeTestCerts(dir, "alice");
    listener = createClientListener({
      grpc: injector,
      http,
      tls: {
        get initial() {
          return {
            cert: readFileSync(certs.server.certFile),
            key: readFileSync(certs.server.keyFile),
            ca: certs.ca.caPem,
          };
        },
        refresh: async () => undefined,
        requestCert: true,
        certIdentity: true,
        onRejected: (_remote, err) => rejected.push(err.message),
      },
    });
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", () => r()));
    port = (listener.address() as { port: number }).port;
  });
  after(() => {
    listener.close();
    injector.destroy();
    http.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (opts: { cert?: string; key?: string }): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/",
          ca: certs.ca.caPem,
          agent: false,

          ...opts,
        },
        (res) => {
          let body = "";
          res.on("data", (d: Buffer) => {
            body += d.toString();
          });
          res.on("end", () => resolve(body));
        },
      );
      req.on("error", reject);
      req.end();
    });

  test("HTTP/1.1 over TLS, with the client certificate's CN known by peer address", async () => {
    assert.equal(await get({ cert: certs.client.certPem, key: certs.client.keyPem }), "CN=alice");
  });

  test("no client certificate: the connection is refused and the reason logged", async () => {
    await assert.rejects(get({}));
    assert.ok(rejected.includes("tls: client didn't provide a certificate"), rejected.join("; "));
  });
});
