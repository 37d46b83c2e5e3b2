// Differential checks: the real etcd (Debian's etcd-server, 3.4.23) and etcd-ts must reject bad input alike.
// Every case is one etcd rejects before serving; it still runs in a temporary directory on 127.0.0.1 high ports.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ConfigError, checkInitialCluster, FLAGS, parseConfig } from "./index.js";

const ETCD = "/usr/bin/etcd";
const skip = existsSync(ETCD)
  ? false
  : `${ETCD} not installed (apt-get install etcd-server); differential tests skipped`;
const dir = mkdtempSync(join(tmpdir(), "etcd-ts-diff-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A port nothing listens on right now, so a real etcd that gets as far as binding does not collide. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

let C = "";
let P = "";
let L: string[] = [];
before(async () => {
  C = `http://127.0.0.1:${await freePort()}`;
  P = `http://127.0.0.1:${await freePort()}`;
  L = [
    `--listen-client-urls=${C}`,
    `--advertise-client-urls=${C}`,
    `--listen-peer-urls=${P}`,
    `--initial-advertise-peer-urls=${P}`,
    `--initial-cluster=default=${P}`,
  ];
});

let files = 0;
function runEtcd(
  args: readonly string[],
  env: Record<string, string> = {},
): { code: number | null; stderr: string; stdout: string } {
  const cwd = mkdtempSync(join(dir, "run-"));
  const r = spawnSync(ETCD, args, {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    encoding: "utf8",
    timeout: 20_000,
    killSignal: "SIGKILL",
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

function ours(args: readonly string[], env: Record<string, string>, bootstrap: boolean): ConfigError {
  try {
    const { config } = parseConfig(args, env);
    if (bootstrap) checkInitialCluster(config);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail(`etcd-ts accepted ${JSON.stringify(args)}`);
}

/** Both reject: same exit code, and etcd's output contains our message in the shape etcd prints it. */
function same(args: readonly string[], env: Record<string, string> = {}, bootstrap = false): void {
  const e = ours(args, env, bootstrap);
  const r = runEtcd(args, env);
  const line =
    e.kind === "usage"
      ? `${e.message}\n`
      : e.kind === "verify"
        ? `error verifying flags, ${e.message}. See 'etcd --help'.`
        : e.message;
  // With --logger=zap already set up, etcd logs a verify error as JSON: {"msg":"failed to verify flags","error":…}.
  const zap = r.stderr
    .split("\n")
    .some((l) => l.startsWith("{") && (JSON.parse(l) as { error?: string }).error === e.message);
  const found = r.stderr.includes(line) || (e.kind === "verify" && zap);
  assert.ok(found, `etcd ${args.join(" ")}\n  ours: ${line}\n  etcd: ${r.stderr.slice(0, 800)}`);
  assert.equal(r.code, e.exitCode, `exit code of etcd ${args.join(" ")}`);
}

test("flag syntax and value errors match etcd", { skip }, () => {
  for (const args of [
    ["--foo"],
    ["--name"],
    ["---name"],
    ["--pre-vote=yes"],
    ["--max-wals=-1"],
    ["--max-txn-ops=+5"],
    ["--heartbeat-interval=99999999999999999999"],
    ["--max-concurrent-streams=-1"],
    ["--initial-cluster-state=foo"],
    ["--experimental-corrupt-check-time=1"],
    ["--listen-client-urls=127.0.0.1:2379"],
    ["--listen-client-urls=http://127.0.0.1:1/p"],
    ["--advertise-client-urls=http://x y:1"],
    ["--advertise-client-urls=unix://foo"],
    ["--listen-peer-urls=http://[::1:2"],
    ["--listen-peer-urls=http://x:y"],
    ["--cors=http://x:1,*"],
    ["--pre-vote", "false"],
    [...L, "--", "extra"],
  ]) {
    same(args);
  }
});

test("validation errors match etcd", { skip }, () => {
  const noAdvertise = L.filter((a) => !a.startsWith("--advertise-client-urls"));
  for (const args of [
    [...L, "--election-timeout=400"],
    [...L, "--heartbeat-interval=1000", "--election-timeout=60000"],
    [...L, "--heartbeat-interval=0"],
    [...L, "--election-timeout=0"],
    [...L, "--auto-compaction-mode=foo"],
    [...L, "--logger=foo"],
    [...L, "--logger=zap", "--log-outputs=stdout,default"],
    [...L, "--logger=capnslog", "--log-outputs=stdout,stderr"],
    [...L, "--listen-client-urls=http://example.com:1"],
    [...L, "--advertise-client-urls=http://:2379"],
    [...L, "--discovery=http://127.0.0.1:1", "--discovery-srv=example.com"],
    noAdvertise,
  ]) {
    same(args);
  }
});

test("start-up errors match etcd", { skip }, () => {
  same([...L, "--auto-compaction-retention=abc"]);
  same([...L.slice(0, 4), "--initial-cluster=foo"]);
  same(L.slice(0, 4), {}, true);
  same([...L.slice(0, 4), `--initial-cluster=default=${P},b=${P}`], {}, true);
});

test("environment handling matches etcd", { skip }, () => {
  same([...L, "--name=x"], { ETCD_NAME: "y" });
  same(L, { ETCD_SNAPSHOT_COUNT: "abc" });
  same(L, { ETCD_PRE_VOTE: "yes", ETCD_MAX_WALS: "x" });
  same(L, { ETCD_LISTEN_PEER_URLS: "ftp://x:1", ETCD_NAME: "n" });
});

test("config file errors match etcd", { skip }, () => {
  const base = `listen-client-urls: ${C}\nlisten-peer-urls: ${P}\n`;
  for (const extra of [
    "grpc-keepalive-min-time: 3s",
    "election-timeout: 1.5",
    "initial-cluster-state: foo",
    "name: 5",
    "advertise-client-urls: http://127.0.0.1",
    "listen-metrics-urls: ftp://x:1",
  ]) {
    const path = join(dir, `f${files++}.yaml`);
    writeFileSync(path, `${base}${extra}\n`);
    same([`--config-file=${path}`]);
  }
  same(["--config-file=/nonexistent/etcd-ts.yaml"]);
});

test("our etcd 3.4 flags are exactly the ones etcd 3.4.23 defines", { skip }, () => {
  for (const f of FLAGS) {
    const arg = f.kind === "bool" || f.kind === "ignored" ? `--${f.name}` : `--${f.name}=${f.def}`;
    const r = runEtcd([arg, "--version"]);
    const defined = !r.stderr.includes("flag provided but not defined");
    assert.equal(defined, f.since === "3.4", `--${f.name} (since ${f.since}): ${r.stderr.split("\n")[0]}`);
    if (f.since === "3.4") assert.ok(r.stdout.startsWith("etcd Version:"), `${arg}: ${r.stderr}`);
  }
  const help = runEtcd(["--help"]).stdout;
  for (const m of help.matchAll(/^ {2}--([a-z0-9.-]+)/gm))
    assert.ok(
      FLAGS.some((f) => f.name === m[1]),
      `--${m[1]}`,
    );
});
