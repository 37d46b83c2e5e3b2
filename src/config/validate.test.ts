// Specifies etcd's validation messages and derived defaults (data-dir, initial-cluster, advertise URLs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { clusterString, defaultConfig, effectiveQuotaBackendBytes, parseConfig } from "./index.js";

const LOCAL = [
  "--listen-client-urls=http://127.0.0.1:23790",
  "--advertise-client-urls=http://127.0.0.1:23790",
  "--listen-peer-urls=http://127.0.0.1:23800",
  "--initial-advertise-peer-urls=http://127.0.0.1:23800",
  "--initial-cluster=default=http://127.0.0.1:23800",
];

test("validation errors carry etcd's exact text", () => {
  const cases: { argv: string[]; kind?: string; msg: string }[] = [
    {
      argv: ["--election-timeout=400"],
      msg: "--election-timeout[400ms] should be at least as 5 times as --heartbeat-interval[100ms]",
    },
    {
      argv: ["--heartbeat-interval=1000", "--election-timeout=60000"],
      msg: "--election-timeout[60000ms] is too long, and should be set less than 50000ms",
    },
    { argv: ["--heartbeat-interval=0"], msg: "--heartbeat-interval must be >0 (set to 0ms)" },
    { argv: ["--election-timeout=0"], msg: "--election-timeout must be >0 (set to 0ms)" },
    { argv: ["--auto-compaction-mode=foo"], msg: 'unknown auto-compaction-mode "foo"' },
    { argv: ["--logger=foo"], msg: 'unknown logger option "foo"' },
    { argv: ["--log-level=DEBUG"], msg: 'unknown level "DEBUG"' },
    { argv: ["--log-outputs=stdout,default"], msg: 'multi logoutput for "default" is not supported yet' },
    {
      argv: ["--log-outputs=systemd/journal,stderr"],
      msg: `running with systemd/journal but other '--log-outputs' values (["stderr" "systemd/journal"]) are configured with 'default'; override 'default' value with something else`,
    },
    {
      argv: ["--logger=capnslog", "--log-outputs=stdout,stderr"],
      msg: `--logger=capnslog supports only 1 value in '--log-outputs', got ["stderr" "stdout"]`,
    },
    {
      argv: ["--logger=capnslog", "--log-outputs=/tmp/x.log"],
      msg: 'unknown log-output "/tmp/x.log" (only supports "default", "stderr", "stdout")',
    },
    {
      argv: ["--listen-client-urls=http://example.com:23790"],
      msg: "expected IP in URL for binding (http://example.com:23790)",
    },
    { argv: ["--listen-peer-urls=http://:23800"], msg: "expected IP in URL for binding (http://:23800)" },
    {
      argv: ["--advertise-client-urls=http://:2379"],
      msg: '--advertise-client-urls "http://:2379" must be "host:port" (unexpected empty host (http://:2379))',
    },
    {
      argv: ["--initial-advertise-peer-urls=http://:2380"],
      msg: '--initial-advertise-peer-urls "http://:2380" must be "host:port" (unexpected empty host (http://:2380))',
    },
    {
      argv: ["--discovery=http://d:1", "--discovery-srv=example.com"],
      msg: 'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"',
    },
    {
      argv: ["--auto-compaction-retention=abc"],
      kind: "fatal",
      msg: 'error parsing CompactionRetention: time: invalid duration "abc"',
    },
    {
      argv: ["--auto-compaction-retention=-1"],
      kind: "fatal",
      msg: 'error parsing CompactionRetention: time: missing unit in duration "-1"',
    },
    {
      argv: ["--initial-cluster=foo"],
      kind: "fatal",
      msg: "error setting up initial cluster: URL scheme must be http, https, unix, or unixs: ",
    },
    {
      argv: ["--initial-cluster=default=ftp://x:1"],
      kind: "fatal",
      msg: "error setting up initial cluster: URL scheme must be http, https, unix, or unixs: ftp://x:1",
    },
  ];
  for (const c of cases) {
    assert.throws(
      () => parseConfig([...LOCAL, ...c.argv], {}),
      { kind: c.kind ?? "verify", message: c.msg },
      c.argv.join(" "),
    );
  }
});

test("an explicit --listen-client-urls needs --advertise-client-urls, unless this may become a v2 proxy", () => {
  const listen = ["--listen-client-urls=http://127.0.0.1:23790", "--listen-peer-urls=http://127.0.0.1:23800"];
  assert.throws(
    () => parseConfig(listen, {}),
    (e: Error & { hint?: string }) => {
      assert.equal(
        e.message,
        "--advertise-client-urls is required when --listen-client-urls is set explicitly",
      );
      assert.equal(
        e.hint,
        "When listening on specific address(es), this etcd process must advertise accessible url(s) to each connected client.",
      );
      return true;
    },
  );
  const proxy = parseConfig([...listen, "--proxy=on"], {}).config;
  assert.deepEqual(
    proxy.advertiseClientUrls.map((u) => u.goString),
    ["http://localhost:2379"],
  );
  // Setting the default value explicitly still counts as explicit.
  assert.throws(() => parseConfig(["--listen-client-urls=http://localhost:2379"], {}), { kind: "verify" });
});

