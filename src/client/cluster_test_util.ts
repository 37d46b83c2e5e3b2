// Owns the multi-member cluster the client's failover tests run against: N member processes on 127.0.0.1 free
// ports, started together, waited on until each has a leader, killed one by one, removed at the end. The binary
// follows the client test target (etcd-ts, or /usr/bin/etcd with ETCD_TS_CLIENT_TEST_TARGET=etcd) unless
// ETCD_TS_CLIENT_CLUSTER_BINARY names one ("etcd-ts", "etcd", or a path to an etcd binary).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { StatusResponse } from "../proto/index.js";
import { cleanEnv, freePort } from "../testing/server_process.js";
import { Client } from "./client.js";
import { TARGET, WAIT_MS } from "./test_util.js";

const ETCD_TS_BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "cmd", "etcd-ts.js");
const CHOICE = process.env.ETCD_TS_CLIENT_CLUSTER_BINARY ?? (TARGET === "etcd" ? "etcd" : "etcd-ts");
/** What the cluster runs: "etcd-ts", or the path of an etcd binary. */
export const CLUSTER_BINARY = CHOICE === "etcd" ? "/usr/bin/etcd" : CHOICE;
/** Why the cluster tests cannot run here (the binary is missing), or undefined. */
export const CLUSTER_SKIP =
  CLUSTER_BINARY === "etcd-ts" || existsSync(CLUSTER_BINARY) ? undefined : `${CLUSTER_BINARY} not found`;

/** Lines a member logs once it serves clients: etcd-ts's, and etcd 3.4's with --logger=zap. */
const READY_LINES = ["ready to serve client requests", "serving client traffic insecurely"];

/** One member process of a TestCluster. */
export class ClusterMember {
  proc: ChildProcess | undefined;
  private out = "";
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
  ) {}

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  get clientUrl(): string {
    return `http://${this.endpoint}`;
  }

  get peerUrl(): string {
    return `http://127.0.0.1:${this.peerPort}`;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  logs(): string {
    return this.out;
  }

  /** Spawns the member; resolves once it logs that it serves clients (it needs a quorum for that). */
  async start(initialCluster: string): Promise<void> {
    const args = [
      ...["--name", this.name, "--data-dir", this.dataDir],
      ...["--listen-client-urls", this.clientUrl, "--advertise-client-urls", this.clientUrl],
      ...["--listen-peer-urls", this.peerUrl, "--initial-advertise-peer-urls", this.peerUrl],
      ...["--initial-cluster", initialCluster, "--initial-cluster-state", "new"],
      ...["--initial-cluster-token", `client-test-${process.pid}`],
    ];
    const stdio: ["ignore", "pipe", "pipe"] = ["ignore", "pipe", "pipe"];
    const proc =
      CLUSTER_BINARY === "etcd-ts"
        ? spawn(process.execPath, [ETCD_TS_BIN, ...args], { stdio, env: cleanEnv() })
        : spawn(CLUSTER_BINARY, ["--logger=zap", ...args], { stdio, env: cleanEnv() });
    this.proc = proc;
    this.out = "";
    this.exited = new Promise((resolve) => proc.once("close", () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} not ready:\n${this.out}`)), WAIT_MS);
      const onData = (d: Buffer): void => {
        this.out += d.toString();
        if (READY_LINES.some((l) => this.out.includes(l))) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout.on("data", onData);
      proc.stderr.on("data", onData);
      proc.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited with ${code ?? signal} before ready:\n${this.out}`));
      });
    });
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(): Promise<void> {
    if (this.running) this.proc!.kill("SIGKILL");
    await this.exited;
  }
}

/** A cluster of `size` members on 127.0.0.1, each with its own temp data dir. */
export class TestCluster {
  private constructor(readonly members: ClusterMember[]) {}

  static async start(size = 3): Promise<TestCluster> {
    const members: ClusterMember[] = [];
    for (let i = 0; i < size; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), `etcd-ts-client-cluster-m${i}-`));
      members.push(new ClusterMember(`m${i}`, await freePort(), await freePort(), dataDir));
    }
    const cluster = new TestCluster(members);
    const initial = members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
    try {
      await Promise.all(members.map((m) => m.start(initial)));
      await Promise.all(members.map((m) => cluster.waitForLeader(m)));
      return cluster;
    } catch (err) {
      await cluster.dispose();
      throw err;
    }
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  /** The member serving `endpoint` (`host:port`). */
  member(endpoint: string): ClusterMember {
    const m = this.members.find((x) => x.endpoint === endpoint);
    if (!m) throw new Error(`no member serves ${endpoint}`);
    return m;
  }

  /** Resolves once `m` reports a leader (from its own status, not a quorum read). */
  async waitForLeader(m: ClusterMember): Promise<void> {
    const stop = Date.now() + WAIT_MS;
    for (;;) {
      const st = await this.status(m).catch(() => undefined);
      if (st && st.leader !== 0n) return;
      if (Date.now() > stop) throw new Error(`${m.name} has no leader:\n${m.logs()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** `m`'s own status (its member ID is `header.memberId`, its leader `leader`). */
  async status(m: ClusterMember): Promise<StatusResponse> {
    const c = new Client({ endpoints: [m.endpoint], dialTimeoutMs: WAIT_MS });
    try {
      return await c.maintenance.status({ timeoutMs: WAIT_MS });
    } finally {
      await c.close();
    }
  }

  /** Kills every member and removes the data dirs. */
  async dispose(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
    for (const m of this.members) rmSync(m.dataDir, { recursive: true, force: true });
  }
}
