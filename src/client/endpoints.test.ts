// Specifies replacing a client's endpoint set without a server: channels of endpoints still listed are kept,
// dropped ones are closed, the current endpoint stays current while listed, and duplicates collapse.
import assert from "node:assert/strict";
import { test } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { Client } from "./client.js";
import { Endpoint, EndpointPool, parseEndpoint } from "./endpoints.js";

const make = (name: string): Endpoint =>
  new Endpoint(parseEndpoint(name).address, credentials.createInsecure(), {});

function pool(names: string[]): EndpointPool {
  return new EndpointPool(names.map(make), make);
}

test("setEndpoints keeps the channels of endpoints still listed and closes the others", () => {
  const p = pool(["127.0.0.1:1", "127.0.0.1:2"]);
  try {
    const [a, b] = p.endpoints;
    assert.equal(p.setEndpoints(["http://127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:2"]), true);
    assert.deepEqual(
      p.endpoints.map((e) => e.address),
      ["127.0.0.1:2", "127.0.0.1:3"],
    );
    assert.equal(p.endpoints[0], b, "same Endpoint (same channel) for an address still listed");
    assert.ok(a!.closed && !b!.closed);
    assert.equal(p.setEndpoints(["127.0.0.1:2", "127.0.0.1:3"]), false, "unchanged");
    assert.throws(() => p.setEndpoints([]), TypeError);
  } finally {
    p.close();
  }
});

test("the current endpoint stays current while listed; otherwise the first of the new set is", () => {
  const p = pool(["127.0.0.1:1", "127.0.0.1:2"]);
  try {
    p.demote(p.endpoints[0]!); // moves on: the current endpoint is now :2
    assert.equal(p.current.address, "127.0.0.1:2");
    p.setEndpoints(["127.0.0.1:5", "127.0.0.1:4", "127.0.0.1:2"]);
    assert.equal(p.current.address, "127.0.0.1:2");
    p.setEndpoints(["127.0.0.1:6", "127.0.0.1:7"]);
    assert.equal(p.current.address, "127.0.0.1:6");
  } finally {
    p.close();
  }
});

test("an endpoint made for one member's call is adopted when it joins the set", () => {
  const p = pool(["127.0.0.1:1"]);
  try {
    const named = p.endpoint("127.0.0.1:9");
    p.setEndpoints(["127.0.0.1:1", "http://127.0.0.1:9"]);
    assert.equal(p.endpoints[1], named);
    p.setEndpoints(["127.0.0.1:1"]);
    assert.ok(named.closed);
    // Asking for it again makes a fresh one, since the old channel is closed.
    const again = p.endpoint("127.0.0.1:9");
    assert.notEqual(again, named);
    assert.ok(!again.closed);
  } finally {
    p.close();
  }
});

test("Client.setEndpoints and endpoints", async () => {
  const c = new Client({ endpoints: ["127.0.0.1:1", "127.0.0.1:2"] });
  try {
    c.setEndpoints(["http://127.0.0.1:1", "https://127.0.0.1:3"]);
    assert.deepEqual(c.endpoints, ["127.0.0.1:1", "127.0.0.1:3"]);
    assert.equal(c.activeEndpoint, "127.0.0.1:1");
  } finally {
    await c.close();
  }
});
