// Owns in-process clusters for tests: N members started with startEtcd on free 127.0.0.1 ports in one process,
// raw gRPC clients to each, helpers to find the leader and wait on outcomes, and cleanup of the data dirs.
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { pino } from "pino";
import { ClusterClient, KVClient, LeaseClient, MaintenanceClient, WatchClient } from "../proto/index.js";
import { TEST_SERVER_DEFAULTS } from "../testing/server_defaults.js";
import { freePort } from "../testing/server_process.js";
import { type EmbedConfig, type Etcd, startEtcd } from "./etcd.js";

/** Generous bound for cluster-wide outcomes (elections, catch-up) on a loaded machine. */
export const CLUSTER_WAIT_MS = 20_000;
export const HEARTBEAT_MS = 50;
export const ELECTION_MS = 500;

export interface MemberSpec {
  name: string;
  clientPort: number;
  /** The advertised peer port (a proxy's, when the member is behind one). */
  peerPort: number;
  /** Where the member listens for peers (differs from peerPort behind a proxy). */
  listenPeerPort: number;
  dataDir: string;
}

export const peerUrlOf = (m: MemberSpec): string => `http://127.0.0.1:${m.peerPort}`;
export const clientUrlOf = (m: MemberSpec): string => `http://127.0.0.1:${m.clientPort}`;

export function initialClusterOf(specs: readonly MemberSpec[]): Map<string, string[]> {
  return new Map(specs.map((m) => [m.name, [peerUrlOf(m)]]));
}

export async function memberSpec(name: string, proxied = false): Promise<MemberSpec> {
  const peerPort = await freePort();
  return {
    name,
    clientPort: await freePort(),
    peerPort,
    listenPeerPort: proxied ? await freePort() : peerPort,
    dataDir: mkdtempSync(join(tmpdir(), `etcd-ts-cluster-${name}-`)),
  };
}

/** A TCP proxy in front of a member's peer port: cut() drops every connection and refuses new ones. */
export class PeerProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private open = true;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(port: number, targetPort: number): Promise<PeerProxy> {
    let proxy: PeerProxy | undefined;
    const server = createServer((client) => proxy!.accept(client, targetPort));
    proxy = new PeerProxy(server);
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
    return proxy;
  }

  private accept(client: Socket, targetPort: number): void {
    if (!this.open) return void client.destroy();
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  }

  cut(): void {
    this.open = false;
    for (const s of this.sockets) s.destroy();
  }

  heal(): void {
    this.open = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const silent = pino({ level: process.env.CLUSTER_TEST_LOG ? "info" : "silent" });

export function embedConfigOf(
  spec: MemberSpec,
  initialCluster: Map<string, string[]>,
  overrides: Partial<EmbedConfig> = {},
): EmbedConfig {
  return {
    name: spec.name,
    dataDir: spec.dataDir,
    initialAdvertisePeerUrls: [peerUrlOf(spec)],
    advertiseClientUrls: [clientUrlOf(spec)],
    initialCluster,
    initialClusterToken: "cluster-test",
    initialClusterState: "new",
    ...TEST_SERVER_DEFAULTS,
    heartbeatMs: HEARTBEAT_MS,
    electionMs: ELECTION_MS,
    listenClientUrls: [new URL(clientUrlOf(spec))],
    listenPeerUrls: [new URL(`http://127.0.0.1:${spec.listenPeerPort}`)],
    transportTiming: { backoffBaseMs: 20, backoffMaxMs: 200 },
    logger: process.env.CLUSTER_TEST_LOG ? silent.child({ member: spec.name }) : silent,
    ...overrides,
  };
}

/** Raw gRPC clients of one member. */
export class MemberClients {
  readonly kv: KVClient;
  readonly lease: LeaseClient;
  readonly cluster: ClusterClient;
  readonly maintenance: MaintenanceClient;
  readonly watch: WatchClient;

  constructor(readonly endpoint: string) {
    const c = credentials.createInsecure();
    this.kv = new KVClient(endpoint, c);
    this.lease = new LeaseClient(endpoint, c);
    this.cluster = new ClusterClient(endpoint, c);
    this.maintenance = new MaintenanceClient(endpoint, c);
    this.watch = new WatchClient(endpoint, c);
  }

  close(): void {
    for (const c of [this.kv, this.lease, this.cluster, this.maintenance, this.watch]) c.close();
  }
}

/** Runs a grpc-js unary call as a promise. */
export function call<T>(run: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    run((err, res) => (err ? reject(err) : resolve(res)));
  });
}

