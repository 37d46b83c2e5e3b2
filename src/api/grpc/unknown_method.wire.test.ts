// Specifies what a client hears for a gRPC method or service the server does not serve: grpc-go's UNIMPLEMENTED
// texts, as etcd sends them (grpc-js's own text differs). Each path also goes to a real etcd 3.4, which must
// answer the same (Maintenance.Downgrade and Auth.AuthStatus are 3.5+ methods that etcd 3.4 does not serve).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client, credentials } from "@grpc/grpc-js";
import { hasEtcd, startPair } from "../../testing/differential.js";
import { type ServerProcess, startServer } from "../../testing/server_process.js";
import { unknownPathStatus } from "./grpc_compat.js";

function callRaw(endpoint: string, path: string): Promise<string> {
  const c = new Client(endpoint, credentials.createInsecure());
  return new Promise<string>((resolve) => {
    c.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      (err) => {
        c.close();
        resolve(err ? `${err.code} ${err.details}` : "ok");
      },
    );
  });
}

const CASES: [path: string, expected: string][] = [
  ["/etcdserverpb.Maintenance/Downgrade", "12 unknown method Downgrade for service etcdserverpb.Maintenance"],
  ["/etcdserverpb.KV/Nope", "12 unknown method Nope for service etcdserverpb.KV"],
  ["/etcdserverpb.Nope/Foo", "12 unknown service etcdserverpb.Nope"],
  ["/a/b/c", "12 unknown service a/b"],
  ["/nope", '8 malformed method name: "/nope"'],
];

test("unknownPathStatus gives grpc-go's codes and texts", () => {
  const known = (s: string): boolean => s === "a.B";
  assert.deepEqual(unknownPathStatus("/a.B/C", known), {
    code: 12,
    details: "unknown method C for service a.B",
  });
  assert.deepEqual(unknownPathStatus("/x.Y/C", known), { code: 12, details: "unknown service x.Y" });
  assert.deepEqual(unknownPathStatus("/a.B/C/D", known), { code: 12, details: "unknown service a.B/C" });
  assert.deepEqual(unknownPathStatus("nope", known), { code: 8, details: 'malformed method name: "nope"' });
});

describe("methods a server does not serve, through the wire", () => {
  let ours: ServerProcess;
  let stop: () => Promise<void>;
  let etcd: string | undefined;
  before(async () => {
    if (hasEtcd()) {
      const pair = await startPair();
      ours = pair.ours;
      etcd = pair.etcd.endpoint;
      stop = () => pair.stop();
    } else {
      ours = await startServer();
      stop = async () => {
        await ours.stop();
        ours.cleanup();
      };
    }
  });
  after(async () => stop?.());

  for (const [path, expected] of CASES) {
    test(`${path} → ${expected}`, async () => {
      assert.equal(await callRaw(ours.endpoint, path), expected);
      if (etcd) assert.equal(await callRaw(etcd, path), expected, "real etcd answers the same");
    });
  }
});
