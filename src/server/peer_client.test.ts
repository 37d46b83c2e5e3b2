// Specifies the peer API's member list JSON: byte for byte what etcd 3.4's GET /members answers, 64-bit IDs exact.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { membersFromJson, membersToJson } from "./peer_client.js";

describe("GET /members JSON", () => {
  test("is etcd's: the ID a plain uint64, empty fields left out, in etcd's field order", () => {
    const members = [
      {
        id: 10276657743932975437n,
        name: "default",
        peerURLs: ["http://localhost:2380"],
        clientURLs: ["http://127.0.0.1:41379"],
        isLearner: false,
      },
      { id: 5n, name: "", peerURLs: ["http://127.0.0.1:2"], clientURLs: [], isLearner: true },
    ];
    const text = membersToJson(members);
    // The first item as etcd 3.4.23 printed it for the same member.
    assert.equal(
      text,
      '[{"id":10276657743932975437,"peerURLs":["http://localhost:2380"],"name":"default","clientURLs":["http://127.0.0.1:41379"]},' +
        '{"id":5,"peerURLs":["http://127.0.0.1:2"],"isLearner":true}]',
    );
    assert.deepEqual(membersFromJson(text), members);
  });
});
