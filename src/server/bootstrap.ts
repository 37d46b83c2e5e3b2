// Owns how a member finds its identity and raft state at start: restart from its WAL, bootstrap a new cluster
// from --initial-cluster, or join an existing cluster by asking its members (etcd's three bootstrap paths).
import { readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Backend } from "../backend/index.js";
import { encodeMember, type Member } from "../membership/cluster.js";
import { META_BUCKET } from "../mvcc/index.js";
import { MemoryStorage } from "../raft/storage.js";
import type { PeerTlsOptions } from "../transport/index.js";
import { Wal } from "../wal/index.js";
import { clusterId as deriveClusterId, memberId as deriveMemberId, idToHex } from "./ids.js";
import { fetchClusterFromPeers } from "./peer_client.js";

export interface BootstrapConfig {
  name: string;
  initialAdvertisePeerUrls: string[];
  initialCluster: Map<string, string[]>;
  initialClusterToken: string;
  initialClusterState: "new" | "existing";
  unsafeNoFsync: boolean;
  /** For https:// peer URLs (joining fetches the member list from the others). */
  peerTls?: PeerTlsOptions;
  logger: {
    info(o: object, msg: string): void;
    warn(o: object, msg: string): void;
  };
}

export interface Bootstrapped {
  memberId: bigint;
  clusterId: bigint;
  wal: Wal;
  /** Raft storage filled from the WAL (empty for a new or joining member). */
  storage: MemoryStorage;
  snapshotIndex: bigint;
  /** A new cluster's initial members: raft writes them as its first entries. */
  bootstrapPeers?: { id: bigint; context: Uint8Array }[];
  /** Members to dial before the membership is known locally (a new cluster's, or the cluster being joined). */
  remotes: Member[];
}

/** How long joining waits for each peer's member list. */
export const JOIN_FETCH_TIMEOUT_MS = 2000;

export async function bootstrapRaft(cfg: BootstrapConfig, walDir: string): Promise<Bootstrapped> {
  if (await Wal.exists(walDir)) return restart(cfg, walDir);
  if (cfg.initialClusterState === "new") return startNew(cfg, walDir);
  return joinExisting(cfg, walDir);
}

async function restart(cfg: BootstrapConfig, walDir: string): Promise<Bootstrapped> {
  const opened = await Wal.open(walDir, { unsafeNoFsync: cfg.unsafeNoFsync });
  const meta = Buffer.from(opened.metadata);
  const memberId = meta.readBigUInt64BE(0);
  const clusterId = meta.readBigUInt64BE(8);
  const storage = new MemoryStorage();
  if (opened.snapshot.index > 0n)
    storage.applySnapshot({ data: new Uint8Array(0), metadata: opened.snapshot });
  storage.setHardState(opened.hardState);
  storage.append(opened.entries);
  cfg.logger.info(
    {
      "local-member-id": idToHex(memberId),
      "cluster-id": idToHex(clusterId),
      commit: Number(opened.hardState.commit),
      repaired: opened.repaired,
    },
    "restarting local member",
  );
  return { memberId, clusterId, wal: opened.wal, storage, snapshotIndex: opened.snapshot.index, remotes: [] };
}

function initialMembers(cfg: BootstrapConfig): Member[] {
  return [...cfg.initialCluster].map(([name, urls]) => ({
    id: deriveMemberId(urls, cfg.initialClusterToken),
    name,
    peerURLs: [...urls].sort(),
    clientURLs: [],
    isLearner: false,
  }));
}

async function createWal(
  cfg: BootstrapConfig,
  walDir: string,
  memberId: bigint,
  clusterId: bigint,
): Promise<Wal> {
  const meta = Buffer.alloc(16);
  meta.writeBigUInt64BE(memberId, 0);
  meta.writeBigUInt64BE(clusterId, 8);
  return Wal.create(walDir, meta, { unsafeNoFsync: cfg.unsafeNoFsync });
}

async function startNew(cfg: BootstrapConfig, walDir: string): Promise<Bootstrapped> {
  const members = initialMembers(cfg);
  const self = members.find((m) => m.name === cfg.name);
  if (!self) throw new Error(`couldn't find local name "${cfg.name}" in the initial cluster configuration`);
  const selfUrls = [...cfg.initialAdvertisePeerUrls].sort().join(",");
  if (self.peerURLs.join(",") !== selfUrls) {
    throw new Error(
      `--initial-cluster has ${cfg.name}=${self.peerURLs.join(",")} but missing from --initial-advertise-peer-urls=${cfg.initialAdvertisePeerUrls.join(",")}`,
    );
  }
  const clusterId = deriveClusterId(members.map((m) => m.id));
  const wal = await createWal(cfg, walDir, self.id, clusterId);
  const bootstrapPeers = [...members]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((m) => ({ id: m.id, context: encodeMember(m) }));
  cfg.logger.info(
    { "local-member-id": idToHex(self.id), "cluster-id": idToHex(clusterId) },
    "starting local member",
  );
  return {
    memberId: self.id,
    clusterId,
    wal,
    storage: new MemoryStorage(),
    snapshotIndex: 0n,
    bootstrapPeers,
    remotes: members.filter((m) => m.id !== self.id),
  };
}

