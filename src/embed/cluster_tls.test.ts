// Specifies peer TLS end to end: three etcd-ts processes with https:// peer URLs and --peer-client-cert-auth elect a
// leader and replicate a write; the peer port refuses a client without a certificate from the trusted CA.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { makeTestCerts } from "../testing/certs.js";
import { etcdctl, hasEtcdctl } from "../testing/etcdctl.js";
import { freePort, type SpawnedServer, spawnServer } from "../testing/server_process.js";

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
}

async function members(n: number, root: string): Promise<Member[]> {
  const out: Member[] = [];
  for (let i = 1; i <= n; i++) {
    out.push({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
      peerUrl: `https://127.0.0.1:${await freePort()}`,
      dataDir: join(root, `m${i}`),
    });
  }
  return out;
}

function memberArgs(m: Member, all: readonly Member[], tls: string[]): string[] {
  return [
    `--name=${m.name}`,
    `--data-dir=${m.dataDir}`,
    `--listen-client-urls=${m.clientUrl}`,
    `--advertise-client-urls=${m.clientUrl}`,
    `--listen-peer-urls=${m.peerUrl}`,
    `--initial-advertise-peer-urls=${m.peerUrl}`,
    `--initial-cluster=${all.map((x) => `${x.name}=${x.peerUrl}`).join(",")}`,
    "--initial-cluster-token=tls-cluster",
    "--heartbeat-interval=50",
    "--election-timeout=500",
    ...tls,
  ];
}

describe("a 3-member cluster over https:// peer URLs", {
  skip: hasEtcdctl() ? false : "etcdctl is not installed",
}, () => {
  const root = mkdtempSync(join(tmpdir(), "etcd-ts-peer-tls-"));
  const running: SpawnedServer[] = [];
  after(async () => {
    await Promise.all(running.map((p) => p.stop()));
    rmSync(root, { recursive: true, force: true });
  });

  test("with --peer-client-cert-auth: elects a leader and replicates a write", async () => {
    const certs = await makeTestCerts(root);
    const tls = [
      `--peer-cert-file=${certs.server.certFile}`,
      `--peer-key-file=${certs.server.keyFile}`,
      `--peer-trusted-ca-file=${certs.ca.caFile}`,
      "--peer-client-cert-auth",
    ];
    const ms = await members(3, root);
    running.push(...(await Promise.all(ms.map((m) => spawnServer({ args: memberArgs(m, ms, tls) })))));

    const put = await etcdctl(ms[0]!.clientUrl, ["put", "peer/tls", "replicated"]);
    assert.equal(put.stdout, "OK\n", put.stderr);
    for (const m of ms) {
      const get = await etcdctl(m.clientUrl, ["get", "peer/tls", "--print-value-only"]);
      assert.equal(get.stdout, "replicated\n", `${m.name}: ${get.stderr}`);
    }
    const status = await etcdctl(ms[2]!.clientUrl, ["endpoint", "status", "--cluster", "-w", "json"]);
    const leaders = new Set(
      (JSON.parse(status.stdout) as { Status: { leader: number } }[]).map((s) => String(s.Status.leader)),
    );
    assert.equal(leaders.size, 1, status.stdout);

    // The peer port itself: GET /members needs a client certificate from the trusted CA.
    const getMembers = (opts: { cert?: string; key?: string }): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpsGet(
          `${ms[0]!.peerUrl}/members`,
          { ca: certs.ca.caPem, agent: false, ...opts },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
      });
    assert.equal(await getMembers({ cert: certs.client.certPem, key: certs.client.keyPem }), 200);
    await assert.rejects(getMembers({}));
  });

  test("with --peer-auto-tls: each member makes its own certificate and they trust each other", async () => {
    const ms = await members(3, join(root, "auto"));
    const procs = await Promise.all(
      ms.map((m) => spawnServer({ args: memberArgs(m, ms, ["--peer-auto-tls"]) })),
    );
    running.push(...procs);
    const put = await etcdctl(ms[1]!.clientUrl, ["put", "peer/auto", "yes"]);
    assert.equal(put.stdout, "OK\n", put.stderr);
    const get = await etcdctl(ms[2]!.clientUrl, ["get", "peer/auto", "--print-value-only"]);
    assert.equal(get.stdout, "yes\n", get.stderr);
    for (const p of procs) assert.match(p.logs(), /"msg":"created cert file"/);
  });
});
