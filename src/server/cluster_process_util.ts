// Owns multi-member clusters of real server processes for process tests: etcd-ts (or a real etcd) members on
// free 127.0.0.1 ports with temp data dirs, started together, restartable on the same ports, always cleaned up.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { etcdctl } from "../testing/etcdctl.js";
import { cleanEnv, freePort, type ServerProcess, startServer } from "../testing/server_process.js";

const ETCD_TS_BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "cmd", "etcd-ts.js");

/** Timing flags every member gets: elections in about half a second keep the tests short. */
export const FAST_TIMING = ["--heartbeat-interval", "50", "--election-timeout", "500"];

export interface ProcMember {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc: ServerProcess | undefined;
}

export const peerUrl = (m: ProcMember): string => `http://127.0.0.1:${m.peerPort}`;
export const endpointOf = (m: ProcMember): string => `127.0.0.1:${m.clientPort}`;

export async function procMember(name: string): Promise<ProcMember> {
  return {
    name,
    clientPort: await freePort(),
    peerPort: await freePort(),
    dataDir: mkdtempSync(join(tmpdir(), `etcd-ts-proc-${name}-`)),
    proc: undefined,
  };
}

export const initialClusterArg = (members: readonly ProcMember[]): string =>
  members.map((m) => `${m.name}=${peerUrl(m)}`).join(",");

export class ProcCluster {
  constructor(
    readonly members: ProcMember[],
    readonly binary: string | undefined,
    readonly token: string,
    readonly extraArgs: string[],
  ) {}

  /** Starts every member at once (none is ready before a quorum is up). */
  static async start(
    n: number,
    opts: { binary?: string; token?: string; extraArgs?: string[]; members?: ProcMember[] } = {},
  ): Promise<ProcCluster> {
    const members = opts.members ?? [];
    for (let i = members.length + 1; i <= n; i++) members.push(await procMember(`m${i}`));
    const c = new ProcCluster(members, opts.binary, opts.token ?? "proc-test", opts.extraArgs ?? []);
    const started = await Promise.allSettled(members.map((m) => c.startMember(m)));
    const failed = started.find((r) => r.status === "rejected");
    if (failed) {
      await c.stop();
      throw (failed as PromiseRejectedResult).reason;
    }
    return c;
  }

  args(m: ProcMember, state: "new" | "existing" = "new", cluster = this.members): string[] {
    return [
      ...["--name", m.name, "--initial-cluster", initialClusterArg(cluster)],
      ...["--initial-cluster-token", this.token, "--initial-cluster-state", state],
      ...FAST_TIMING,
      ...this.extraArgs,
    ];
  }

  async startMember(m: ProcMember, state: "new" | "existing" = "new", cluster = this.members): Promise<void> {
    m.proc = await startServer({
      binary: this.binary,
      dataDir: m.dataDir,
      clientPort: m.clientPort,
      peerPort: m.peerPort,
      extraArgs: this.args(m, state, cluster),
    });
  }

  endpoints(): string {
    return this.members
      .filter((m) => m.proc)
      .map(endpointOf)
      .join(",");
  }

  /** The index of the leader, asked of the running members with `etcdctl endpoint status`. */
  async leaderIndex(): Promise<number> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await etcdctl(this.endpoints(), ["endpoint", "status", "-w", "json"]);
      if (r.code === 0) {
        const sts = parseJsonBig(r.stdout) as {
          Endpoint: string;
          Status: { header: { member_id: number | string }; leader: number | string };
        }[];
        const leads = new Set(sts.map((s) => String(s.Status.leader)));
        const lead = sts.find((s) => String(s.Status.header.member_id) === [...leads][0]);
        if (leads.size === 1 && lead) return this.members.findIndex((m) => endpointOf(m) === lead.Endpoint);
      }
      if (Date.now() > deadline) throw new Error(`no agreed leader: ${r.stdout}${r.stderr}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.proc?.stop()));
    for (const m of this.members) {
      m.proc = undefined;
      rmSync(m.dataDir, { recursive: true, force: true });
    }
  }
}

/**
 * Spawns an etcd-ts member that is not expected to become ready (e.g. a cluster mismatch): its output, and a
 * kill that waits for exit.
 */
export function spawnUnready(args: string[]): {
  logs(): string;
  kill(): Promise<void>;
  exited: Promise<number | null>;
} {
  const proc = spawn(process.execPath, [ETCD_TS_BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: cleanEnv(),
  });
  let out = "";
  proc.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return {
    logs: () => out,
    exited,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    },
  };
}

/** JSON.parse with every integer of 16 or more digits kept exactly, as a string (etcdctl prints uint64 IDs). */
export function parseJsonBig(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}
