// Owns the translation from a parsed etcd Config to what startEtcd runs with.
import type { Logger } from "pino";
import { type Config, effectiveQuotaBackendBytes } from "../config/index.js";
import type { EmbedConfig } from "./etcd.js";

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
    unsafeNoFsync: c.unsafeNoFsync,
    compactionBatchLimit: c.compactionBatchLimit,
    watchProgressNotifyIntervalMs: c.watchProgressNotifyIntervalMs,
    listenClientUrls: c.listenClientUrls.map((u) => new URL(String(u))),
    quotaBackendBytes: BigInt(Math.max(0, effectiveQuotaBackendBytes(c))),
    logger,
  };
}
