// Owns the member: raft node + WAL + backend + transport + the apply loop, and the operations the API layer calls.
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_BCRYPT_COST, DEFAULT_SIMPLE_TOKEN_TTL_MS, newTokenProvider } from "../auth/index.js";
import { Backend } from "../backend/index.js";
import { Lessor, type LessorOptions, minLeaseTTL } from "../lease/index.js";
import { type Member, RaftCluster } from "../membership/cluster.js";
import * as mvcc from "../mvcc/index.js";
import {
  txn as applyTxn,
  checkPut,
  deleteRange as mvccDeleteRange,
  put as mvccPut,
} from "../mvcc/txn_request.js";
import {
  type AlarmMember,
  type AlarmRequest,
  AlarmRequest_AlarmAction,
  type AlarmResponse,
  AlarmType,
  type CompactionRequest,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  InternalRaftRequest,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type ResponseHeader,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
} from "../proto/index.js";
import { decodeConfChange } from "../raft/confchange.js";
import { Rand } from "../raft/rand.js";
import { ProposalDroppedError, type Status } from "../raft/rawnode.js";
import type { Entry, Snapshot, SnapshotMetadata, SoftState } from "../raft/types.js";
import type { PeerRequestHandler, PeerTlsOptions, TransportTiming } from "../transport/index.js";
import { AlarmStore, PUT_COST_OVERHEAD } from "./alarms.js";
import { AppliedWait } from "./applied_wait.js";
import {
  type AuthApplied,
  AuthOps,
  type Credentials,
  isAnonymous,
  isAuthRequest,
  MEMBER,
  NO_TOKEN,
} from "./auth_ops.js";
import { AutoCompactor, type CompactionMode } from "./auto_compactor.js";
import { bootstrapRaft, recoverSnapshotBackend, snapDbName } from "./bootstrap.js";
import { ClusterNet } from "./cluster_net.js";
import { ServerError } from "./errors.js";
import { explainFatal } from "./fatal.js";
import { LeaderForwarder } from "./forward.js";
import { IdGenerator } from "./id_gen.js";
import { idToHex } from "./ids.js";
import { type LeaseApplyResult, LeaseOps } from "./lease_ops.js";
import { HEALTH_INTERVAL_MS, MembershipOps, REMOVED_STOP_DELAY_MS } from "./membership_ops.js";
import { peerApiHandler } from "./peer_api.js";
import { RaftNode } from "./raft_node.js";
import { ReadIndexBatcher } from "./read_index.js";
import { Swappable } from "./swappable.js";
import { WaitRegistry } from "./wait.js";

/** The etcd release whose API and behaviour etcd-ts reproduces; reported by Status and /version. */
export const ETCD_COMPAT_VERSION = "3.4.23";
export const CLUSTER_VERSION = "3.4.0";

export interface ServerLogger {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
  error(o: object, msg: string): void;
  debug(o: object, msg: string): void;
}

export interface ServerConfig {
  name: string;
  dataDir: string;
  walDir?: string;
  initialAdvertisePeerUrls: string[];
  advertiseClientUrls: string[];
  /** name → peer URLs of every initial member. */
  initialCluster: Map<string, string[]>;
  initialClusterToken: string;
  initialClusterState: "new" | "existing";
  snapshotCount: number;
  /** Entries kept in the raft log behind a snapshot for slow followers (etcd's 5000). */
  snapshotCatchupEntries?: number;
  heartbeatMs: number;
  electionMs: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  preVote: boolean;
  /** --initial-election-tick-advance (default true): fast-forward the election clock once peers are connected. */
  initialElectionTickAdvance?: boolean;
  /** --strict-reconfig-check (default true): refuse reconfigurations that could lose quorum. */
  strictReconfigCheck?: boolean;
  /** How long peers must have been connected for a reconfiguration to be safe (etcd: 5 s; tests shorten it). */
  healthIntervalMs?: number;
  unsafeNoFsync: boolean;
  compactionBatchLimit: number;
  /** --auto-compaction-mode and -retention (periodic: ms; revision: revisions kept; 0 = off). */
  autoCompactionMode?: CompactionMode;
  autoCompactionRetention?: number;
  /** Interval of progress notifications to caught-up watchers that asked for them. */
  watchProgressNotifyIntervalMs?: number;
  /** Backend size at which writes are refused with NOSPACE (already resolved: 0 means etcd's 2 GiB). */
  quotaBackendBytes: bigint;
  /** --experimental-enable-lease-checkpoint / --experimental-enable-lease-checkpoint-persist. */
  leaseCheckpoint?: boolean;
  leaseCheckpointPersist?: boolean;
  /** How often the leader checkpoints a lease's remaining TTL (only leases with more TTL left than this). */
  leaseCheckpointIntervalMs?: number;
  /** Peer transport timings (tests shorten reconnect backoff). */
  transportTiming?: Partial<TransportTiming>;
  /** Peer TLS (--peer-cert-file, …) for dialling https:// peer URLs. */
  peerTls?: PeerTlsOptions;
  /** --auth-token ("simple" by default, or "jwt,…"), --auth-token-ttl (seconds) and --bcrypt-cost. */
  authToken?: string;
  authTokenTtlSec?: number;
  bcryptCost?: number;
  logger: ServerLogger;
}

type ApplyResult =
  | {
      ok: true;
      resp:
        | PutResponse
        | DeleteRangeResponse
        | mvcc.TxnResponse
        | { alarms: AlarmMember[] }
        | LeaseApplyResult["resp"]
        | AuthApplied
        | undefined;
      /** The store's revision right after this request applied (the response header's revision). */
      revision: bigint;
      compaction?: mvcc.CompactionHandle;
    }
  | { ok: false; err: unknown };

/**
 * etcd checkpoints every 5 minutes, so short leases restart from their full TTL; etcd-ts checkpoints every
 * 5 s so that a lease's remaining TTL survives a restart or a leader change within 5 s of accuracy.
 */
export const LEASE_CHECKPOINT_INTERVAL_MS = 5000;

/** etcd's adjustTicks waits up to rafthttp.ConnReadTimeout for peer connections, polling every 50 ms. */
const TICK_ADVANCE_WAIT_MS = 5_000;
const TICK_ADVANCE_POLL_MS = 50;
/** Keep this many entries before a snapshot in the log, so slow followers can catch up without one. */
export const SNAPSHOT_CATCHUP_ENTRIES = 5000n;
/** etcd's maxGapBetweenApplyAndCommitIndex: past this backlog new proposals get "too many requests". */
export const MAX_APPLY_BACKLOG = 5000n;

