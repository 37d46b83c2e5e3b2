// Owns starting a real etcd-ts (or etcd) server process for wire tests: free ports on 127.0.0.1, a temp data dir, stop.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
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
  const p = await spawnServer({
    args,
    ...(opts.binary !== undefined ? { binary: opts.binary } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  return {
    endpoint: `127.0.0.1:${clientPort}`,
    clientUrl,
    dataDir,
    proc: p.proc,
    logs: p.logs,
    stop: () => p.stop(),
    kill: p.kill,
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface SpawnOptions {
  /** "etcd-ts" (default: node dist/cmd/etcd-ts.js) or a path to another etcd binary (run with --logger=zap). */
  binary?: string;
  /** etcd-ts's entry point (default dist/cmd/etcd-ts.js) and flags for node before it (e.g. --cpu-prof). */
  etcdTsEntry?: string;
  nodeArgs?: string[];
  /** etcd's flags. */
  args: string[];
  env?: Record<string, string>;
  /** Also append everything the server logs to this file. */
  logFile?: string;
  /** Keep only the last this many characters of the log in memory (default: everything). */
  maxLogChars?: number;
  readyTimeoutMs?: number;
  /** Called as soon as the process exists, before it is ready. */
  onSpawn?: (proc: ChildProcess) => void;
}

/** A running server process, ready to serve clients. */
export interface SpawnedServer {
  proc: ChildProcess;
  pid: number;
  /** What the server logged (the tail, when maxLogChars is set). */
  logs(): string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  running(): boolean;
  /** SIGTERM and wait for exit (SIGKILL after `graceMs`, default STOP_TIMEOUT_MS). */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

/** etcd-ts's line, and what etcd 3.4 with --logger=zap logs instead once it serves clients. */
const READY_LINES = [
  "ready to serve client requests",
  "serving client traffic insecurely",
  "serving client traffic securely",
];
const READY_LINE_MAX = Math.max(...READY_LINES.map((l) => l.length));
/** A server that ignores SIGTERM this long is killed. */
export const STOP_TIMEOUT_MS = 20_000;

/** Spawns a server and resolves once it serves clients; rejects with its log if it exits or times out first. */
export async function spawnServer(opts: SpawnOptions): Promise<SpawnedServer> {
  const real = opts.binary !== undefined && opts.binary !== "etcd-ts";
  const env = { ...cleanEnv(), ...opts.env };
  const stdio: ["ignore", "pipe", "pipe"] = ["ignore", "pipe", "pipe"];
  const proc = real
    ? spawn(opts.binary!, ["--logger=zap", ...opts.args], { stdio, env })
    : spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.etcdTsEntry ?? ETCD_TS_BIN, ...opts.args], {
        stdio,
        env,
      });
  opts.onSpawn?.(proc);
  const max = opts.maxLogChars ?? Number.POSITIVE_INFINITY;
  const logFile = opts.logFile ? createWriteStream(opts.logFile, { flags: "a" }) : undefined;
  let out = "";
  let ready = false;
  let onReady = (): void => {};
  const onData = (d: Buffer): void => {
    const text = d.toString();
    logFile?.write(text);
    // Search the new text plus enough of the old to catch a ready line split across chunks.
    const window = out.slice(-READY_LINE_MAX) + text;
    out += text;
    if (out.length > max) out = out.slice(-max);
    if (!ready && READY_LINES.some((l) => window.includes(l))) {
      ready = true;
      onReady();
    }
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  // "close", not "exit": by then stdout and stderr are drained, so the log is complete.
  const exited = new Promise<void>((resolve) =>
    proc.once("close", () => (logFile ? logFile.end(() => resolve()) : resolve())),
  );
  const running = (): boolean => proc.exitCode === null && proc.signalCode === null;
  const stop = async (graceMs = STOP_TIMEOUT_MS): Promise<void> => {
    if (running()) proc.kill("SIGTERM");
    const timer = setTimeout(() => running() && proc.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const kill = async (): Promise<void> => {
    if (running()) proc.kill("SIGKILL");
    await exited;
  };
  const readyTimeout = opts.readyTimeoutMs ?? START_TIMEOUT_MS;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server did not become ready in ${readyTimeout} ms:\n${out}`)),
        readyTimeout,
      );
      onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      if (ready) onReady();
      proc.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code ?? signal} before ready:\n${out}`));
      });
      proc.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } catch (err) {
    await kill();
    throw err;
  }
  return { proc, pid: proc.pid!, logs: () => out, exited, running, stop, kill };
}

/** The environment without ETCD_* / ETCDCTL_* variables that could change a server's or etcdctl's behaviour. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("ETCD_") && !k.startsWith("ETCDCTL_")) env[k] = v;
  }
  return env;
}
