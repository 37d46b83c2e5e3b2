// Owns the member: raft node + WAL + backend + the apply loop, and the KV operations the API layer calls.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Backend } from "../backend/index.js";
import { Lessor, minLeaseTTL } from "../lease/index.js";
import { decodeMember, encodeMember, type Member, RaftCluster } from "../membership/cluster.js";
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
import { ProposalDroppedError } from "../raft/rawnode.js";
import { MemoryStorage } from "../raft/storage.js";
import type { Entry, SoftState } from "../raft/types.js";
import { Wal } from "../wal/index.js";
import { AlarmStore, PUT_COST_OVERHEAD } from "./alarms.js";
import { AppliedWait } from "./applied_wait.js";
import { AutoCompactor, type CompactionMode } from "./auto_compactor.js";
import { ServerError } from "./errors.js";
import { IdGenerator } from "./id_gen.js";
import { clusterId as deriveClusterId, memberId as deriveMemberId, idToHex } from "./ids.js";
import { type LeaseApplyResult, LeaseOps } from "./lease_ops.js";
import { RaftNode } from "./raft_node.js";
import { ReadIndexBatcher } from "./read_index.js";
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
  heartbeatMs: number;
  electionMs: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  preVote: boolean;
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

/** Keep this many entries before a snapshot in the log, so slow followers can catch up without one. */
export const SNAPSHOT_CATCHUP_ENTRIES = 5000n;

export class EtcdServer {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly cfg: ServerConfig;
  readonly kv: mvcc.KVStore;
  readonly watchable: mvcc.WatchableStore;
  private pendingNotify: mvcc.TxnResult[] = [];
  private autoCompactor: AutoCompactor | undefined;
  readonly backend: Backend;
  readonly cluster: RaftCluster;
  readonly alarms: AlarmStore;
  readonly lessor: Lessor;
  /** The Lease service's server side (api/grpc/lease.ts serves it). */
  readonly lease: LeaseOps;
  private readonly node: RaftNode;
  private readonly waits = new WaitRegistry<ApplyResult>();
  private readonly applied: AppliedWait;
  private readonly reads: ReadIndexBatcher;
  private readonly ids: IdGenerator;
  private lead = 0n;
  private stopped = false;
  private published = false;
  private readyResolve!: () => void;
  /** Settles once this member has published itself and can serve (etcd's ReadyNotify). */
  readonly ready: Promise<void>;
  private snapshotIndex: bigint;
  private readonly requestTimeoutMs: number;

  private constructor(args: {
    cfg: ServerConfig;
    memberId: bigint;
    clusterId: bigint;
    backend: Backend;
    kv: mvcc.KVStore;
    lessor: Lessor;
    node: RaftNode;
    snapshotIndex: bigint;
  }) {
    this.cfg = args.cfg;
    this.memberId = args.memberId;
    this.clusterId = args.clusterId;
    this.backend = args.backend;
    this.kv = args.kv;
    this.watchable = new mvcc.WatchableStore(this.kv, {
      progressNotifyIntervalMs: args.cfg.watchProgressNotifyIntervalMs,
    });
    // Changes reach watchers after the apply batch commits, so watchers never see uncommitted state.
    this.kv.commitListener = (r) => this.pendingNotify.push(r);
    this.node = args.node;
    this.cluster = new RaftCluster(this.backend, this.clusterId);
    this.alarms = new AlarmStore(this.backend);
    this.applied = new AppliedWait(this.kv.consistentIndex);
    this.snapshotIndex = args.snapshotIndex;
    this.ids = new IdGenerator(this.memberId, Date.now());
    this.requestTimeoutMs = 5000 + 2 * args.cfg.electionMs;
    this.reads = new ReadIndexBatcher(
      { readIndex: (ctx) => this.node.readIndex(ctx), applied: this.applied },
      args.cfg.electionMs,
    );
    this.ready = new Promise((resolve) => {
      this.readyResolve = resolve;
    });
    this.lessor = args.lessor;
    this.lease = new LeaseOps(this.lessor, this.kv, {
      propose: (r) => this.propose(r),
      linearizableRead: () => this.linearizableRead(),
      header: (revision) => this.header(revision),
      nextId: () => this.ids.next(),
      leader: () => this.lead,
      checkQuota: (cost) => this.checkQuota(cost),
      requestTimeoutMs: this.requestTimeoutMs,
      logger: args.cfg.logger,
    });
  }

