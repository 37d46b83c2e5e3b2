// Owns the etcdserverpb.Cluster gRPC service (MemberList so far; runtime reconfiguration comes with clusters).
import type { ClusterServer, Member } from "../../proto/index.js";
import type { EtcdServer } from "../../server/server.js";
import { unary } from "./unary.js";

export function clusterService(server: EtcdServer): Partial<ClusterServer> {
  return {
    memberList: unary(async (req) => {
      if (req.linearizable) await server.linearizableRead();
      const members: Member[] = server.cluster.list().map((m) => ({
        ID: m.id,
        name: m.name,
        peerURLs: m.peerURLs,
        clientURLs: m.clientURLs,
        isLearner: m.isLearner,
      }));
      // etcd 3.4 leaves the revision out of membership responses.
      return { header: server.header(0n), members };
    }),
  };
}
