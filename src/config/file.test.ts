// Specifies --config-file: precedence over flags and env, etcd's key types and units, nested TLS, error texts.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { clusterString, parseConfig } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "etcd-ts-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const path = join(dir, `c${n++}.yaml`);
  writeFileSync(path, text);
  return path;
}

const BASE = `name: cf1
listen-client-urls: http://127.0.0.1:23791
advertise-client-urls: http://127.0.0.1:23791
listen-peer-urls: http://127.0.0.1:23801
initial-advertise-peer-urls: http://127.0.0.1:23801
`;

test("a config file replaces flags and environment entirely", () => {
  const path = file(`${BASE}heartbeat-interval: 50\nelection-timeout: 500\n`);
  const r = parseConfig([`--config-file=${path}`, "--name=ignored", "--heartbeat-interval=7"], {
    ETCD_NAME: "ignored-too",
    ETCD_BOGUS: "x",
  });
  assert.equal(r.config.name, "cf1");
  assert.equal(r.config.heartbeatIntervalMs, 50);
  assert.equal(r.config.electionTimeoutMs, 500);
  assert.equal(r.config.configFile, path);
  assert.equal(clusterString(r.config.initialCluster), "cf1=http://127.0.0.1:23801");
  assert.equal(r.config.dataDir, "cf1.etcd");
  assert.ok(!r.warnings.some((w) => w.includes("environment")), "env is not even looked at");
  assert.ok(r.info[0]!.startsWith("loaded server configuration"));
  assert.equal(r.config.raw.get("config-file"), path);
  // Flags must still be well-formed: etcd parses the command line before it looks at the file.
  assert.throws(() => parseConfig([`--config-file=${path}`, "--bogus"], {}), { kind: "usage" });
});

test("ETCD_CONFIG_FILE names the file when the flag does not", () => {
  const path = file(BASE);
  const r = parseConfig([], { ETCD_CONFIG_FILE: path, ETCD_NAME: "x" });
  assert.equal(r.config.name, "cf1");
  assert.equal(r.config.configFile, path);
});

test("file keys use etcd's Go types: durations in nanoseconds, timeouts in ms, lists for log outputs", () => {
  const path = file(`${BASE}
experimental-watch-progress-notify-interval: 5000000000
grpc-keepalive-min-time: 3000000000
log-outputs: [stderr, stdout]
max-txn-ops: 0x10
snapshot-count: 1.0
max-request-bytes: 1e3
pre-vote: no
initial-cluster-state: ""
auto-compaction-retention: "1h"
quota-backend-bytes: -1
`);
  const c = parseConfig([`--config-file=${path}`], {}).config;
  assert.equal(c.watchProgressNotifyIntervalMs, 5000);
  assert.equal(c.raw.get("grpc-keepalive-min-time"), 3_000_000_000n);
  assert.deepEqual(c.logOutputs, ["stderr", "stdout"]);
  assert.equal(c.maxTxnOps, 16);
  assert.equal(c.snapshotCount, 1);
  assert.equal(c.maxRequestBytes, 1000);
  assert.equal(c.preVote, false);
  assert.equal(c.initialClusterState, "new");
  assert.equal(c.autoCompactionMode, "periodic");
  assert.equal(c.autoCompactionRetention, 3_600_000);
  assert.equal(c.quotaBackendBytes, -1);
  assert.ok(c.setFlags.has("max-txn-ops"));
});

test("null keeps the default; JSON works; an empty file is all defaults", () => {
  assert.equal(
    parseConfig([`--config-file=${file(`${BASE}snapshot-count: ~\n`)}`], {}).config.snapshotCount,
    100000,
  );
  const json = file(
    JSON.stringify({
      name: "j",
      "listen-peer-urls": "http://127.0.0.1:23801",
      "initial-advertise-peer-urls": "http://127.0.0.1:23801",
    }),
  );
  assert.equal(parseConfig([`--config-file=${json}`], {}).config.name, "j");
  const empty = parseConfig([`--config-file=${file("")}`], {}).config;
  assert.equal(empty.name, "default");
  assert.deepEqual(
    empty.advertiseClientUrls.map((u) => u.goString),
    ["http://localhost:2379"],
  );
});