  /** Open (or create) the member's data dir and start raft. */
  static async start(cfg: ServerConfig): Promise<EtcdServer> {
    const log = cfg.logger;
    const memberDir = join(cfg.dataDir, "member");
    const walDir = cfg.walDir || join(memberDir, "wal");
    await mkdir(join(memberDir, "snap"), { recursive: true });
    const backend = Backend.open({ path: join(memberDir, "snap", "db") });
    log.info({ path: join(memberDir, "snap", "db") }, "opened backend db");
    // The lessor loads first: opening the store re-attaches every leased key to it.
    const lessor = Lessor.open(backend, {
      now: () => performance.now(),
      minLeaseTTL: minLeaseTTL(Math.max(2, Math.round(cfg.electionMs / cfg.heartbeatMs)), cfg.heartbeatMs),
      checkpointing: cfg.leaseCheckpoint ?? false,
      persistCheckpoints: cfg.leaseCheckpointPersist ?? false,
      checkpointIntervalMs: cfg.leaseCheckpointIntervalMs ?? LEASE_CHECKPOINT_INTERVAL_MS,
    });
    const kv = mvcc.KVStore.open(backend, {
      compactionBatchLimit: cfg.compactionBatchLimit,
      leaseHooks: lessor,
    });
    const storage = new MemoryStorage();
    let memberId: bigint;
    let clusterId: bigint;
    let wal: Wal;
    let bootstrapPeers: { id: bigint; context: Uint8Array }[] | undefined;
    let snapshotIndex = 0n;
    if (await Wal.exists(walDir)) {
      const opened = await Wal.open(walDir, { unsafeNoFsync: cfg.unsafeNoFsync });
      wal = opened.wal;
      const meta = Buffer.from(opened.metadata);
      memberId = meta.readBigUInt64BE(0);
      clusterId = meta.readBigUInt64BE(8);
      if (opened.snapshot.index > 0n) {
        storage.applySnapshot({ data: new Uint8Array(0), metadata: opened.snapshot });
        snapshotIndex = opened.snapshot.index;
      }
      storage.setHardState(opened.hardState);
      storage.append(opened.entries);
      log.info(
        {
          "local-member-id": idToHex(memberId),
          "cluster-id": idToHex(clusterId),
          commit: Number(opened.hardState.commit),
          "consistent-index": Number(kv.consistentIndex),
          repaired: opened.repaired,
        },
        "restarting local member",
      );
    } else {
      if (cfg.initialClusterState !== "new") {
        throw new Error(
          "--initial-cluster-state=existing is not supported yet by etcd-ts (clusters come with issue 6)",
        );
      }
      const members: Member[] = [...cfg.initialCluster].map(([name, urls]) => ({
        id: deriveMemberId(urls, cfg.initialClusterToken),
        name,
        peerURLs: urls,
        clientURLs: [],
        isLearner: false,
      }));
      const self = members.find((m) => m.name === cfg.name);
      if (!self)
        throw new Error(`couldn't find local name "${cfg.name}" in the initial cluster configuration`);
      const selfUrls = [...cfg.initialAdvertisePeerUrls].sort().join(",");
      if ([...self.peerURLs].sort().join(",") !== selfUrls) {
        throw new Error(
          `--initial-cluster has ${cfg.name}=${self.peerURLs.join(",")} but missing from --initial-advertise-peer-urls=${cfg.initialAdvertisePeerUrls.join(",")}`,
        );
      }
      memberId = self.id;
      clusterId = deriveClusterId(members.map((m) => m.id));
      const meta = Buffer.alloc(16);
      meta.writeBigUInt64BE(memberId, 0);
      meta.writeBigUInt64BE(clusterId, 8);
      wal = await Wal.create(walDir, meta, { unsafeNoFsync: cfg.unsafeNoFsync });
      bootstrapPeers = members
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((m) => ({ id: m.id, context: encodeMember(m) }));
      log.info(
        { "local-member-id": idToHex(memberId), "cluster-id": idToHex(clusterId) },
        "starting local member",
      );
    }
    const node = new RaftNode({
      id: memberId,
      storage,
      wal,
      heartbeatMs: cfg.heartbeatMs,
      electionTicks: Math.max(2, Math.round(cfg.electionMs / cfg.heartbeatMs)),
      preVote: cfg.preVote,
      rand: new Rand(Number(memberId & 0xffffffffn) ^ Date.now()),
      bootstrapPeers,
      unsafeNoFsync: cfg.unsafeNoFsync,
      logger: log,
    });
    const server = new EtcdServer({ cfg, memberId, clusterId, backend, kv, lessor, node, snapshotIndex });
    server.run();
    return server;
  }

