// Owns multi-member clusters of real processes for tests and benchmarks: etcd or etcd-ts members on free
// 127.0.0.1 ports with temp data dirs, optionally behind a PeerNetwork of proxies; signals, restarts, the leader.

import type { ChildProcess } from "node:child_process";
import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { MaintenanceClient, type StatusResponse } from "../proto/index.js";
import { freePort, type SpawnedServer, START_TIMEOUT_MS, spawnServer } from "./server_process.js";
import { PeerNetwork } from "./tcp_proxy.js";

export type ClusterBinary = "etcd" | "etcd-ts";

export interface ClusterOptions {
  size: 1 | 3 | 5;
  /** Which server runs the members (default "etcd"). */
  binary?: ClusterBinary;
  /** Real etcd's path (default $ETCD_BIN or /usr/bin/etcd). */
  etcdBin?: string;
  /** etcd-ts's entry point (default dist/cmd/etcd-ts.js) and flags for node before it (e.g. --cpu-prof). */
  etcdTsEntry?: string;
  nodeArgs?: string[];
  /** Flags for every member, after the cluster's own (so they may override them). */
  extraArgs?: string[];
  /** Put a PeerNetwork proxy in front of every member's peer port (default false). */
  proxies?: boolean;
  /** --snapshot-count. */
  snapshotCount?: number;
  /** Deadline for the whole cluster to serve clients (default START_TIMEOUT_MS). */
  startTimeoutMs?: number;
  /**
   * Called for each member's (empty) data dir before any member starts, e.g. to mount a small tmpfs on it. The
   * caller undoes what it did (unmount) before `stop()`, which removes the data dirs.
   */
  prepareDataDir?: (name: string, dataDir: string) => void | Promise<void>;
}

export type MemberState = "running" | "paused" | "stopped";

export interface ClusterMember {
  readonly name: string;
  /** Hex member id, as etcd prints it; known once the cluster has started. */
  readonly id: string;
  readonly clientUrl: string;
  /** host:port of the client URL, for gRPC clients and etcdctl --endpoints. */
  readonly endpoint: string;
  /** The URL the member listens on for peers. */
  readonly peerUrl: string;
  /** The URL it advertises to peers: its proxy's with `proxies`, else peerUrl. */
  readonly advertisePeerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** pid of the current process (a restart changes it). */
  readonly pid: number | undefined;
  readonly state: MemberState;
  /** Every exit of the member's processes; `requested` false means it died without being told to. */
  readonly exits: readonly MemberExit[];
}

export interface MemberExit {
  /** ms since the epoch. */
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Through `kill` (SIGKILL/SIGTERM), `restart` or `stop`; false: it exited on its own, or was killed from outside. */
  requested: boolean;
}

export interface LeaderInfo {
  name: string;
  id: string;
  term: bigint;
}

export type MemberSignal = "SIGKILL" | "SIGTERM" | "SIGSTOP" | "SIGCONT";

/** Polling interval while waiting for a leader or a condition. */
const POLL_MS = 50;
/** Deadline of one Status call (a paused member never answers). */
const STATUS_TIMEOUT_MS = 1_000;
/**
 * Stopping the whole cluster, a member still running after SIGTERM this long is killed: etcd 3.4's leader waits
 * seconds to hand over leadership to followers that are stopping too. The data dirs are removed anyway.
 */
const STOP_GRACE_MS = 3_000;
/** The log tail `logs()` returns by default; the whole log is in the member's log file. */
const LOG_TAIL_CHARS = 64 * 1024;
/** Kept in memory per process, for the error when it does not start. */
const START_LOG_CHARS = 8 * 1024;
const GRPC_OPTIONS = {
  // Reconnect fast after a member restarts: grpc-js would otherwise back off for up to 2 minutes.
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1_000,
  "grpc.use_local_subchannel_pool": 1,
};

class Member implements ClusterMember {
  id = "";
  proc: SpawnedServer | undefined;
  /** The process being started, until it is ready. */
  starting: ChildProcess | undefined;
  state: MemberState = "stopped";
  maintenance: MaintenanceClient;
  readonly exits: MemberExit[] = [];
  /** Set when the harness stops the current process, so its exit is recorded as requested. */
  stopRequested = false;

  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly advertisePeerUrl: string,
    readonly dataDir: string,
    readonly logFile: string,
  ) {
    this.maintenance = new MaintenanceClient(this.endpoint, credentials.createInsecure(), GRPC_OPTIONS);
  }

  get endpoint(): string {
    return this.clientUrl.slice("http://".length);
  }
  get pid(): number | undefined {
    return this.state === "stopped" ? undefined : (this.proc?.pid ?? this.starting?.pid);
  }
}

