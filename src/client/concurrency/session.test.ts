// Specifies Session against a real server: lease granted or adopted, done on loss, close revokes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "../client.js";
import { LeaseLostError } from "../errors.js";
import { TestServer, within } from "../test_util.js";
import { DEFAULT_SESSION_TTL, Session } from "./index.js";

describe("concurrency session", () => {
  let server: TestServer;
  let client: Client;
  before(async () => {
    server = await TestServer.start();
    client = await Client.connect({ endpoints: [server.endpoint] });
  });
  after(async () => {
    await client?.close();
    await server?.dispose();
  });

  test("grants a 60 s lease by default; close revokes it and ends done", async () => {
    const s = await Session.create(client);
    assert.equal((await client.lease.timeToLive(s.lease)).grantedTTL, BigInt(DEFAULT_SESSION_TTL));
    await s.close();
    assert.equal(await within(s.done, "done after close"), undefined);
    assert.equal((await client.lease.timeToLive(s.lease)).TTL, -1n);
  });

  test("adopts a given lease; done resolves with LeaseLostError when it is revoked elsewhere", async () => {
    const { ID } = await client.lease.grant(30);
    const s = await Session.create(client, { lease: ID });
    assert.equal(s.lease, ID);
    await client.lease.revoke(ID);
    assert.ok((await within(s.done, "done after revoke")) instanceof LeaseLostError);
    await s.close(); // revoking a gone lease is fine
  });
});
