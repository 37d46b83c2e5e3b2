// Owns starting a real etcd-ts (or etcd) server process for wire tests: free ports on 127.0.0.1, a temp data dir, stop.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ETCD_TS_BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "cmd", "etcd-ts.js");
/** Generous: a cold start on a loaded 2-core CI machine. */
export const START_TIMEOUT_MS = 30_000;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  /** host:port for etcdctl --endpoints. */
  endpoint: string;
  clientUrl: string;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the server logged so far. */
  logs(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit (data dir kept). */
  kill(): Promise<void>;
  /** Remove the data dir (after stop/kill). */
  cleanup(): void;
}

export interface StartOptions {
  /** "etcd-ts" (default) or a path to another etcd binary, e.g. /usr/bin/etcd for differential tests. */
  binary?: string;
  dataDir?: string;
  clientPort?: number;
  peerPort?: number;
  extraArgs?: string[];
  env?: Record<string, string>;
}

export async function startServer(opts: StartOptions = {}): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "etcd-ts-test-"));
  const clientPort = opts.clientPort ?? (await freePort());
  const peerPort = opts.peerPort ?? (await freePort());
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    "--name",
    "default",
    "--data-dir",
    dataDir,
    "--listen-client-urls",
    clientUrl,
    "--advertise-client-urls",
    clientUrl,
    "--listen-peer-urls",
    peerUrl,
    "--initial-advertise-peer-urls",
    peerUrl,
    "--initial-cluster",
    `default=${peerUrl}`,
    ...(opts.extraArgs ?? []),
  ];
  const real = opts.binary !== undefined && opts.binary !== "etcd-ts";
  const proc = real
    ? spawn(opts.binary!, ["--logger=zap", ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...cleanEnv(), ...opts.env },
      })
    : spawn(process.execPath, [ETCD_TS_BIN, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...cleanEnv(), ...opts.env },
      });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not become ready:\n${out}`)),
      START_TIMEOUT_MS,
    );
    const check = (): void => {
      // etcd 3.4 with --logger=zap does not log "ready to serve client requests"; it logs this once ready.
      if (
        out.includes("ready to serve client requests") ||
        (real &&
          (out.includes("serving client traffic insecurely") ||
            out.includes("serving client traffic securely")))
      ) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on("data", check);
    proc.stderr!.on("data", check);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before ready:\n${out}`));
    });
  });
  return {
    endpoint: `127.0.0.1:${clientPort}`,
    clientUrl,
    dataDir,
    proc,
    logs: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    },
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The environment without ETCD_* / ETCDCTL_* variables that could change a server's or etcdctl's behaviour. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("ETCD_") && !k.startsWith("ETCDCTL_")) env[k] = v;
  }
  return env;
}