export class EtcdServer {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly cfg: ServerConfig;
  readonly watchable: mvcc.WatchableStore;
  private pendingNotify: mvcc.TxnResult[] = [];
  private autoCompactor: AutoCompactor | undefined;
  readonly backend: Backend;
  /** Rebuilt from the backend when a snapshot from the leader replaces it. */
  cluster: RaftCluster;
  alarms: AlarmStore;
  private readonly kvRef: Swappable<mvcc.KVStore>;
  private readonly lessorRef: Swappable<Lessor>;
  private readonly lessorOpts: LessorOptions;
  /** The Lease service's server side (api/grpc/lease.ts serves it). */
  readonly lease: LeaseOps;
  /** Runtime reconfiguration (the Cluster service's server side). */
  readonly membership: MembershipOps;
  /** Users, roles, tokens and permission checks (the Auth service's server side). */
  readonly auth: AuthOps;
  private readonly node: RaftNode;
  private readonly net: ClusterNet;
  private readonly forward: LeaderForwarder;
  private readonly peerHandler: PeerRequestHandler;
  private readonly waits = new WaitRegistry<ApplyResult>();
  private readonly applied: AppliedWait;
  private readonly reads: ReadIndexBatcher;
  private readonly ids: IdGenerator;
  private readonly snapDir: string;
  private lead = 0n;
  /** When the current leader was elected (etcd's leadElectedTime), ms since epoch. */
  private leadElectedAt = 0;
  private leaderWaiters = new Set<() => void>();
  private stopped = false;
  private removed = false;
  private published = false;
  private versionProposed = false;
  private restoring: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readyResolve!: () => void;
  /** Settles once this member has published itself and can serve (etcd's ReadyNotify). */
  readonly ready: Promise<void>;
  private doneResolve!: () => void;
  /** Settles once the member has stopped, for any reason (etcd's StopNotify): a removed member stops itself. */
  readonly done: Promise<void>;
  private snapshotIndex: bigint;
  /** Snapshots from the leader this member has swapped in since it started. */
  snapshotsApplied = 0;
  readonly requestTimeoutMs: number;

  private constructor(args: {
    cfg: ServerConfig;
    memberId: bigint;
    clusterId: bigint;
    backend: Backend;
    kv: mvcc.KVStore;
    lessor: Lessor;
    lessorOpts: LessorOptions;
    node: RaftNode;
    snapshotIndex: bigint;
    snapDir: string;
    remotes: Member[];
  }) {
    this.cfg = args.cfg;
    this.memberId = args.memberId;
    this.clusterId = args.clusterId;
    this.backend = args.backend;
    this.snapDir = args.snapDir;
    this.kvRef = new Swappable(args.kv);
    this.lessorRef = new Swappable(args.lessor);
    this.lessorOpts = args.lessorOpts;
    this.watchable = new mvcc.WatchableStore(this.kvRef.ref, {
      progressNotifyIntervalMs: args.cfg.watchProgressNotifyIntervalMs,
    });
    // Changes reach watchers after the apply batch commits, so watchers never see uncommitted state.
    args.kv.commitListener = (r) => this.pendingNotify.push(r);
    this.node = args.node;
    this.cluster = new RaftCluster(this.backend, this.clusterId);
    this.alarms = new AlarmStore(this.backend);
    this.applied = new AppliedWait(args.kv.consistentIndex);
    this.snapshotIndex = args.snapshotIndex;
    this.ids = new IdGenerator(this.memberId, Date.now());
    this.requestTimeoutMs = 5000 + 2 * args.cfg.electionMs;
    this.reads = new ReadIndexBatcher(
      { readIndex: (ctx) => this.node.readIndex(ctx), applied: this.applied, nextId: () => this.ids.next() },
      args.cfg.electionMs,
    );
    this.ready = new Promise((resolve) => {
      this.readyResolve = resolve;
    });
    this.done = new Promise((resolve) => {
      this.doneResolve = resolve;
    });
    this.forward = new LeaderForwarder({
      memberId: this.memberId,
      leaderMember: () => (this.lead === 0n ? undefined : this.cluster.member(this.lead)),
      nextLeaderEvent: (ms) => this.nextLeaderEvent(ms),
      isStopped: () => this.stopped,
      electionMs: args.cfg.electionMs,
      peerTls: args.cfg.peerTls,
    });
    this.auth = new AuthOps(
      this.backend,
      newTokenProvider(
        args.cfg.authToken ?? "simple",
        (args.cfg.authTokenTtlSec ?? DEFAULT_SIMPLE_TOKEN_TTL_MS / 1000) * 1000,
      ),
      {
        propose: (r, cred) => this.propose(r, cred),
        waitApplied: (index) => this.waitApplied(index),
        linearizableRead: () => this.linearizableRead(),
        header: (revision) => this.header(revision),
        lessor: () => this.lessor,
        bcryptCost: args.cfg.bcryptCost ?? DEFAULT_BCRYPT_COST,
        logger: args.cfg.logger,
      },
    );
    this.lease = new LeaseOps(this.lessorRef.ref, this.kvRef.ref, {
      propose: (r, cred) => this.propose(r, cred),
      linearizableRead: () => this.linearizableRead(),
      header: (revision) => this.header(revision),
      nextId: () => this.ids.next(),
      leader: () => this.lead,
      isLeader: () => this.lead === this.memberId,
      forwardRenew: (id) =>
        this.forward.renew(id, Date.now() + this.requestTimeoutMs, () => this.lease.leaseRenew(id)),
      forwardTimeToLive: (req) =>
        this.forward.timeToLive(req, Date.now() + this.requestTimeoutMs, () =>
          this.lease.leaseTimeToLive(req),
        ),
      checkQuota: (cost) => this.checkQuota(cost),
      requestTimeoutMs: this.requestTimeoutMs,
      logger: args.cfg.logger,
    });
    this.membership = new MembershipOps({
      memberId: this.memberId,
      cluster: () => this.cluster,
      strictReconfigCheck: args.cfg.strictReconfigCheck ?? true,
      healthIntervalMs: args.cfg.healthIntervalMs ?? HEALTH_INTERVAL_MS,
      leader: () => this.lead,
      raftStatus: () => this.node.raw.status(),
      proposeConfChange: (cc, deadline, alive) =>
        this.submit(() => this.node.proposeConfChange(cc), deadline, alive),
      applyToRaft: (cc) => this.node.applyConfChange(cc),
      nextId: () => this.ids.next(),
      activeSince: (id) => this.net.activeSince(id),
      addPeer: (m) => this.net.addPeer(m),
      removePeer: (id) => this.net.removePeer(id),
      removedSelf: () => this.onRemovedSelf(),
      timeoutError: (start) => this.timeoutError(start),
      forwardPromote: (id, deadline) =>
        this.forward.promote(id, deadline, () => this.membership.promoteLocal(id)),
      requestTimeoutMs: this.requestTimeoutMs,
      logger: args.cfg.logger,
    });
    const known = this.cluster.list();
    this.net = new ClusterNet(
      {
        memberId: this.memberId,
        clusterId: this.clusterId,
        node: this.node,
        openSnapshotStream: () => this.backend.openSnapshotStream(),
        freshSnapshotMetadata: () => this.freshSnapshotMetadata(),
        snapDir: this.snapDir,
        onRemoved: () => this.onRemovedSelf(),
        logger: args.cfg.logger,
        timing: args.cfg.transportTiming,
        tls: args.cfg.peerTls,
      },
      known.length > 0 ? known : args.remotes,
    );
    this.net.syncPeers(
      args.remotes.filter((m) => !this.cluster.isRemoved(m.id)),
      this.cluster.removedIds(),
    );
    this.peerHandler = peerApiHandler({
      clusterId: this.clusterId,
      raftHandler: () => this.net.transport.handler(),
      members: () => this.cluster.list(),
      leaseRenewLocal: (id) => this.leaseRenewLocal(id),
      leaseTimeToLiveLocal: (req) => this.leaseTimeToLiveLocal(req),
      promoteLocal: (id) => this.membership.promoteLocal(id),
      versions: () => ({ etcdserver: ETCD_COMPAT_VERSION, etcdcluster: CLUSTER_VERSION }),
      logger: args.cfg.logger,
    });
  }

