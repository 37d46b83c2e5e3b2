// Owns the servers under test: a fresh etcd-ts or real etcd process per benchmark (free 127.0.0.1 ports, temp
// data dir, same flags for both), a fresh cluster of either, or an existing --endpoints server; and sampling a
// server's CPU time and RSS.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Cluster, startCluster } from "../testing/cluster_process.js";
import { cleanEnv, freePort } from "../testing/server_process.js";

export type TargetKind = "etcd-ts" | "etcd" | "endpoint";
export interface TargetSpec {
  label: string;
  kind: TargetKind;
  endpoint?: string;
}
export interface LaunchOptions {
  etcdBin: string;
  etcdTsEntry: string;
  /** When set, etcd-ts runs under `node --cpu-prof` writing here. */
  cpuProfDir?: string;
  serverArgs: string[];
}
export interface Target {
  label: string;
  endpoint: string;
  pid: number | undefined;
  /** Set for a cluster target; `endpoint` is then its first member's. */
  cluster?: Cluster;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const LOG_TAIL_CHARS = 16 * 1024;
const READY_LINE: Record<"etcd-ts" | "etcd", string> = {
  "etcd-ts": "ready to serve client requests",
  etcd: "serving client traffic insecurely",
};

export async function startTarget(spec: TargetSpec, o: LaunchOptions): Promise<Target> {
  if (spec.kind === "endpoint") {
    return { label: spec.label, endpoint: spec.endpoint!, pid: undefined, stop: async () => {} };
  }
  const dataDir = mkdtempSync(join(tmpdir(), `bench-${spec.kind}-`));
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const args = [
    ...["--name", "bench", "--data-dir", dataDir, "--listen-client-urls", client],
    ...["--advertise-client-urls", client, "--listen-peer-urls", peer],
    ...["--initial-advertise-peer-urls", peer, "--initial-cluster", `bench=${peer}`],
    ...o.serverArgs,
  ];
  const stdio: ["ignore", "pipe", "pipe"] = ["ignore", "pipe", "pipe"];
  const nodeArgs = o.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`] : [];
  const proc =
    spec.kind === "etcd"
      ? spawn(o.etcdBin, ["--logger=zap", ...args], { stdio, env: cleanEnv() })
      : spawn(process.execPath, [...nodeArgs, o.etcdTsEntry, ...args], { stdio, env: cleanEnv() });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  let tail = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spec.label} not ready:\n${tail}`)), START_TIMEOUT_MS);
    const onData = (d: Buffer): void => {
      tail = (tail + d.toString()).slice(-LOG_TAIL_CHARS);
      if (tail.includes(READY_LINE[spec.kind as "etcd" | "etcd-ts"])) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${spec.label} exited with ${code}:\n${tail}`));
    });
  });
  const stop = async (): Promise<void> => {
    live.delete(stop);
    await terminate(proc, exited);
    rmSync(dataDir, { recursive: true, force: true });
  };
  live.add(stop);
  try {
    await ready;
  } catch (err) {
    await stop();
    throw err;
  }
  return { label: spec.label, endpoint: client.slice("http://".length), pid: proc.pid, stop };
}

/** Starts a fresh cluster of `members` members of the target's server, with the same flags for both servers. */
export async function startClusterTarget(
  spec: TargetSpec,
  members: 3 | 5,
  o: LaunchOptions,
): Promise<Target> {
  if (spec.kind === "endpoint") {
    throw new Error("cluster benchmarks start their own clusters: use --targets, not --endpoints");
  }
  const cluster = await startCluster({
    size: members,
    binary: spec.kind,
    etcdBin: o.etcdBin,
    etcdTsEntry: o.etcdTsEntry,
    ...(o.cpuProfDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`] } : {}),
    extraArgs: o.serverArgs,
    startTimeoutMs: START_TIMEOUT_MS,
  });
  const stop = async (): Promise<void> => {
    live.delete(stop);
    await cluster.stop();
  };
  live.add(stop);
  return { label: spec.label, endpoint: cluster.members[0]!.endpoint, pid: undefined, cluster, stop };
}

/** Stops of the servers still running, so an interrupted run leaves no process or data dir behind. */
const live = new Set<() => Promise<void>>();

export async function stopAllTargets(): Promise<void> {
  await Promise.all([...live].map((stop) => stop()));
}

async function terminate(proc: ChildProcess, exited: Promise<void>): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** User+system CPU seconds of a process so far (Linux /proc); undefined if unreadable. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Resident set size in MiB (Linux /proc); undefined if unreadable. */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();
