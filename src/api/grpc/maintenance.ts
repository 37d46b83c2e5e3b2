// Owns the etcdserverpb.Maintenance gRPC service (Status, Hash, HashKV, Alarm, Defragment, Snapshot, MoveLeader).
import type { MaintenanceServer } from "../../proto/index.js";
import { ETCD_COMPAT_VERSION, type EtcdServer } from "../../server/server.js";
import { serveSnapshot } from "./snapshot.js";
import { unary } from "./unary.js";

export function maintenanceService(
  server: EtcdServer,
  quotaBackendBytes: bigint,
): Partial<MaintenanceServer> {
  return {
    status: unary(async () => ({
      header: server.header(server.kv.revision),
      version: ETCD_COMPAT_VERSION,
      dbSize: BigInt(server.backend.size()),
      leader: server.leader,
      raftIndex: server.committedIndex,
      raftTerm: server.term,
      raftAppliedIndex: server.raftAppliedIndex,
      errors:
        server.leader === 0n ? ["etcdserver: no leader", ...server.alarmErrors()] : server.alarmErrors(),
      dbSizeInUse: BigInt(server.backend.sizeInUse()),
      isLearner: server.isLearner,
      storageVersion: "",
      dbSizeQuota: quotaBackendBytes,
      downgradeInfo: undefined,
    })),
    hash: unary(async () => {
      const h = await server.kv.hash();
      return { header: server.header(h.revision), hash: h.hash };
    }),
    hashKv: unary(async (req) => {
      const h = await server.kv.hashKV(req.revision);
      return {
        header: server.header(h.currentRev),
        hash: h.hash,
        compactRevision: h.compactRev,
        hashRevision: h.hashRevision,
      };
    }),
    alarm: unary(async (req) => server.alarm(req)),
    // etcd answers MoveLeader without a header.
    moveLeader: unary(async (req) => {
      await server.moveLeader(req.targetID);
      return {};
    }),
    defragment: unary(async () => {
      await server.backend.defragment();
      return { header: server.header(server.kv.revision) };
    }),
    snapshot: (call) => {
      void serveSnapshot(server.backend, call);
    },
  };
}