  get kv(): mvcc.KVStore {
    return this.kvRef.current;
  }

  get lessor(): Lessor {
    return this.lessorRef.current;
  }

  /** Open (or create) the member's data dir and start raft. */
  static async start(cfg: ServerConfig): Promise<EtcdServer> {
    const log = cfg.logger;
    const memberDir = join(cfg.dataDir, "member");
    const walDir = cfg.walDir || join(memberDir, "wal");
    const snapDir = join(memberDir, "snap");
    const dbPath = join(snapDir, "db");
    await mkdir(snapDir, { recursive: true });
    const boot = await bootstrapRaft(cfg, walDir);
    await recoverSnapshotBackend(dbPath, snapDir, boot.snapshotIndex, log);
    const backend = Backend.open({ path: dbPath });
    log.info({ path: dbPath }, "opened backend db");
    const lessorOpts: LessorOptions = {
      now: () => performance.now(),
      minLeaseTTL: minLeaseTTL(Math.max(2, Math.round(cfg.electionMs / cfg.heartbeatMs)), cfg.heartbeatMs),
      checkpointing: cfg.leaseCheckpoint ?? false,
      persistCheckpoints: cfg.leaseCheckpointPersist ?? false,
      checkpointIntervalMs: cfg.leaseCheckpointIntervalMs ?? LEASE_CHECKPOINT_INTERVAL_MS,
    };
    // The lessor loads first: opening the store re-attaches every leased key to it.
    const lessor = Lessor.open(backend, lessorOpts);
    const kv = mvcc.KVStore.open(backend, {
      compactionBatchLimit: cfg.compactionBatchLimit,
      leaseHooks: lessor,
    });
    const cluster = new RaftCluster(backend, boot.clusterId);
    if (cluster.isRemoved(boot.memberId)) {
      await kv.close();
      await backend.close();
      await boot.wal.close();
      throw new Error("the member has been permanently removed from the cluster");
    }
    const node = new RaftNode({
      id: boot.memberId,
      storage: boot.storage,
      wal: boot.wal,
      heartbeatMs: cfg.heartbeatMs,
      electionTicks: Math.max(2, Math.round(cfg.electionMs / cfg.heartbeatMs)),
      preVote: cfg.preVote,
      rand: new Rand(Number(boot.memberId & 0xffffffffn) ^ Date.now()),
      bootstrapPeers: boot.bootstrapPeers,
      unsafeNoFsync: cfg.unsafeNoFsync,
      logger: log,
    });
    const server = new EtcdServer({
      cfg,
      memberId: boot.memberId,
      clusterId: boot.clusterId,
      backend,
      kv,
      lessor,
      lessorOpts,
      node,
      snapshotIndex: boot.snapshotIndex,
      snapDir,
      remotes: boot.remotes,
    });
    server.run();
    return server;
  }

  /** The peer port's request handler: raft streams and snapshots, and the peer API (members, leases). */
  peerRequestHandler(): PeerRequestHandler {
    return this.peerHandler;
  }

  private run(): void {
    this.node.start({
      apply: (entries) => this.applyEntries(entries),
      readStates: (rs) => this.reads.onReadStates(rs),
      softState: (ss) => this.onSoftState(ss),
      send: (msgs) => this.net.send(msgs),
      restoreSnapshot: (snap) => this.restoreSnapshot(snap),
      fatal: (err) => {
        void explainFatal(err, this.cfg.dataDir).then(({ error, diskFull }) => {
          // The backend library may have printed a line without a newline to stderr first; start a fresh line.
          if (diskFull) process.stderr.write("\n");
          this.cfg.logger.error({ error }, "raft loop failed; stopping member");
          void this.stop();
        });
      },
    });
    this.net.start();
    if ((this.cfg.autoCompactionRetention ?? 0) > 0) {
      this.autoCompactor = new AutoCompactor(
        {
          revision: () => this.kv.revision,
          compact: async (revision) => {
            await this.compact({ revision, physical: false });
          },
          isLeader: () => this.lead === this.memberId,
          now: () => Date.now(),
          setTimer: (fn, ms) => {
            const t = setTimeout(fn, ms);
            t.unref();
            return { clear: () => clearTimeout(t) };
          },
          logger: this.cfg.logger,
        },
        this.cfg.autoCompactionMode ?? "periodic",
        this.cfg.autoCompactionRetention ?? 0,
      );
      this.autoCompactor.start();
    }
    const voters = this.node.raw.status().confState.voters;
    if (voters.length === 1 && voters[0] === this.memberId) {
      // A single voter need not wait a whole election timeout (etcd fast-forwards its election ticks).
      this.cfg.logger.info(
        { "local-member-id": idToHex(this.memberId) },
        "started as single-node; fast-forwarding election ticks",
      );
      this.node.campaignNow();
    } else if (this.cfg.initialElectionTickAdvance ?? true) {
      void this.advanceTicksOnceConnected();
    }
    void this.publish();
  }