/** Processes of every cluster still running, killed if the test process exits without stopping them. */
const live = new Set<Cluster>();
process.once("exit", () => {
  for (const c of live) c.killAllSync();
});

export class Cluster {
  private readonly byName = new Map<string, Member>();
  private stopped = false;

  private constructor(
    readonly options: Readonly<ClusterOptions>,
    /** Holds the members' data dirs and log files. */
    readonly rootDir: string,
    readonly members: readonly ClusterMember[],
    /** The peer proxies (only with `proxies: true`). */
    readonly network: PeerNetwork | undefined,
    private readonly args: (m: ClusterMember) => string[],
  ) {
    for (const m of members) this.byName.set(m.name, m as Member);
  }

  /** Starts every member at once and resolves when all serve clients and their ids are known. */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const root = mkdtempSync(join(tmpdir(), `cluster-${opts.binary ?? "etcd"}-`));
    const names = Array.from({ length: opts.size }, (_, i) => `m${i}`);
    // Proxies first: once they listen, the free ports picked for the members cannot be theirs.
    const network = opts.proxies ? await PeerNetwork.start(names) : undefined;
    const ports = await distinctFreePorts(names.length * 2);
    names.forEach((name, i) => {
      network?.setUpstream(name, ports[2 * i + 1]!);
    });
    const members = names.map((name, i) => {
      const peerUrl = `http://127.0.0.1:${ports[2 * i + 1]}`;
      const dataDir = join(root, `${name}.etcd`);
      mkdirSync(dataDir, { mode: 0o700 });
      return new Member(
        name,
        `http://127.0.0.1:${ports[2 * i]}`,
        peerUrl,
        network ? network.url(name) : peerUrl,
        dataDir,
        join(root, `${name}.log`),
      );
    });
    const initialCluster = members.map((m) => `${m.name}=${m.advertisePeerUrl}`).join(",");
    const token = `test-${root.slice(-6)}`;
    const args = (m: ClusterMember): string[] => [
      ...["--name", m.name, "--data-dir", m.dataDir],
      ...["--listen-client-urls", m.clientUrl, "--advertise-client-urls", m.clientUrl],
      ...["--listen-peer-urls", m.peerUrl, "--initial-advertise-peer-urls", m.advertisePeerUrl],
      ...["--initial-cluster", initialCluster, "--initial-cluster-token", token],
      ...["--initial-cluster-state", "new"],
      ...(opts.snapshotCount !== undefined ? ["--snapshot-count", String(opts.snapshotCount)] : []),
      ...(opts.extraArgs ?? []),
    ];
    const cluster = new Cluster(opts, root, members, network, args);
    live.add(cluster);
    try {
      for (const m of members) await opts.prepareDataDir?.(m.name, m.dataDir);
      // Members of a new cluster serve clients only once a quorum has formed, so they must start together.
      // Settled, not all: a failed start must not leave the others starting while we clean up.
      const launched = await Promise.allSettled(members.map((m) => cluster.launch(m, opts.startTimeoutMs)));
      const failed = launched.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
      await Promise.all(members.map((m) => cluster.learnId(m)));
    } catch (err) {
      const report = cluster.report();
      await cluster.stop();
      throw new Error(
        `cluster of ${opts.size} ${opts.binary ?? "etcd"} did not start: ${msg(err)}\n${report}`,
      );
    }
    return cluster;
  }

  member(name: string): ClusterMember {
    const m = this.byName.get(name);
    if (!m) throw new Error(`no member ${name} (have ${[...this.byName.keys()].join(", ")})`);
    return m;
  }

  /** host:port of every member's client URL (or of the named ones), in member order. */
  endpoints(names?: string[]): string[] {
    return (names ?? this.members.map((m) => m.name)).map((n) => this.member(n).endpoint);
  }

  /** Sends `signal` to a member; SIGKILL and SIGTERM resolve once it has exited (data dir kept). */
  async kill(name: string, signal: MemberSignal = "SIGKILL"): Promise<void> {
    const m = this.get(name);
    const p = m.proc;
    if (!p?.running()) throw new Error(`${name} is not running`);
    switch (signal) {
      case "SIGSTOP":
        p.proc.kill("SIGSTOP");
        m.state = "paused";
        return;
      case "SIGCONT":
        p.proc.kill("SIGCONT");
        m.state = "running";
        return;
      case "SIGKILL":
        m.stopRequested = true;
        await p.kill();
        m.state = "stopped";
        return;
      case "SIGTERM":
        m.stopRequested = true;
        if (m.state === "paused") p.proc.kill("SIGCONT");
        await p.stop();
        m.state = "stopped";
        return;
      default: {
        const never: never = signal;
        throw new Error(`unknown signal ${never}`);
      }
    }
  }

  /** Starts a member again on the same ports and data dir (stopping it first if it runs); resolves when ready. */
  async restart(name: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const m = this.get(name);
    if (m.state !== "stopped") await this.kill(name, "SIGTERM");
    await this.launch(m, opts.timeoutMs);
  }

  /** Maintenance.Status of one member (rejects if it does not answer within the deadline). */
  status(name: string, timeoutMs = STATUS_TIMEOUT_MS): Promise<StatusResponse> {
    const m = this.get(name);
    return new Promise((resolve, reject) => {
      m.maintenance.status(
        {},
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err: ServiceError | null, res) => (err ? reject(err) : resolve(res)),
      );
    });
  }

  /**
   * The leader a quorum of members agrees on: the members that answer Status within the deadline vote with
   * the leader they follow; an id named by a quorum wins, the highest term breaking ties. Undefined if none.
   */
  async leader(timeoutMs = STATUS_TIMEOUT_MS): Promise<LeaderInfo | undefined> {
    const running = this.members.filter((m) => m.state === "running");
    const answers = await Promise.all(
      running.map((m) =>
        this.status(m.name, timeoutMs).then(
          (s) => s,
          () => undefined,
        ),
      ),
    );
    const votes = new Map<string, { count: number; term: bigint }>();
    for (const s of answers) {
      if (!s || s.leader === 0n) continue;
      const id = s.leader.toString(16);
      const v = votes.get(id) ?? { count: 0, term: 0n };
      v.count++;
      if (s.raftTerm > v.term) v.term = s.raftTerm;
      votes.set(id, v);
    }
    const quorum = Math.floor(this.members.length / 2) + 1;
    let best: LeaderInfo | undefined;
    for (const [id, v] of votes) {
      const m = this.members.find((x) => x.id === id);
      if (!m || v.count < quorum) continue;
      if (!best || v.term > best.term) best = { name: m.name, id, term: v.term };
    }
    return best;
  }

  /** Waits for a leader a quorum agrees on, other than the members in `exclude`. */
  async waitForLeader(timeoutMs = 15_000, opts: { exclude?: string[] } = {}): Promise<LeaderInfo> {
    const exclude = new Set(opts.exclude ?? []);
    let last: LeaderInfo | undefined;
    const found = await this.waitFor(
      async () => {
        last = await this.leader();
        return last && !exclude.has(last.name) ? last : undefined;
      },
      timeoutMs,
      () => `a leader${exclude.size ? ` other than ${[...exclude].join(", ")}` : ""} (last: ${last?.name})`,
    );
    return found;
  }

  /** Polls `probe` until it returns a value (not undefined/false); throws with the cluster report after the deadline. */
  async waitFor<T>(
    probe: () => Promise<T | undefined | false>,
    timeoutMs: number,
    what: () => string,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe().catch(() => undefined);
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}\n${this.report()}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** The last `chars` of a member's log file (every run of the member, restarts included). */
  logs(name: string, chars = LOG_TAIL_CHARS): string {
    return tailFile(this.get(name).logFile, chars);
  }

  /** Member states, the network and each member's log tail: what a failing test should print. */
  report(tailChars = 4_000): string {
    const lines = [`cluster ${this.rootDir} (${this.options.binary ?? "etcd"})`];
    for (const m of this.members) {
      lines.push(
        `--- ${m.name} id ${m.id || "?"} ${m.state} pid ${m.pid} client ${m.endpoint} peer ${m.peerUrl} ` +
          `advertised ${m.advertisePeerUrl}${unrequestedExits(m)}; log ${m.logFile}, last ${tailChars} chars:`,
        this.logs(m.name, tailChars),
      );
    }
    if (this.network) lines.push("--- network", this.network.describe());
    return lines.join("\n");
  }

  /**
   * Stops every member (SIGTERM, SIGKILL after a while), the proxies and the gRPC clients, and removes the data
   * dirs and logs unless `keep` (or $ETCD_CLUSTER_KEEP is set).
   */
  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Followers first: a leader that stops while its followers run hands leadership over, and one whose followers
    // are stopping too waits seconds for a transfer that cannot happen (etcd 3.4).
    const leader = await this.leader(STATUS_TIMEOUT_MS / 2).catch(() => undefined);
    const stopOne = async (m: Member): Promise<void> => {
      m.stopRequested = true;
      if (m.state === "paused") m.proc?.proc.kill("SIGCONT");
      await m.proc?.stop(STOP_GRACE_MS);
      m.state = "stopped";
      m.maintenance.close();
    };
    const all = this.members as Member[];
    await Promise.all(all.filter((m) => m.name !== leader?.name).map(stopOne));
    await Promise.all(all.filter((m) => m.name === leader?.name).map(stopOne));
    await this.network?.close();
    live.delete(this);
    if (opts.keep || process.env.ETCD_CLUSTER_KEEP)
      process.stderr.write(`# cluster kept in ${this.rootDir}\n`);
    else rmSync(this.rootDir, { recursive: true, force: true });
  }

  /** For the exit hook: SIGKILL whatever still runs. */
  killAllSync(): void {
    for (const m of this.members) {
      const p = (m as Member).proc;
      if (p?.running()) p.proc.kill("SIGKILL");
      (m as Member).starting?.kill("SIGKILL");
    }
  }

  private get(name: string): Member {
    return this.member(name) as Member;
  }

  private async launch(
    m: Member,
    timeoutMs = this.options.startTimeoutMs ?? START_TIMEOUT_MS,
  ): Promise<void> {
    const binary =
      (this.options.binary ?? "etcd") === "etcd"
        ? (this.options.etcdBin ?? process.env.ETCD_BIN ?? "/usr/bin/etcd")
        : "etcd-ts";
    const starting = spawnServer({
      binary,
      ...(this.options.etcdTsEntry ? { etcdTsEntry: this.options.etcdTsEntry } : {}),
      ...(this.options.nodeArgs ? { nodeArgs: this.options.nodeArgs } : {}),
      args: this.args(m),
      logFile: m.logFile,
      maxLogChars: START_LOG_CHARS,
      readyTimeoutMs: timeoutMs,
      onSpawn: (proc) => {
        m.starting = proc;
      },
    });
    m.state = "running";
    m.stopRequested = false;
    try {
      m.proc = await starting;
    } catch (err) {
      m.state = "stopped";
      throw new Error(`${m.name}: ${msg(err).split("\n")[0]!.replace(/:$/, "")}`);
    } finally {
      m.starting = undefined;
    }
    const p = m.proc;
    void p.exited.then(() => {
      m.exits.push({
        at: Date.now(),
        code: p.proc.exitCode,
        signal: p.proc.signalCode,
        requested: m.stopRequested,
      });
      if (m.proc === p) m.state = "stopped";
    });
  }

  private async learnId(m: Member): Promise<void> {
    const s = await this.waitFor(
      () => this.status(m.name),
      10_000,
      () => `${m.name} to answer Status`,
    );
    m.id = s.header!.memberId.toString(16);
    this.network?.setMemberId(m.name, m.id);
  }
}

/** "; EXITED UNASKED at <time> (signal or code), …" for the exits nobody asked for; "" if none. */
function unrequestedExits(m: ClusterMember): string {
  const own = m.exits.filter((e) => !e.requested);
  if (own.length === 0) return "";
  const what = own.map((e) => `${new Date(e.at).toISOString()} (${e.signal ?? `code ${e.code}`})`);
  return `; EXITED UNASKED at ${what.join(", ")}`;
}

/** `startCluster(opts)` is `Cluster.start(opts)`. */
export const startCluster = (opts: ClusterOptions): Promise<Cluster> => Cluster.start(opts);

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** The last `chars` characters (roughly: bytes) of a file; "" if it does not exist. */
function tailFile(path: string, chars: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const len = Math.min(size, chars);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString();
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const msg = (err: unknown): string => (err instanceof Error ? err.message : String(err));
