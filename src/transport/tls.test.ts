// Specifies peer TLS: https:// peer URLs with mutual certificate auth carry streams and snapshots.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { msg } from "../raft/types.js";
import { makeTestCerts } from "../testing/certs.js";
import type { PeerTlsOptions } from "./http.js";
import { heartbeat, startMembers, TestMember } from "./test_util.js";

describe("peer TLS", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "etcd-ts-peer-tls-"));
  const open: TestMember[] = [];
  let tls: PeerTlsOptions;
  before(async () => {
    // One certificate for 127.0.0.1 usable as server and client, as a member's --peer-cert-file is.
    const c = await makeTestCerts(dir);
    tls = { ca: c.ca.caPem, cert: c.server.certPem, key: c.server.keyPem, clientCertAuth: true };
  });
  after(async () => {
    await Promise.all(open.map((m) => m.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("carries messages and a snapshot between members with client-cert auth", async () => {
    const [a, b] = await startMembers([1n, 2n], () => ({ tls }));
    open.push(a!, b!);
    assert.ok(a!.url.startsWith("https://"));
    a!.transport.send([heartbeat(1n, 2n, 1)]);
    b!.transport.send([heartbeat(2n, 1n, 2)]);
    await b!.waitFor(() => b!.received.length === 1, "a message over TLS");
    await a!.waitFor(() => a!.received.length === 1, "a message over TLS");
    const snap = msg({
      type: "MsgSnap",
      from: 1n,
      to: 2n,
      snapshot: {
        data: new Uint8Array(0),
        metadata: { index: 9n, term: 1n, confState: { voters: [1n, 2n], learners: [] } },
      },
    });
    assert.equal(await a!.transport.sendSnapshot(2n, snap, [new Uint8Array(300_000)]), "Finish");
  });

  it("refuses a peer without a client certificate", async () => {
    const [b] = await startMembers([12n], () => ({ tls }));
    open.push(b!);
    const anon = new TestMember(11n, { tls: { ca: tls.ca } });
    open.push(anon);
    await anon.listen();
    b!.transport.addPeer(11n, [anon.url]); // known to b: only the missing certificate keeps it out
    anon.init(new Map([[12n, [b!.url]]]));
    anon.transport.start();
    anon.transport.send([heartbeat(11n, 12n, 1)]);
    await anon.waitFor(() => anon.unreachable.includes(12n), "an unreachable report");
    assert.equal(anon.transport.activeSince(12n), undefined);
    assert.deepStrictEqual(b!.received, []);
  });
});