test("nested transport security maps onto the TLS flags; unknown keys are warned about", () => {
  const path = file(`${BASE}
client-transport-security:
  cert-file: /c.crt
  client-cert-auth: true
  allowed-hostname: [a, b]
peer-transport-security:
  trusted-ca-file: /ca.crt
  skip-client-san-verification: true
  crl-file: /x
cert-file: /top-level-is-ignored
bogus-key: 1
`);
  const r = parseConfig([`--config-file=${path}`], {});
  assert.equal(r.config.raw.get("cert-file"), "/c.crt");
  assert.equal(r.config.raw.get("client-cert-auth"), true);
  assert.equal(r.config.raw.get("client-cert-allowed-hostname"), "a,b");
  assert.equal(r.config.raw.get("peer-trusted-ca-file"), "/ca.crt");
  assert.equal(r.config.raw.get("experimental-peer-skip-client-san-verification"), true);
  for (const w of [
    'unrecognized config file key "bogus-key"; ignored',
    'unrecognized config file key "cert-file"; ignored',
    'unrecognized config file key "peer-transport-security.crl-file"; ignored',
    "flag not supported yet by etcd-ts; ignored: --client-cert-allowed-hostname (from config file)",
    "flag not supported yet by etcd-ts; ignored: --experimental-peer-skip-client-san-verification (from config file)",
  ]) {
    assert.ok(r.warnings.includes(w), w);
  }
});

test("file errors carry etcd's text", () => {
  const pre = "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal";
  const cases: { extra: string; kind?: string; msg: string }[] = [
    {
      extra: "grpc-keepalive-min-time: 3s",
      msg: `${pre} string into Go struct field configYAML.grpc-keepalive-min-time of type time.Duration`,
    },
    {
      extra: "log-outputs: stderr",
      msg: `${pre} string into Go struct field configYAML.log-outputs of type []string`,
    },
    {
      extra: 'heartbeat-interval: "50"',
      msg: `${pre} string into Go struct field configYAML.heartbeat-interval of type uint`,
    },
    {
      extra: "election-timeout: 1.5",
      msg: `${pre} number 1.5 into Go struct field configYAML.election-timeout of type uint`,
    },
    {
      extra: "heartbeat-interval: -5",
      msg: `${pre} number -5 into Go struct field configYAML.heartbeat-interval of type uint`,
    },
    {
      extra: "quota-backend-bytes: 99999999999999999999",
      msg: `${pre} number 100000000000000000000 into Go struct field configYAML.quota-backend-bytes of type int64`,
    },
    { extra: 'pre-vote: "true"', msg: `${pre} string into Go struct field configYAML.pre-vote of type bool` },
    { extra: "name: 5", msg: `${pre} number into Go struct field configYAML.name of type string` },
    {
      extra: "listen-client-urls: [http://127.0.0.1:23791]",
      msg: `${pre} array into Go struct field configYAML.listen-client-urls of type string`,
    },
    {
      extra: "client-transport-security: 5",
      msg: `${pre} number into Go struct field configYAML.client-transport-security of type embed.securityConfig`,
    },
    {
      extra: "peer-transport-security: {cert-file: {a: 1}}",
      msg: `${pre} object into Go struct field securityConfig.peer-transport-security.cert-file of type string`,
    },
    {
      extra: "proxy-dial-timeout: x",
      msg: `${pre} string into Go struct field configProxy.proxy-dial-timeout of type uint`,
    },
    { extra: "initial-cluster-state: foo", msg: 'unexpected clusterState "foo"' },
    // The parser differs from go-yaml, so only the shape of a syntax error matches etcd.
    { extra: "this is: [bad", msg: "error converting YAML to JSON: yaml: line " },
    {
      extra: "listen-client-urls: http://127.0.0.1",
      kind: "fatal",
      msg: 'unexpected error setting up listen-client-urls: URL address does not have the form "host:port": http://127.0.0.1',
    },
    {
      extra: "advertise-client-urls: ftp://x:1",
      kind: "fatal",
      msg: "unexpected error setting up advertise-peer-urls: URL scheme must be http, https, unix, or unixs: ftp://x:1",
    },
    { extra: "proxy: bogus", kind: "fatal", msg: "unexpected error setting up proxyFlag: invalid value" },
  ];
  for (const c of cases) {
    const path = file(`${BASE}logger: zap\n${c.extra}\n`);
    assert.throws(
      () => parseConfig([`--config-file=${path}`], {}),
      (e: Error & { kind: string }) => {
        assert.equal(e.kind, c.kind ?? "verify", c.extra);
        assert.ok(
          c.msg.endsWith(" ") ? e.message.startsWith(c.msg) : e.message === c.msg,
          `${c.extra}: ${e.message}`,
        );
        return true;
      },
    );
  }
  assert.throws(() => parseConfig(["--config-file=/nonexistent/etcd.yaml"], {}), {
    kind: "verify",
    message: "open /nonexistent/etcd.yaml: no such file or directory",
  });
  assert.throws(() => parseConfig([`--config-file=${file("- a\n- b\n")}`], {}), {
    message: `${pre} array into Go value of type embed.configYAML`,
  });
});

test("in a file, an explicit listen-client-urls keeps the default advertise URL (no flag-mode rule)", () => {
  const path = file("listen-client-urls: http://127.0.0.1:23791\n");
  const c = parseConfig([`--config-file=${path}`], {}).config;
  assert.deepEqual(
    c.advertiseClientUrls.map((u) => u.goString),
    ["http://localhost:2379"],
  );
});