export const requireLeader = (): Metadata => {
  const md = new Metadata();
  md.set("hasleader", "true");
  return md;
};

export class TestCluster {
  readonly members: (Etcd | undefined)[];
  readonly clients: MemberClients[];

  private constructor(
    readonly specs: MemberSpec[],
    members: Etcd[],
    private readonly overrides: Partial<EmbedConfig>,
    /** Per member, the proxy in front of its peer port (when started with proxies). */
    readonly proxies: PeerProxy[],
  ) {
    this.members = members;
    this.clients = specs.map((s) => new MemberClients(`127.0.0.1:${s.clientPort}`));
  }

  /** Starts n members; with `proxied`, each member's peers reach it through a PeerProxy. */
  static async start(n: number, overrides: Partial<EmbedConfig> = {}, proxied = false): Promise<TestCluster> {
    const specs: MemberSpec[] = [];
    for (let i = 1; i <= n; i++) specs.push(await memberSpec(`m${i}`, proxied));
    const proxies = proxied
      ? await Promise.all(specs.map((s) => PeerProxy.start(s.peerPort, s.listenPeerPort)))
      : [];
    const ic = initialClusterOf(specs);
    const members = await Promise.all(specs.map((s) => startEtcd(embedConfigOf(s, ic, overrides))));
    return new TestCluster(specs, members, overrides, proxies);
  }

  get initialCluster(): Map<string, string[]> {
    return initialClusterOf(this.specs);
  }

  member(i: number): Etcd {
    const m = this.members[i];
    if (!m) throw new Error(`member ${i} is not running`);
    return m;
  }

  running(): number[] {
    return this.members.flatMap((m, i) => (m ? [i] : []));
  }

  /** Index of the member every running member agrees leads, waiting until they agree. */
  async leaderIndex(): Promise<number> {
    let found = -1;
    await waitFor(() => {
      const leads = this.running().map((i) => this.member(i).server.leader);
      const lead = leads[0];
      if (lead === undefined || lead === 0n || leads.some((l) => l !== lead)) return false;
      found = this.running().find((i) => this.member(i).server.memberId === lead) ?? -1;
      return found >= 0;
    }, "the members to agree on a leader");
    return found;
  }

  /** Waits until every running member has been connected to every other for `ms` (the strict reconfig check). */
  async peersConnectedFor(ms: number): Promise<void> {
    await waitFor(
      () =>
        this.running().every((i) =>
          this.running().every((j) => {
            if (i === j) return true;
            const t = this.member(i).server.peerActiveSince(this.member(j).server.memberId);
            return t !== undefined && t.getTime() <= Date.now() - ms;
          }),
        ),
      "peers connected for the health interval",
    );
  }

  async stopMember(i: number): Promise<void> {
    await this.members[i]?.close();
    this.members[i] = undefined;
  }

  async restartMember(i: number, overrides: Partial<EmbedConfig> = {}): Promise<Etcd> {
    const m = await startEtcd(
      embedConfigOf(this.specs[i]!, this.initialCluster, { ...this.overrides, ...overrides }),
    );
    this.members[i] = m;
    return m;
  }

  /** Adds a member spec (not started) to the list; returns its index. */
  addSpec(spec: MemberSpec): number {
    this.specs.push(spec);
    this.members.push(undefined);
    this.clients.push(new MemberClients(`127.0.0.1:${spec.clientPort}`));
    return this.specs.length - 1;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    await Promise.all(this.members.map((m) => m?.close()));
    await Promise.all(this.proxies.map((p) => p.close()));
    for (const s of this.specs) rmSync(s.dataDir, { recursive: true, force: true });
  }
}

/** Polls until cond holds; the deadline only bounds a hang (outcomes are asserted, not durations). */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = CLUSTER_WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
