// Owns the translation from a parsed etcd Config to what startEtcd runs with.
import type { Logger } from "pino";
import { DEFAULT_BCRYPT_COST, MAX_BCRYPT_COST, MIN_BCRYPT_COST } from "../auth/index.js";
import { type Config, effectiveQuotaBackendBytes } from "../config/index.js";
import type { EmbedConfig } from "./etcd.js";
import { tlsInfoFromConfig, tlsSettingsFromConfig } from "./tls_info.js";

export function embedConfig(c: Config, logger: Logger): EmbedConfig {
  return {
    name: c.name,
    dataDir: c.dataDir,
    walDir: c.walDir || undefined,
    initialAdvertisePeerUrls: c.initialAdvertisePeerUrls.map(String),
    advertiseClientUrls: c.advertiseClientUrls.map(String),
    initialCluster: new Map([...c.initialCluster].map(([name, urls]) => [name, urls.map(String)])),
    initialClusterToken: c.initialClusterToken,
    initialClusterState: c.initialClusterState,
    snapshotCount: c.snapshotCount,
    heartbeatMs: c.heartbeatIntervalMs,
    electionMs: c.electionTimeoutMs,
    maxRequestBytes: c.maxRequestBytes,
    maxTxnOps: c.maxTxnOps,
    preVote: c.preVote,
    initialElectionTickAdvance: c.initialElectionTickAdvance,
    unsafeNoFsync: c.unsafeNoFsync,
    compactionBatchLimit: c.compactionBatchLimit,
    autoCompactionMode: c.autoCompactionMode,
    autoCompactionRetention: c.autoCompactionRetention,
    watchProgressNotifyIntervalMs: c.watchProgressNotifyIntervalMs,
    // etcd-ts checkpoints lease TTLs and persists them unless told otherwise, so remaining TTLs survive
    // restarts and leader changes (etcd 3.4 defaults both off; its TTLs then reset to full on restart).
    leaseCheckpoint: flagOr(c, "experimental-enable-lease-checkpoint", true),
    leaseCheckpointPersist: flagOr(c, "experimental-enable-lease-checkpoint-persist", true),
    listenClientUrls: c.listenClientUrls.map((u) => new URL(String(u))),
    listenPeerUrls: c.listenPeerUrls.map((u) => new URL(String(u))),
    strictReconfigCheck: c.strictReconfigCheck,
    snapshotCatchupEntries: catchupEntries(c),
    quotaBackendBytes: BigInt(Math.max(0, effectiveQuotaBackendBytes(c))),
    tls: {
      client: tlsInfoFromConfig(c, "client"),
      peer: tlsInfoFromConfig(c, "peer"),
      settings: tlsSettingsFromConfig(c),
    },
    ...authConfig(c, logger),
    logger,
  };
}

/** --auth-token, --auth-token-ttl and --bcrypt-cost (an out-of-range cost falls back to 10, as in etcd). */
function authConfig(
  c: Config,
  logger: Logger,
): Pick<EmbedConfig, "authToken" | "authTokenTtlSec" | "bcryptCost"> {
  const token = c.raw.get("auth-token");
  const ttl = c.raw.get("auth-token-ttl");
  const cost = c.raw.get("bcrypt-cost");
  let bcryptCost = typeof cost === "bigint" ? Number(cost) : DEFAULT_BCRYPT_COST;
  if (bcryptCost < MIN_BCRYPT_COST || bcryptCost > MAX_BCRYPT_COST) {
    logger.warn(
      {
        "given-cost": bcryptCost,
        "min-cost": MIN_BCRYPT_COST,
        "max-cost": MAX_BCRYPT_COST,
        "default-cost": DEFAULT_BCRYPT_COST,
      },
      "use default bcrypt cost instead of the invalid given cost",
    );
    bcryptCost = DEFAULT_BCRYPT_COST;
  }
  return {
    authToken: typeof token === "string" ? token : "simple",
    authTokenTtlSec: typeof ttl === "bigint" ? Number(ttl) : 300,
    bcryptCost,
  };
}

/** A boolean flag's value when given explicitly, else etcd-ts's own default. */
function flagOr(c: Config, name: string, dflt: boolean): boolean {
  return c.setFlags.has(name) ? c.raw.get(name) === true : dflt;
}

/** --experimental-snapshot-catchup-entries (3.5) or --snapshot-catchup-entries (3.6): etcd's 5000 by default. */
function catchupEntries(c: Config): number {
  for (const name of ["snapshot-catchup-entries", "experimental-snapshot-catchup-entries"]) {
    const v = c.raw.get(name);
    if (c.setFlags.has(name) && typeof v === "bigint") return Number(v);
  }
  return 5000;
}