test("defaults derived from --name: data dir and initial cluster", () => {
  const cases: { argv: string[]; dataDir: string; cluster: string }[] = [
    { argv: [], dataDir: "default.etcd", cluster: "default=http://localhost:2380" },
    { argv: ["--name=foo"], dataDir: "foo.etcd", cluster: "foo=http://localhost:2380" },
    {
      argv: ["--name=foo", "--initial-advertise-peer-urls=http://127.0.0.1:2,http://127.0.0.1:1"],
      dataDir: "foo.etcd",
      cluster: "foo=http://127.0.0.1:1,foo=http://127.0.0.1:2",
    },
    // With the default name, etcd keeps the default cluster (the bootstrap check then reports the mismatch).
    {
      argv: ["--initial-advertise-peer-urls=http://127.0.0.1:2"],
      dataDir: "default.etcd",
      cluster: "default=http://localhost:2380",
    },
    { argv: ["--name=foo", "--initial-cluster=a=http://h:1"], dataDir: "foo.etcd", cluster: "a=http://h:1" },
    { argv: ["--name=foo", "--data-dir=/var/x"], dataDir: "/var/x", cluster: "foo=http://localhost:2380" },
    { argv: ["--discovery-srv=example.com"], dataDir: "default.etcd", cluster: "" },
  ];
  for (const c of cases) {
    const r = parseConfig(c.argv, {});
    assert.equal(r.config.dataDir, c.dataDir, c.argv.join(" "));
    assert.equal(clusterString(r.config.initialCluster), c.cluster, c.argv.join(" "));
    assert.equal(r.config.raw.get("initial-cluster"), c.cluster);
    const warned = r.warnings.includes(`no data-dir provided, using default data-dir ./${c.dataDir}`);
    assert.equal(warned, !c.argv.some((a) => a.startsWith("--data-dir")), c.argv.join(" "));
  }
});

test("a listen address of 0.0.0.0 advertises the machine's default host when advertise URLs are defaults", () => {
  const r = parseConfig(
    ["--listen-peer-urls=http://0.0.0.0:2380", "--name=n1"],
    {},
    { defaultHost: "10.1.2.3" },
  );
  assert.deepEqual(
    r.config.initialAdvertisePeerUrls.map((u) => u.goString),
    ["http://10.1.2.3:2380"],
  );
  assert.equal(clusterString(r.config.initialCluster), "n1=http://10.1.2.3:2380");
  const noHost = parseConfig(["--listen-peer-urls=http://0.0.0.0:2380"], {});
  assert.deepEqual(
    noHost.config.initialAdvertisePeerUrls.map((u) => u.goString),
    ["http://localhost:2380"],
  );
});

test("auto-compaction retention: hours by default, durations, revisions", () => {
  const cases: { argv: string[]; mode: string; retention: number }[] = [
    { argv: [], mode: "periodic", retention: 0 },
    { argv: ["--auto-compaction-retention=5"], mode: "periodic", retention: 5 * 3_600_000 },
    { argv: ["--auto-compaction-retention=30m"], mode: "periodic", retention: 1_800_000 },
    {
      argv: ["--auto-compaction-mode=revision", "--auto-compaction-retention=1000"],
      mode: "revision",
      retention: 1000,
    },
    // etcd reads a duration in revision mode as that many nanoseconds' worth of revisions.
    {
      argv: ["--auto-compaction-mode=revision", "--auto-compaction-retention=1us"],
      mode: "revision",
      retention: 1000,
    },
    {
      argv: ["--auto-compaction-mode=", "--auto-compaction-retention=2"],
      mode: "periodic",
      retention: 7_200_000,
    },
  ];
  for (const c of cases) {
    const { config } = parseConfig(c.argv, {});
    assert.equal(config.autoCompactionMode, c.mode, c.argv.join(" "));
    assert.equal(config.autoCompactionRetention, c.retention, c.argv.join(" "));
  }
});