  /**
   * etcd's adjustTicks (--initial-election-tick-advance, default on): once more than one other member is
   * connected (checked every 50 ms for up to 5 s), move the election clock forward by electionTicks - 2 ticks,
   * so a fresh cluster elects its first leader after about two ticks instead of a whole election timeout. A
   * leader's heartbeat resets the clock, so a member joining a cluster that has one loses nothing.
   */
  private async advanceTicksOnceConnected(): Promise<void> {
    const electionTicks = Math.max(2, Math.round(this.cfg.electionMs / this.cfg.heartbeatMs));
    for (let waited = 0; waited < TICK_ADVANCE_WAIT_MS; waited += TICK_ADVANCE_POLL_MS) {
      await new Promise((r) => setTimeout(r, TICK_ADVANCE_POLL_MS));
      if (this.stopped) return;
      const others = this.cluster.list().filter((m) => m.id !== this.memberId);
      const active = others.filter((m) => this.net.activeSince(m.id) !== undefined).length;
      if (active > 1) {
        const ticks = electionTicks - 2;
        this.cfg.logger.info(
          {
            "local-member-id": idToHex(this.memberId),
            "forward-ticks": ticks,
            "forward-duration": `${ticks * this.cfg.heartbeatMs}ms`,
            "election-ticks": electionTicks,
            "election-timeout": `${this.cfg.electionMs}ms`,
            "active-remote-members": active,
          },
          "initialized peer connections; fast-forwarding election ticks",
        );
        this.node.advanceTicks(ticks);
        return;
      }
    }
  }

  private onSoftState(ss: SoftState): void {
    // Promotion waits for the new term's empty entry to apply (applyEntry); demotion is immediate.
    if (ss.raftState !== "Leader" && this.lessor.isPrimary) this.lease.demote();
    if (ss.lead !== this.lead) {
      const was = this.lead;
      this.lead = ss.lead;
      if (ss.lead !== 0n) {
        this.leadElectedAt = Date.now();
        this.cfg.logger.info(
          { "local-member-id": idToHex(this.memberId), leader: idToHex(ss.lead), term: Number(this.term) },
          was === 0n ? "elected leader" : "leader changed",
        );
        // A ReadIndex round sent to the old leader may never be answered (etcd: ErrLeaderChanged).
        this.reads.leaderChanged();
      } else {
        this.cfg.logger.info(
          {
            "local-member-id": idToHex(this.memberId),
            "lost-leader-id": idToHex(was),
            term: Number(this.term),
          },
          "lost leader",
        );
      }
      if (ss.lead === this.memberId && this.published) void this.proposeClusterVersion();
      const waiters = this.leaderWaiters;
      this.leaderWaiters = new Set();
      for (const w of waiters) w();
    }
  }

