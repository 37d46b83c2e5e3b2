// Owns the etcdserverpb.Cluster gRPC service: MemberAdd/Remove/Update/Promote through raft, MemberList.
import type { Member as MembershipMember } from "../../membership/cluster.js";
import type { ClusterServer, Member, ResponseHeader } from "../../proto/index.js";
import type { EtcdServer } from "../../server/server.js";
import { unary } from "./unary.js";

const toProto = (m: MembershipMember): Member => ({
  ID: m.id,
  name: m.name,
  peerURLs: m.peerURLs,
  clientURLs: m.clientURLs,
  isLearner: m.isLearner,
});

export function clusterService(server: EtcdServer): ClusterServer {
  // etcd 3.4 leaves the revision out of membership responses.
  const header = (): ResponseHeader => server.header(0n);
  return {
    memberAdd: unary(async (req) => {
      const { member, members } = await server.membership.addMember(req.peerURLs, req.isLearner);
      return {
        header: header(),
        member: {
          ID: member.id,
          name: "",
          peerURLs: member.peerURLs,
          clientURLs: [],
          isLearner: member.isLearner,
        },
        members: members.map(toProto),
      };
    }),
    memberRemove: unary(async (req) => {
      const members = await server.membership.removeMember(req.ID);
      return { header: header(), members: members.map(toProto) };
    }),
    memberUpdate: unary(async (req) => {
      const members = await server.membership.updateMember(req.ID, req.peerURLs);
      return { header: header(), members: members.map(toProto) };
    }),
    memberPromote: unary(async (req) => {
      const members = await server.membership.promoteMember(req.ID);
      return { header: header(), members: members.map(toProto) };
    }),
    memberList: unary(async (req) => {
      if (req.linearizable) await server.linearizableRead();
      return { header: header(), members: server.cluster.list().map(toProto) };
    }),
  };
}