test("defaults match etcd 3.4 (pre-vote and logger as etcd 3.5+)", () => {
  const c = defaultConfig();
  assert.equal(c.name, "default");
  assert.deepEqual(c.listenClientUrls.map(String), ["http://localhost:2379"]);
  assert.equal(c.listenClientUrls[0]!.href, "http://localhost:2379/");
  assert.equal(JSON.stringify(c.listenClientUrls), '["http://localhost:2379"]');
  assert.deepEqual(
    c.listenClientUrls.map((u) => u.goString),
    ["http://localhost:2379"],
  );
  assert.deepEqual(
    c.advertiseClientUrls.map((u) => u.goString),
    ["http://localhost:2379"],
  );
  assert.deepEqual(
    c.listenPeerUrls.map((u) => u.goString),
    ["http://localhost:2380"],
  );
  assert.deepEqual(c.listenMetricsUrls, []);
  assert.equal(c.initialClusterState, "new");
  assert.equal(c.initialClusterToken, "etcd-cluster");
  assert.equal(c.snapshotCount, 100000);
  assert.equal(c.heartbeatIntervalMs, 100);
  assert.equal(c.electionTimeoutMs, 1000);
  assert.equal(c.maxRequestBytes, 1572864);
  assert.equal(c.maxTxnOps, 128);
  assert.equal(c.quotaBackendBytes, 0);
  assert.equal(c.maxSnapshots, 5);
  assert.equal(c.maxWals, 5);
  assert.equal(c.logLevel, "info");
  assert.equal(c.logger, "zap");
  assert.deepEqual(c.logOutputs, ["default"]);
  assert.equal(c.preVote, true);
  assert.equal(c.strictReconfigCheck, true);
  assert.equal(c.initialElectionTickAdvance, true);
  assert.equal(c.enableGrpcGateway, true);
  assert.equal(c.unsafeNoFsync, false);
  assert.equal(c.compactionBatchLimit, 1000);
  assert.equal(c.watchProgressNotifyIntervalMs, 600_000);
  assert.equal(c.configFile, undefined);
  assert.equal(c.raw.get("grpc-keepalive-min-time"), 5_000_000_000n);
  assert.equal(c.setFlags.size, 0);
  assert.ok(Object.isFrozen(c));
});

test("defaultConfig takes flag-name overrides through the same parsing", () => {
  const c = defaultConfig({
    name: "n1",
    "data-dir": "/tmp/n1",
    "listen-client-urls": [new URL("http://127.0.0.1:0")],
    "advertise-client-urls": "http://127.0.0.1:0",
    "heartbeat-interval": 10,
    "election-timeout": 50,
    "unsafe-no-fsync": true,
    "compaction-batch-limit": 5,
    "watch-progress-notify-interval": "1s",
  });
  assert.equal(c.name, "n1");
  assert.equal(c.dataDir, "/tmp/n1");
  assert.equal(c.listenClientUrls[0]!.goString, "http://127.0.0.1:0");
  assert.equal(c.heartbeatIntervalMs, 10);
  assert.equal(c.unsafeNoFsync, true);
  assert.equal(c.compactionBatchLimit, 5);
  assert.equal(c.watchProgressNotifyIntervalMs, 1000);
  // The experimental spelling wins when both are given, as in etcd 3.6.
  const both = defaultConfig({ "experimental-compaction-batch-limit": 7, "compaction-batch-limit": 5 });
  assert.equal(both.compactionBatchLimit, 7);
  assert.throws(() => defaultConfig({ "election-timeout": 1 }), { kind: "verify" });
  assert.throws(() => defaultConfig({ nope: 1 }), { message: "flag provided but not defined: -nope" });
});

test("unsupported flags are accepted and reported, never silently ignored", () => {
  const r = parseConfig(
    [...LOCAL, "--peer-cert-allowed-cn=c", "--enable-v2=false", "--auth-token=simple", "--metrics=extensive"],
    {
      ETCD_DISCOVERY_PASSWORD: "secret",
    },
  );
  const unsupported = r.warnings.filter((w) => w.startsWith("flag not supported"));
  assert.deepEqual(unsupported, [
    "flag not supported yet by etcd-ts; ignored: --peer-cert-allowed-cn",
    "flag not supported yet by etcd-ts; ignored: --metrics",
    "flag not supported yet by etcd-ts; ignored: --discovery-password (from ETCD_DISCOVERY_PASSWORD)",
  ]);
  assert.ok(!r.warnings.some((w) => w.includes("secret")), "values are not logged");
  assert.equal(r.config.raw.get("peer-cert-allowed-cn"), "c");
  const capn = parseConfig([...LOCAL, "--logger=capnslog"], {});
  assert.ok(capn.warnings.some((w) => w.startsWith("--logger=capnslog is accepted")));
});

test("limits beyond etcd's recommendations are warned about", () => {
  const r = parseConfig([...LOCAL, "--max-request-bytes=20971520", "--quota-backend-bytes=17179869184"], {});
  assert.ok(r.warnings.some((w) => w.startsWith("exceeded recommended request limit")));
  assert.ok(r.warnings.some((w) => w.startsWith("quota exceeds the maximum value")));
});

test("the effective backend quota: 0 is etcd's 2 GiB default, negative is no quota", () => {
  assert.equal(effectiveQuotaBackendBytes({ quotaBackendBytes: 0 }), 2 * 1024 ** 3);
  assert.equal(effectiveQuotaBackendBytes({ quotaBackendBytes: 1000 }), 1000);
  assert.equal(effectiveQuotaBackendBytes({ quotaBackendBytes: -1 }), Number.MAX_SAFE_INTEGER);
});