/**
 * --initial-cluster-state=existing without a WAL: fetch the member list from the other members' peer URLs,
 * match every existing member to an --initial-cluster entry by peer URLs, and take the IDs from the cluster
 * (etcd's GetClusterFromRemotePeers + ValidateClusterAndAssignIDs). Raft starts empty; the leader catches us up.
 */
async function joinExisting(cfg: BootstrapConfig, walDir: string): Promise<Bootstrapped> {
  const local = initialMembers(cfg);
  const self = local.find((m) => m.name === cfg.name);
  if (!self) throw new Error(`couldn't find local name "${cfg.name}" in the initial cluster configuration`);
  const peerUrls = local.filter((m) => m !== self).flatMap((m) => m.peerURLs);
  let existing: { clusterId: bigint; members: Member[] };
  try {
    existing = await fetchClusterFromPeers(peerUrls, JOIN_FETCH_TIMEOUT_MS, cfg.logger, cfg.peerTls);
  } catch (err) {
    throw new Error(`cannot fetch cluster info from peer urls: ${(err as Error).message}`);
  }
  const describe = (): string =>
    `{ClusterID:${idToHex(existing.clusterId)} Members:[${existing.members
      .map(
        (m) =>
          `&{ID:${idToHex(m.id)} RaftAttributes:{PeerURLs:[${m.peerURLs.join(" ")}] IsLearner:${m.isLearner}} Attributes:{Name:${m.name} ClientURLs:[${m.clientURLs.join(" ")}]}}`,
      )
      .join(" ")}] RemovedMemberIDs:[]}`;
  if (existing.members.length !== local.length) {
    throw new Error(`error validating peerURLs ${describe()}: member count is unequal`);
  }
  for (const em of existing.members) {
    const want = [...em.peerURLs].sort().join(",");
    const lm = local.find((m) => m.peerURLs.join(",") === want);
    if (!lm) {
      throw new Error(
        `error validating peerURLs ${describe()}: PeerURLs: no match found for existing member (${idToHex(em.id)}, [${em.peerURLs.join(" ")}]), last resolver error (<nil>)`,
      );
    }
    lm.id = em.id;
  }
  const wal = await createWal(cfg, walDir, self.id, existing.clusterId);
  cfg.logger.info(
    { "local-member-id": idToHex(self.id), "cluster-id": idToHex(existing.clusterId) },
    "joining existing cluster",
  );
  return {
    memberId: self.id,
    clusterId: existing.clusterId,
    wal,
    storage: new MemoryStorage(),
    snapshotIndex: 0n,
    remotes: existing.members.filter((m) => m.id !== self.id),
  };
}

// ---- received snapshots (etcd's <snap dir>/<index>.snap.db) ----------------------------------------

export const snapDbName = (index: bigint): string => `${index.toString(16).padStart(16, "0")}.snap.db`;

/**
 * A snapshot received from the leader is saved as snap/<index>.snap.db before raft records it in the WAL. If the
 * member stopped before swapping it in, the WAL's snapshot is newer than the backend: swap it in now (etcd's
 * recoverSnapshotBackend). Leftover snapshot files are removed.
 */
export async function recoverSnapshotBackend(
  dbPath: string,
  snapDir: string,
  walSnapshotIndex: bigint,
  log: { info(o: object, msg: string): void },
): Promise<void> {
  const names = (await readdir(snapDir)).filter((n) => n.endsWith(".snap.db") || n.endsWith(".snap.db.part"));
  const wanted = walSnapshotIndex > 0n ? snapDbName(walSnapshotIndex) : undefined;
  if (wanted !== undefined && names.includes(wanted)) {
    const be = Backend.open({ path: dbPath });
    const raw = be.bucket(META_BUCKET).get(Buffer.from("consistent_index"));
    const ci = raw ? raw.readBigUInt64BE(0) : 0n;
    await be.close();
    if (ci < walSnapshotIndex) {
      log.info(
        { "snapshot-index": Number(walSnapshotIndex), "consistent-index": Number(ci) },
        "restoring backend from received snapshot",
      );
      await rename(join(snapDir, wanted), dbPath);
    }
  }
  for (const n of names) await rm(join(snapDir, n), { force: true });
}
