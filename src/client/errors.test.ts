// Specifies how gRPC failures become typed errors: etcd's exact messages map to classes (clientv3's rpctypes).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CompactedError,
  DeadlineExceededError,
  EtcdError,
  LeaseNotFoundError,
  NoLeaderError,
  RequestTimeoutError,
  Status,
  toEtcdError,
  UnavailableError,
} from "./errors.js";

const wire = (code: Status, details: string) =>
  Object.assign(new Error(`${code} ${details}`), { code, details });

test("etcd's messages become typed errors carrying the code and the exact message", () => {
  const cases: Array<[Status, string, new (...a: never[]) => EtcdError]> = [
    [Status.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted", CompactedError],
    [Status.NOT_FOUND, "etcdserver: requested lease not found", LeaseNotFoundError],
    [Status.UNAVAILABLE, "etcdserver: no leader", NoLeaderError],
    [
      Status.UNAVAILABLE,
      "etcdserver: request timed out, possibly due to connection lost",
      RequestTimeoutError,
    ],
  ];
  for (const [code, message, Class] of cases) {
    const e = toEtcdError(wire(code, message));
    assert.ok(e instanceof Class, `${message} → ${Class.name}, got ${e.name}`);
    assert.equal(e.code, code);
    assert.equal(e.message, message);
  }
});

test("transport failures: never-sent is told apart from a dropped connection", () => {
  const refused = toEtcdError(
    wire(Status.UNAVAILABLE, "No connection established. Last error: ECONNREFUSED"),
  );
  assert.ok(refused instanceof UnavailableError && refused.neverSent);
  const dropped = toEtcdError(wire(Status.UNAVAILABLE, "Connection dropped"));
  assert.ok(dropped instanceof UnavailableError && !dropped.neverSent);
  assert.ok(
    toEtcdError(wire(Status.DEADLINE_EXCEEDED, "Deadline exceeded")) instanceof DeadlineExceededError,
  );
});

test("unknown messages stay plain EtcdError with their code", () => {
  const e = toEtcdError(wire(Status.UNKNOWN, "election: no leader"));
  assert.equal(e.constructor, EtcdError);
  assert.equal(e.code, Status.UNKNOWN);
  assert.equal(e.message, "election: no leader");
});