  private run(): void {
    this.node.start({
      apply: (entries) => this.applyEntries(entries),
      readStates: (rs) => this.reads.onReadStates(rs),
      softState: (ss) => this.onSoftState(ss),
      send: () => {
        // Single member: there are no peers yet (the transport arrives with clusters).
      },
      fatal: (err) => {
        this.cfg.logger.error({ error: String(err) }, "raft loop failed; stopping member");
        void this.stop();
      },
    });
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
    }
  }

  private onSoftState(ss: SoftState): void {
    // Promotion waits for the new term's empty entry to apply (applyEntry); demotion is immediate.
    if (ss.raftState !== "Leader" && this.lessor.isPrimary) this.lease.demote();
    if (ss.lead !== this.lead) {
      const was = this.lead;
      this.lead = ss.lead;
      if (ss.lead !== 0n) {
        this.cfg.logger.info(
          { "local-member-id": idToHex(this.memberId), leader: idToHex(ss.lead), term: Number(this.term) },
          was === 0n ? "elected leader" : "leader changed",
        );
      }
      if (ss.lead === this.memberId && !this.published) void this.publish();
    }
  }

  /** Publish our name and client URLs through raft, then set the cluster version (leader). */
  private async publish(): Promise<void> {
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
      await this.proposeInternal({ clusterVersionSet: { ver: CLUSTER_VERSION } });
      this.readyResolve();
    } catch (err) {
      if (!this.stopped)
        this.cfg.logger.warn({ error: String(err) }, "failed to publish local member to cluster");
    }
  }

  get term(): bigint {
    return this.node.raw.raft.term;
  }

  get leader(): bigint {
    return this.lead;
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
      const cc = decodeConfChange(e.data);
      // Raft's tracker is rebuilt on restart from the snapshot, so conf changes are always re-applied to it.
      this.node.applyConfChange(cc);
      if (fresh) {
        switch (cc.type) {
          case "AddNode":
          case "AddLearnerNode":
            if (cc.context.length > 0) {
              const m = decodeMember(cc.context);
              const existing = this.cluster.member(cc.nodeId);
              if (existing && cc.type === "AddNode") this.cluster.promote(cc.nodeId);
              else this.cluster.add({ ...m, isLearner: cc.type === "AddLearnerNode" });
            }
            break;
          case "RemoveNode":
            this.cluster.remove(cc.nodeId);
            break;
          case "UpdateNode":
            if (cc.context.length > 0) {
              const m = decodeMember(cc.context);
              const cur = this.cluster.member(cc.nodeId);
              if (cur) this.cluster.add({ ...cur, peerURLs: m.peerURLs });
            }
            break;
        }
        this.kv.saveConsistentIndex(ci);
      }
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
    void (async () => {
      // The backend must durably cover what the WAL stops covering.
      await this.backend.flush();
      const snap = this.node.storage.createSnapshot(index, confState, new Uint8Array(0));
      await this.node.wal.saveSnapshot(snap.metadata);
      const compactTo = index > SNAPSHOT_CATCHUP_ENTRIES ? index - SNAPSHOT_CATCHUP_ENTRIES : 0n;
      if (compactTo > this.node.storage.firstIndex()) this.node.storage.compact(compactTo);
      await this.node.wal.releaseLockTo(index);
      this.cfg.logger.info({ "snapshot-index": Number(index) }, "saved snapshot");
    })().catch((err) => this.cfg.logger.warn({ error: String(err) }, "failed to save snapshot"));
  }

  // ---- requests -----------------------------------------------------------------------------------

  private async proposeInternal(r: Partial<InternalRaftRequest>): Promise<ApplyResult> {
    if (this.stopped) throw new ServerError("Stopped");
    const id = this.ids.next();
    // Built directly (not fromPartial): the request fields are already complete decoded messages.
    const req: InternalRaftRequest = {
      ID: 0n,
      ...r,
      header: { ID: id, username: "", authRevision: 0n, requesterMemberId: 0n },
    };
    const data = InternalRaftRequest.encode(req).finish();
    if (data.length > this.cfg.maxRequestBytes) throw new ServerError("RequestTooLarge");
    const done = this.waits.register(id);
    try {
      this.node.propose(data);
    } catch (err) {
      this.waits.fail(id, err instanceof ProposalDroppedError ? new ServerError("NoLeader") : err);
    }
    const timer = setTimeout(() => this.waits.fail(id, new ServerError("Timeout")), this.requestTimeoutMs);
    try {
      return await done;
    } finally {
      clearTimeout(timer);
    }
  }

  private async propose(r: Partial<InternalRaftRequest>): Promise<ApplyResult & { ok: true }> {
    const res = await this.proposeInternal(r);
    if (!res.ok) throw res.err;
    return res;
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

  async range(req: RangeRequest): Promise<RangeResponse> {
    if (!req.serializable) await this.linearizableRead();
    const r = mvcc.rangeRequest(this.kv, req as mvcc.RangeRequest);
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

  /** Maintenance.Alarm: every action goes through raft, GET included (as etcd). */
  async alarm(req: AlarmRequest): Promise<AlarmResponse> {
    const res = await this.propose({ alarm: req });
    return { header: this.header(res.revision), alarms: (res.resp as { alarms: AlarmMember[] }).alarms };
  }

  /** Status.errors: one line per raised alarm, in gogoproto's text form as etcd prints it. */
  alarmErrors(): string[] {
    return this.alarms.get(AlarmType.NONE).map((m) => `memberID:${m.memberID} alarm:${AlarmType[m.alarm]} `);
  }

  async put(req: PutRequest): Promise<PutResponse> {
    await this.checkQuota(PUT_COST_OVERHEAD + req.key.length + req.value.length);
    const res = await this.propose({ put: req });
    const resp = res.resp as PutResponse;
    return { header: this.header(res.revision), prevKv: resp.prevKv };
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    const res = await this.propose({ deleteRange: req });
    const resp = res.resp as DeleteRangeResponse;
    return { header: this.header(res.revision), deleted: resp.deleted, prevKvs: resp.prevKvs };
  }

  async txn(req: TxnRequest): Promise<TxnResponse> {
    if (isTxnReadonly(req)) {
      // Read-only txns skip the log: a linearizable read (unless every range is serializable), then evaluate.
      if (!isTxnSerializable(req)) await this.linearizableRead();
      const { response } = applyTxn(this.kv, req as mvcc.TxnRequest);
      return toTxnResponse(response, this.header(response.revision));
    }
    await this.checkQuota(txnPutCost(req));
    const res = await this.propose({ txn: req });
    const resp = res.resp as mvcc.TxnResponse;
    return toTxnResponse(resp, this.header(res.revision));
  }

  async compact(req: CompactionRequest): Promise<{ header: ResponseHeader }> {
    // Like etcd, even a compaction the store will refuse (future or already compacted) takes a log entry:
    // the revision is only checked when the entry applies.
    const res = await this.propose({ compaction: req });
    if (req.physical && res.compaction) await res.compaction.done;
    // etcd reads the store's revision once the compaction is answered (after the physical wait).
    return { header: this.header(this.kv.revision) };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.lease.stop();
    this.reads.failAll();
    this.waits.failAll(new ServerError("Stopped"));
    await this.node.stop();
    await this.node.wal.close();
    this.autoCompactor?.stop();
    this.watchable.close();
    await this.kv.close();
    await this.backend.close();
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
