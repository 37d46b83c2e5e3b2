// Specifies ETCD_* variables: mapping to flags, the shadowing conflict, unknown-variable warnings, bad values.
import assert from "node:assert/strict";
import { test } from "node:test";
import { flagToEnv, parseConfig } from "./index.js";

const LOCAL = [
  "--listen-client-urls=http://127.0.0.1:23790",
  "--advertise-client-urls=http://127.0.0.1:23790",
  "--listen-peer-urls=http://127.0.0.1:23800",
  "--initial-advertise-peer-urls=http://127.0.0.1:23800",
];

test("flag names map to ETCD_ variables", () => {
  assert.equal(flagToEnv("name"), "ETCD_NAME");
  assert.equal(
    flagToEnv("experimental-watch-progress-notify-interval"),
    "ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL",
  );
  assert.equal(flagToEnv("test.coverprofile"), "ETCD_TEST.COVERPROFILE");
});

test("variables set flags the command line leaves alone", () => {
  const r = parseConfig(LOCAL, {
    ETCD_NAME: "envname",
    ETCD_HEARTBEAT_INTERVAL: "50",
    ETCD_ELECTION_TIMEOUT: "500",
    ETCD_PRE_VOTE: "false",
    ETCD_SNAPSHOT_COUNT: "0x10",
    PATH: "/usr/bin",
  });
  assert.equal(r.config.name, "envname");
  assert.equal(r.config.heartbeatIntervalMs, 50);
  assert.equal(r.config.electionTimeoutMs, 500);
  assert.equal(r.config.preVote, false);
  assert.equal(r.config.snapshotCount, 16);
  assert.ok(r.info.includes("recognized and used environment variable ETCD_NAME=envname"));
  assert.ok(r.config.setFlags.has("name"));
  assert.equal(r.warnings.filter((w) => w.includes("environment")).length, 0);
});

test("a variable shadowed by its command-line flag is fatal, even when empty", () => {
  for (const val of ["other", ""]) {
    assert.throws(() => parseConfig(["--name=x", ...LOCAL], { ETCD_NAME: val }), {
      kind: "fatal",
      message:
        'conflicting environment variable "ETCD_NAME" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)',
    });
  }
});

test("unknown and empty ETCD_ variables are warned about; etcd's special ones are not", () => {
  const r = parseConfig(LOCAL, {
    ETCD_FOO: "1",
    ETCD_DATA_DIR: "",
    ETCD_name: "lower",
    ETCD_UNSUPPORTED_ARCH: "arm64",
    ETCD_VERIFY: "all",
    ETCDCTL_API: "3",
    HOME: "/root",
  });
  assert.deepEqual(
    r.warnings.filter((w) => w.includes("environment variable")),
    [
      "unrecognized environment variable ETCD_FOO=1",
      "unrecognized environment variable ETCD_DATA_DIR=",
      "unrecognized environment variable ETCD_name=lower",
    ],
  );
});

test("ETCD_VERSION is refused like etcd 3.5, not treated as --version", () => {
  const r = parseConfig(LOCAL, { ETCD_VERSION: "true" });
  assert.equal(r.action, "run");
  assert.ok(r.warnings.includes("cannot set special environment variable ETCD_VERSION=true"));
});

test("bad values fail verification naming the variable; etcd reports the last in flag-name order", () => {
  assert.throws(() => parseConfig(LOCAL, { ETCD_SNAPSHOT_COUNT: "abc" }), {
    kind: "verify",
    message: 'invalid value "abc" for ETCD_SNAPSHOT_COUNT: parse error',
  });
  assert.throws(() => parseConfig(LOCAL, { ETCD_PRE_VOTE: "yes", ETCD_MAX_WALS: "x" }), {
    message: 'invalid value "yes" for ETCD_PRE_VOTE: parse error',
  });
  assert.throws(() => parseConfig([], { ETCD_LISTEN_PEER_URLS: "ftp://x:1" }), {
    message:
      'invalid value "ftp://x:1" for ETCD_LISTEN_PEER_URLS: URL scheme must be http, https, unix, or unixs: ftp://x:1',
  });
  // The shadowing conflict is checked first.
  assert.throws(() => parseConfig(["--name=a"], { ETCD_NAME: "b", ETCD_MAX_WALS: "x" }), { kind: "fatal" });
});

test("an explicit listen URL from the environment also drops the default advertise URL", () => {
  assert.throws(() => parseConfig([], { ETCD_LISTEN_CLIENT_URLS: "http://127.0.0.1:23790" }), {
    message: "--advertise-client-urls is required when --listen-client-urls is set explicitly",
  });
});