  /** Resolves on the next change of leader, or after ms. */
  private nextLeaderEvent(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.leaderWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.leaderWaiters.add(done);
    });
  }

  /**
   * Publish our name and client URLs through raft (etcd's publish), retrying until it succeeds; the leader then
   * sets the cluster version. The member is ready once published.
   */
  private async publish(): Promise<void> {
    while (!this.stopped && !this.published) {
      try {
        await this.proposeInternal({
          clusterMemberAttrSet: {
            memberID: this.memberId,
            memberAttributes: { name: this.cfg.name, clientUrls: this.cfg.advertiseClientUrls },
          },
        });
        this.published = true;
        this.cfg.logger.info(
          { "local-member-id": idToHex(this.memberId), "cluster-id": idToHex(this.clusterId) },
          "published local member to cluster through raft",
        );
        if (this.lead === this.memberId) await this.proposeClusterVersion();
        this.readyResolve();
      } catch (err) {
        if (this.stopped) return;
        this.cfg.logger.warn({ error: String(err) }, "failed to publish local member to cluster");
        await this.nextLeaderEvent(this.cfg.heartbeatMs);
      }
    }
  }

  /** The leader sets the cluster version once (etcd's monitorVersions, with every member at our version). */
  private async proposeClusterVersion(): Promise<void> {
    if (this.versionProposed || this.cluster.version() !== undefined) return;
    this.versionProposed = true;
    try {
      await this.proposeInternal({ clusterVersionSet: { ver: CLUSTER_VERSION } });
    } catch (err) {
      this.versionProposed = false;
      if (!this.stopped) this.cfg.logger.warn({ error: String(err) }, "failed to set cluster version");
    }
  }

  get term(): bigint {
    return this.node.raw.raft.term;
  }

  get leader(): bigint {
    return this.lead;
  }

  get isLearner(): boolean {
    return this.node.raw.raft.isLearner;
  }

  get raftIndex(): bigint {
    return this.node.raw.raft.raftLog.lastIndex();
  }

  get raftAppliedIndex(): bigint {
    return this.applied.index;
  }

  get committedIndex(): bigint {
    return this.node.raw.raft.raftLog.committed;
  }

  header(revision: bigint): ResponseHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision, raftTerm: this.term };
  }

  // ---- apply ------------------------------------------------------------------------------------

  private applyEntries(entries: Entry[]): void {
    let last = 0n;
    this.backend.batch(() => {
      for (const e of entries) {
        this.applyEntry(e);
        last = e.index;
      }
    });
    const committed = this.pendingNotify;
    this.pendingNotify = [];
    for (const r of committed) this.watchable.notify(r.changes, r.revision);
    this.applied.advance(last);
    this.maybeSnapshot(last);
  }

  private applyEntry(e: Entry): void {
    const ci = { index: e.index, term: e.term };
    const fresh = e.index > this.kv.consistentIndex;
    if (e.type === "ConfChange") {
      // Raft's tracker is rebuilt on restart from the snapshot, so conf changes are re-applied to it (replayed
      // ones only to raft; see MembershipOps.apply).
      this.membership.apply(e.index, decodeConfChange(e.data), fresh);
      if (fresh) this.kv.saveConsistentIndex(ci);
      return;
    }
    if (!fresh) return;
    if (e.data.length === 0) {
      // A new leader's empty entry.
      this.kv.saveConsistentIndex(ci);
      // etcd promotes the lessor once the leader has applied every entry of earlier terms.
      if (this.node.raw.raft.state === "Leader") this.lease.promote(this.cfg.electionMs);
      return;
    }
    const req = InternalRaftRequest.decode(e.data);
    const id = req.header?.ID ?? req.ID;
    let result: ApplyResult;
    try {
      result = this.applyRequest(req, ci);
    } catch (err) {
      // A request that fails at apply changes nothing; the entry still counts as applied.
      this.kv.saveConsistentIndex(ci);
      result = { ok: false, err };
    }
    this.waits.trigger(id, result);
  }

  private applyRequest(req: InternalRaftRequest, ci: mvcc.ConsistentIndex): ApplyResult {
    const noLease = (lease: bigint): void => {
      if (lease !== 0n && !this.lessor.lookup(lease)) throw new ServerError("LeaseNotFound");
    };
    if (req.alarm) {
      this.kv.saveConsistentIndex(ci);
      return { ok: true, resp: { alarms: this.applyAlarm(req.alarm) }, revision: this.kv.revision };
    }
    // While NOSPACE is raised the cluster takes no more puts (etcd's capped applier).
    const capped = this.alarms.has(AlarmType.NOSPACE);
    if (capped && (req.put || req.leaseGrant || (req.txn && txnPutCost(req.txn) > 0)))
      throw new ServerError("NoSpace");
    if (isAuthRequest(req)) {
      const resp = this.auth.apply(req, ci.index);
      this.kv.saveConsistentIndex(ci);
      return { ok: true, resp, revision: this.kv.revision };
    }
    // etcd's authApplierV3: the user and auth revision the entry was proposed with must allow it.
    this.auth.checkApply(req);
    if (req.leaseGrant) return { ok: true, ...this.lease.applyGrant(req.leaseGrant, ci) };
    if (req.leaseRevoke) return { ok: true, ...this.lease.applyRevoke(req.leaseRevoke, ci) };
    if (req.leaseCheckpoint) return { ok: true, ...this.lease.applyCheckpoint(req.leaseCheckpoint, ci) };
    if (req.put) {
      checkPut(this.kv, req.put, noLease);
      const w = this.kv.write(ci);
      let resp: PutResponse;
      try {
        resp = { prevKv: mvccPut(w, req.put).prevKv };
      } finally {
        w.end();
      }
      return { ok: true, resp, revision: this.kv.revision };
    }
    if (req.deleteRange) {
      const w = this.kv.write(ci);
      let r: mvcc.DeleteRangeResponse;
      try {
        r = mvccDeleteRange(w, req.deleteRange);
      } finally {
        w.end();
      }
      return { ok: true, resp: { deleted: r.deleted, prevKvs: r.prevKvs }, revision: this.kv.revision };
    }
    if (req.txn) {
      const { response } = applyTxn(this.kv, req.txn as mvcc.TxnRequest, {
        checkLease: noLease,
        consistentIndex: ci,
      });
      return { ok: true, resp: response, revision: response.revision };
    }
    if (req.compaction) {
      const handle = this.kv.compact(req.compaction.revision);
      this.kv.saveConsistentIndex(ci);
      return { ok: true, resp: undefined, revision: this.kv.revision, compaction: handle };
    }
    if (req.clusterMemberAttrSet) {
      const a = req.clusterMemberAttrSet;
      this.cluster.setAttributes(
        a.memberID,
        a.memberAttributes?.name ?? "",
        a.memberAttributes?.clientUrls ?? [],
      );
      this.kv.saveConsistentIndex(ci);
      return { ok: true, resp: undefined, revision: this.kv.revision };
    }
    if (req.clusterVersionSet) {
      this.kv.saveConsistentIndex(ci);
      this.cluster.setVersion(req.clusterVersionSet.ver);
      const ver = req.clusterVersionSet.ver.split(".").slice(0, 2).join(".");
      this.cfg.logger.info(
        { "cluster-id": idToHex(this.clusterId), "cluster-version": ver },
        "set initial cluster version",
      );
      this.cfg.logger.info({ "cluster-version": ver }, "enabled capabilities for version");
      return { ok: true, resp: undefined, revision: this.kv.revision };
    }
    this.kv.saveConsistentIndex(ci);
    return { ok: false, err: new Error("etcdserver: unknown raft request") };
  }

  private applyAlarm(a: AlarmRequest): AlarmMember[] {
    switch (a.action) {
      case AlarmRequest_AlarmAction.GET:
        return this.alarms.get(a.alarm);
      case AlarmRequest_AlarmAction.ACTIVATE: {
        if (a.alarm === AlarmType.NONE) return [];
        const m = this.alarms.activate(a.memberID, a.alarm);
        if (m)
          this.cfg.logger.warn(
            { "member-id": idToHex(a.memberID), alarm: AlarmType[a.alarm] },
            "alarm raised",
          );
        return m ? [m] : [];
      }
      case AlarmRequest_AlarmAction.DEACTIVATE: {
        const m = this.alarms.deactivate(a.memberID, a.alarm);
        if (m)
          this.cfg.logger.info(
            { "member-id": idToHex(a.memberID), alarm: AlarmType[a.alarm] },
            "alarm disarmed",
          );
        return m ? [m] : [];
      }
      default:
        return [];
    }
  }

  /** Every --snapshot-count applied entries: record a raft snapshot and release the WAL before it. */
  private maybeSnapshot(applied: bigint): void {
    if (applied - this.snapshotIndex <= BigInt(this.cfg.snapshotCount)) return;
    const index = applied;
    this.snapshotIndex = index;
    const confState = this.node.raw.status().confState;
    const catchup = BigInt(this.cfg.snapshotCatchupEntries ?? SNAPSHOT_CATCHUP_ENTRIES);
    void (async () => {
      // The backend must durably cover what the WAL stops covering.
      await this.backend.flush();
      // A snapshot received from the leader meanwhile is newer: this one is then obsolete.
      if (index <= this.node.storage.snapshot().metadata.index) return;
      const snap = this.node.storage.createSnapshot(index, confState, new Uint8Array(0));
      await this.node.wal.saveSnapshot(snap.metadata);
      const compactTo = index > catchup ? index - catchup : 0n;
      if (compactTo > this.node.storage.firstIndex()) this.node.storage.compact(compactTo);
      await this.node.wal.releaseLockTo(index);
      this.cfg.logger.info({ "snapshot-index": Number(index) }, "saved snapshot");
    })().catch((err) => this.cfg.logger.warn({ error: String(err) }, "failed to save snapshot"));
  }

  /** Raft snapshot metadata at the applied index: what a follower gets along with a backend copy. */
  private freshSnapshotMetadata(): SnapshotMetadata | undefined {
    const index = this.applied.index;
    try {
      return { index, term: this.node.storage.term(index), confState: this.node.raw.status().confState };
    } catch {
      return undefined;
    }
  }

  /**
   * Raft took a snapshot from the leader: swap the received backend file in and rebuild every store on it
   * (etcd's applySnapshot). Watchers stay; they catch up from the new backend.
   */
  private async restoreSnapshot(snap: Snapshot): Promise<void> {
    const index = snap.metadata.index;
    const file = join(this.snapDir, snapDbName(index));
    let release!: () => void;
    this.restoring = new Promise((r) => {
      release = r;
    });
    try {
      this.cfg.logger.info({ "snapshot-index": Number(index) }, "applying snapshot");
      if (this.lessor.isPrimary) this.lease.demote();
      const old = this.kv;
      await old.close();
      await this.backend.restoreFrom(file);
      const lessor = Lessor.open(this.backend, this.lessorOpts);
      const kv = mvcc.KVStore.open(this.backend, {
        compactionBatchLimit: this.cfg.compactionBatchLimit,
        leaseHooks: lessor,
      });
      kv.commitListener = (r) => this.pendingNotify.push(r);
      this.lessorRef.set(lessor);
      this.kvRef.set(kv);
      this.cluster = new RaftCluster(this.backend, this.clusterId);
      this.alarms = new AlarmStore(this.backend);
      this.auth.recover(this.backend);
      this.snapshotIndex = index;
      this.snapshotsApplied++;
      this.applied.advance(kv.consistentIndex);
      this.net.syncPeers(this.cluster.list(), this.cluster.removedIds());
      this.resyncWatchers();
      for (const n of await readdir(this.snapDir)) {
        if (n.endsWith(".snap.db") && n <= snapDbName(index))
          await rm(join(this.snapDir, n), { force: true });
      }
      this.cfg.logger.info(
        { "snapshot-index": Number(index), "consistent-index": Number(kv.consistentIndex) },
        "applied snapshot",
      );
      if (this.cluster.isRemoved(this.memberId)) this.onRemovedSelf();
    } finally {
      this.restoring = undefined;
      release();
    }
  }

  /**
   * After a restore the store jumped ahead of what watchers were told. Notifying the watchable store of the new
   * revision makes it resync: its synced watchers catch up from the backend (or are cancelled as compacted).
   */
  private resyncWatchers(): void {
    const from = this.watchable.revision;
    const to = this.kv.revision;
    if (to <= from) return;
    let evs: mvcc.Event[] = [];
    try {
      evs = this.kv.events(to, to, Number.MAX_SAFE_INTEGER);
    } catch {
      // the revision was compacted away
    }
    if (evs.length === 0 && to !== from + 1n) {
      // The store resyncs on any gap and reads the events itself, so this one only marks the revision.
      evs = [
        {
          type: "PUT",
          kv: {
            key: Buffer.alloc(0),
            createRevision: to,
            modRevision: to,
            version: 1n,
            value: Buffer.alloc(0),
            lease: 0n,
          },
        } as mvcc.Event,
      ];
    }
    if (evs.length > 0) this.watchable.notify(evs, to);
  }

  // ---- requests -----------------------------------------------------------------------------------

  private async proposeInternal(
    r: Partial<InternalRaftRequest>,
    cred: Credentials = MEMBER,
  ): Promise<ApplyResult> {
    if (this.stopped) throw new ServerError("Stopped");
    // etcd's processInternalRaftRequestOnce: the entry carries the user and auth revision of the caller's token.
    const ai = isAnonymous(cred) ? undefined : await this.auth.authInfo(cred);
    // etcd refuses new proposals while the apply loop is far behind the commit index.
    if (this.committedIndex > this.applied.index + MAX_APPLY_BACKLOG)
      throw new ServerError("TooManyRequests");
    const id = this.ids.next();
    // Built directly (not fromPartial): the request fields are already complete decoded messages.
    const req: InternalRaftRequest = {
      ID: 0n,
      ...r,
      header: {
        ID: id,
        username: ai?.username ?? "",
        authRevision: ai?.revision ?? 0n,
        requesterMemberId: 0n,
      },
    };
    const data = InternalRaftRequest.encode(req).finish();
    if (data.length > this.cfg.maxRequestBytes) throw new ServerError("RequestTooLarge");
    const done = this.waits.register(id);
    const start = Date.now();
    const timer = setTimeout(() => this.waits.fail(id, this.timeoutError(start)), this.requestTimeoutMs);
    this.submit(
      () => this.node.propose(data),
      start + this.requestTimeoutMs,
      () => this.waits.isRegistered(id),
    ).catch((err: unknown) => this.waits.fail(id, err));
    try {
      return await done;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Hands a proposal to raft once there is a leader (etcd's node blocks proposals while there is none), trying
   * again when raft drops it, until the deadline or until the caller gave up (alive() false).
   */
  private async submit(propose: () => void, deadline: number, alive: () => boolean): Promise<void> {
    for (;;) {
      if (this.stopped) throw new ServerError("Stopped");
      if (!alive()) return;
      if (this.lead !== 0n) {
        try {
          propose();
          return;
        } catch (err) {
          if (!(err instanceof ProposalDroppedError)) throw err;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) return; // the caller's timer answers
      await this.nextLeaderEvent(Math.min(left, this.cfg.heartbeatMs));
    }
  }

  /** etcd's parseProposeCtxErr: which "request timed out" a request that started at `start` gets. */
  private timeoutError(start: number): ServerError {
    const prevLeadLost = this.leadElectedAt - 2 * this.cfg.electionMs;
    if (start > prevLeadLost && start < this.leadElectedAt) return new ServerError("TimeoutDueToLeaderFail");
    const connectedSince = (id: bigint): boolean => {
      const t = this.net.activeSince(id);
      return t !== undefined && t.getTime() <= start;
    };
    if (this.lead === this.memberId) {
      const members = this.cluster.list();
      const connected = members.filter((m) => m.id === this.memberId || connectedSince(m.id)).length;
      if (connected < Math.floor(members.length / 2) + 1)
        return new ServerError("TimeoutDueToConnectionLost");
    } else if (this.lead !== 0n && !connectedSince(this.lead)) {
      return new ServerError("TimeoutDueToConnectionLost");
    }
    return new ServerError("Timeout");
  }

  private async propose(
    r: Partial<InternalRaftRequest>,
    cred: Credentials = MEMBER,
  ): Promise<ApplyResult & { ok: true }> {
    const res = await this.proposeInternal(r, cred);
    if (!res.ok) throw res.err;
    return res;
  }

  /** Whether this member applies entry `index` within the request timeout (a simple token's issuing entry). */
  private async waitApplied(index: bigint): Promise<boolean> {
    if (index <= this.applied.index) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.requestTimeoutMs);
    });
    try {
      return await Promise.race([this.applied.wait(index).then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Wait until this member has applied everything committed before the call (ReadIndex, batched). */
  async linearizableRead(): Promise<void> {
    if (this.stopped) throw new ServerError("Stopped");
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ServerError("Timeout")), this.requestTimeoutMs);
    });
    try {
      await Promise.race([this.reads.wait(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async range(req: RangeRequest, cred: Credentials = NO_TOKEN): Promise<RangeResponse> {
    if (!req.serializable) await this.linearizableRead();
    if (this.restoring) await this.restoring;
    const r = await this.auth.serialized(
      cred,
      (ai) => this.auth.store.isRangePermitted(ai, req.key, req.rangeEnd),
      () => mvcc.rangeRequest(this.kv, req as mvcc.RangeRequest),
    );
    return { header: this.header(r.revision), kvs: r.kvs, more: r.more, count: r.count };
  }

  /**
   * etcd's quota check before proposing a Put or Txn: if the backend plus this request's cost would reach
   * the quota, raise the NOSPACE alarm cluster-wide and refuse.
   */
  private async checkQuota(cost: number): Promise<void> {
    if (BigInt(this.backend.size() + cost) < this.cfg.quotaBackendBytes) return;
    try {
      await this.proposeInternal({
        alarm: {
          action: AlarmRequest_AlarmAction.ACTIVATE,
          memberID: this.memberId,
          alarm: AlarmType.NOSPACE,
        },
      });
    } finally {
      // The request is refused whether or not the alarm could be raised.
    }
    throw new ServerError("NoSpace");
  }

  /** Maintenance.Alarm: every action goes through raft, GET included (as etcd). etcd sends it without a header. */
  async alarm(req: AlarmRequest): Promise<AlarmResponse> {
    const res = await this.propose({ alarm: req });
    return { header: undefined, alarms: (res.resp as { alarms: AlarmMember[] }).alarms };
  }

  /** Status.errors: one line per raised alarm, in gogoproto's text form as etcd prints it. */
  alarmErrors(): string[] {
    return this.alarms.get(AlarmType.NONE).map((m) => `memberID:${m.memberID} alarm:${AlarmType[m.alarm]} `);
  }

  /** etcd's raftRequest: proposed again when refused for a stale auth revision (the token gets the new one). */
  private async proposeAuthRetry(
    r: Partial<InternalRaftRequest>,
    cred: Credentials,
  ): Promise<ApplyResult & { ok: true }> {
    for (;;) {
      const before = this.auth.store.revision;
      try {
        return await this.propose(r, cred);
      } catch (err) {
        if (!this.auth.shouldRetry(err, before)) throw err;
      }
    }
  }

  async put(req: PutRequest, cred: Credentials = NO_TOKEN): Promise<PutResponse> {
    await this.checkQuota(PUT_COST_OVERHEAD + req.key.length + req.value.length);
    const res = await this.proposeAuthRetry({ put: req }, cred);
    const resp = res.resp as PutResponse;
    return { header: this.header(res.revision), prevKv: resp.prevKv };
  }

  async deleteRange(req: DeleteRangeRequest, cred: Credentials = NO_TOKEN): Promise<DeleteRangeResponse> {
    const res = await this.proposeAuthRetry({ deleteRange: req }, cred);
    const resp = res.resp as DeleteRangeResponse;
    return { header: this.header(res.revision), deleted: resp.deleted, prevKvs: resp.prevKvs };
  }

  async txn(req: TxnRequest, cred: Credentials = NO_TOKEN): Promise<TxnResponse> {
    if (isTxnReadonly(req)) {
      // Read-only txns skip the log: a linearizable read (unless every range is serializable), then evaluate.
      if (!isTxnSerializable(req)) await this.linearizableRead();
      if (this.restoring) await this.restoring;
      const { response } = await this.auth.serialized(
        cred,
        (ai) => this.auth.checkTxn(ai, req),
        () => applyTxn(this.kv, req as mvcc.TxnRequest),
      );
      return toTxnResponse(response, this.header(response.revision));
    }
    await this.checkQuota(txnPutCost(req));
    const res = await this.proposeAuthRetry({ txn: req }, cred);
    const resp = res.resp as mvcc.TxnResponse;
    return toTxnResponse(resp, this.header(res.revision));
  }

  async compact(req: CompactionRequest, cred: Credentials = NO_TOKEN): Promise<{ header: ResponseHeader }> {
    // Like etcd, even a compaction the store will refuse (future or already compacted) takes a log entry:
    // the revision is only checked when the entry applies. It needs no permission (3.4).
    const res = await this.propose({ compaction: req }, cred);
    if (req.physical && res.compaction) await res.compaction.done;
    // etcd reads the store's revision once the compaction is answered (after the physical wait).
    return { header: this.header(this.kv.revision) };
  }

  // ---- cluster ----------------------------------------------------------------------------------

  /** Renew on this member for a follower's /leases request: only the leader's lessor renews. */
  private async leaseRenewLocal(id: bigint): Promise<bigint> {
    if (this.lead !== this.memberId) throw new ServerError("NotLeader");
    return this.lease.leaseRenew(id);
  }

  private async leaseTimeToLiveLocal(req: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse> {
    if (this.lead !== this.memberId) throw new ServerError("NotLeader");
    return this.lease.leaseTimeToLive(req);
  }

  /**
   * Maintenance.MoveLeader: only on the leader; the target must be a voting member. Waits until the target
   * leads (etcd polls every heartbeat), or fails with etcd's "leader transfer took too long".
   */
  async moveLeader(target: bigint, timeoutMs = this.requestTimeoutMs): Promise<void> {
    if (this.lead !== this.memberId) throw new ServerError("NotLeader");
    const m = this.cluster.member(target);
    if (!m || m.isLearner) throw new ServerError("BadLeaderTransferee");
    this.cfg.logger.info(
      {
        "local-member-id": idToHex(this.memberId),
        "current-leader-member-id": idToHex(this.lead),
        "transferee-member-id": idToHex(target),
      },
      "leadership transfer starting",
    );
    this.node.transferLeader(target);
    const deadline = Date.now() + timeoutMs;
    while (this.lead !== target) {
      if (this.stopped) throw new ServerError("Stopped");
      const left = deadline - Date.now();
      if (left <= 0) throw new ServerError("LeaderTransferTimeout");
      await this.nextLeaderEvent(Math.min(left, this.cfg.heartbeatMs));
    }
    this.cfg.logger.info(
      { "local-member-id": idToHex(this.memberId), "transferee-member-id": idToHex(target) },
      "leadership transfer finished",
    );
  }

  /** The raft status (leader: every member's progress). */
  raftStatus(): Status {
    return this.node.raw.status();
  }

  /** Since when this member has had a stream to `id` (undefined while it has none). */
  peerActiveSince(id: bigint): Date | undefined {
    return this.net.activeSince(id);
  }

  /** Removed from the cluster: keep running a moment so the removal reaches the others, then stop. */
  private onRemovedSelf(): void {
    if (this.removed || this.stopped) return;
    this.removed = true;
    this.cfg.logger.warn(
      { "local-member-id": idToHex(this.memberId) },
      "the member has been permanently removed from the cluster",
    );
    const t = setTimeout(() => void this.stop(), REMOVED_STOP_DELAY_MS);
    t.unref();
  }

  /**
   * etcd's TransferLeadership on stop: a leader of several voters hands leadership to the voter it has been
   * connected to longest, so the cluster does not wait an election timeout.
   */
  private async handOffLeadership(): Promise<void> {
    if (this.lead !== this.memberId || this.removed || this.node.isStopped) return;
    const voters = this.cluster.votingMembers().filter((m) => m.id !== this.memberId);
    let best: bigint | undefined;
    let since = Number.POSITIVE_INFINITY;
    for (const m of voters) {
      const t = this.net.activeSince(m.id)?.getTime();
      if (t !== undefined && t < since) {
        since = t;
        best = m.id;
      }
    }
    if (best === undefined) return;
    try {
      // Raft abandons a transfer that has not finished within an election timeout.
      await this.moveLeader(best, 2 * this.cfg.electionMs);
    } catch (err) {
      this.cfg.logger.warn({ error: String(err) }, "leadership transfer failed");
    }
  }

  /** Stops the member (a leader first hands leadership off); resolves once everything is closed. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    await this.handOffLeadership();
    this.stopped = true;
    this.lease.stop();
    this.reads.failAll();
    this.waits.failAll(new ServerError("Stopped"));
    this.membership.failAll(new ServerError("Stopped"));
    for (const w of [...this.leaderWaiters]) w();
    await this.node.stop();
    await this.net.stop();
    if (this.restoring) await this.restoring;
    await this.node.wal.close();
    this.autoCompactor?.stop();
    this.watchable.close();
    await this.kv.close();
    await this.backend.close();
    this.doneResolve();
  }
}

/** etcd 3.4's isTxnReadonly: only Range ops at the top level (a nested txn, even read-only, goes through raft). */
function isTxnReadonly(r: TxnRequest): boolean {
  return [...r.success, ...r.failure].every((op) => op.request?.$case === "requestRange");
}

/** etcd 3.4's isTxnSerializable: every op a serializable Range (so a txn without ops needs no ReadIndex). */
function isTxnSerializable(r: TxnRequest): boolean {
  return [...r.success, ...r.failure].every(
    (op) => op.request?.$case === "requestRange" && op.request.value.serializable,
  );
}

/**
 * The outer response gets the full header. Sub-responses carry a header with only the revision their op saw
 * inside the txn (a Range before the first write reports the old revision); a nested txn's header is empty.
 */
function toTxnResponse(resp: mvcc.TxnResponse, header: ResponseHeader): TxnResponse {
  const rev = (revision: bigint): ResponseHeader => ({ clusterId: 0n, memberId: 0n, revision, raftTerm: 0n });
  const convert = (t: mvcc.TxnResponse): TxnResponse => ({
    header: rev(t.revision),
    succeeded: t.succeeded,
    responses: t.responses.map((op): ResponseOp => {
      const r = op.response;
      switch (r?.$case) {
        case "responseRange": {
          const v = r.value;
          return {
            response: {
              $case: "responseRange",
              value: { header: rev(v.revision), kvs: v.kvs, more: v.more, count: v.count },
            },
          };
        }
        case "responsePut":
          return {
            response: {
              $case: "responsePut",
              value: { header: rev(r.value.revision), prevKv: r.value.prevKv },
            },
          };
        case "responseDeleteRange": {
          const v = r.value;
          return {
            response: {
              $case: "responseDeleteRange",
              value: { header: rev(v.revision), deleted: v.deleted, prevKvs: v.prevKvs },
            },
          };
        }
        case "responseTxn":
          return { response: { $case: "responseTxn", value: convert(r.value) } };
        case undefined:
          return {};
        default: {
          const never: never = r;
          throw new Error(`unknown response op ${(never as { $case: string }).$case}`);
        }
      }
    }),
  });
  return { ...convert(resp), header };
}

/** etcd's quota cost of a txn: the larger of its branches' put costs (0 for a txn without puts). */
export function txnPutCost(r: TxnRequest): number {
  const branch = (ops: TxnRequest["success"]): number => {
    let cost = 0;
    for (const op of ops) {
      const q = op.request;
      if (q?.$case === "requestPut") cost += PUT_COST_OVERHEAD + q.value.key.length + q.value.value.length;
      else if (q?.$case === "requestTxn") cost += txnPutCost(q.value);
    }
    return cost;
  };
  return Math.max(branch(r.success), branch(r.failure));
}
