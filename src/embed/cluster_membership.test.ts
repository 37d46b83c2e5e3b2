// Specifies runtime reconfiguration in one process, with etcd's errors: MemberAdd (voter, learner), a learner
// joining with --initial-cluster-state=existing and catching up, its restrictions, MemberPromote (readiness),
// MemberUpdate, MemberRemove (strict reconfig check; a removed member stops itself) and MoveLeader.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ServiceError, status } from "@grpc/grpc-js";
import { PutRequest, RangeRequest } from "../proto/index.js";
import { HEALTH_INTERVAL_MS } from "../server/membership_ops.js";
import { call, embedConfigOf, memberSpec, peerUrlOf, TestCluster, waitFor } from "./cluster_test_util.js";
import { startEtcd } from "./etcd.js";

interface ProtoMember {
  ID: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}
type MembersResponse = { members: ProtoMember[] };

const b = (s: string): Buffer => Buffer.from(s);
const put = (key: string): PutRequest => PutRequest.fromPartial({ key: b(key), value: b("v") });
const failsWith =
  (code: status, details: string) =>
  (e: ServiceError): boolean => {
    assert.equal(e.details, details);
    assert.equal(e.code, code);
    return true;
  };

describe("membership changes on a 3-member cluster", () => {
  let c: TestCluster;
  before(async () => {
    c = await TestCluster.start(3);
  });
  after(async () => {
    await c?.close();
  });

  const cluster = (i: number) => c.clients[i]!.cluster;
  const add = (i: number, urls: string[], isLearner: boolean) =>
    call<MembersResponse & { member?: ProtoMember }>((cb) =>
      cluster(i).memberAdd({ peerURLs: urls, isLearner }, cb),
    );

  test("adding a member within 5 s of the peers connecting: unhealthy cluster", async () => {
    await c.leaderIndex();
    await assert.rejects(
      add(0, ["http://127.0.0.1:1"], true),
      failsWith(status.UNAVAILABLE, "etcdserver: unhealthy cluster"),
    );
  });

  test("MemberAdd refuses bad URLs, used URLs and a second learner", async () => {
    // etcd's strict reconfig check wants every voter connected for HEALTH_INTERVAL_MS.
    await c.peersConnectedFor(HEALTH_INTERVAL_MS);
    await assert.rejects(
      add(1, ["foo"], true),
      failsWith(status.INVALID_ARGUMENT, "etcdserver: given member URLs are invalid"),
    );
    await assert.rejects(
      add(1, [peerUrlOf(c.specs[2]!)], false),
      failsWith(status.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists"),
    );
  });

  let learnerIndex = -1;
  test("a learner is added, starts with --initial-cluster-state=existing and catches up", async () => {
    const spec = await memberSpec("learner");
    learnerIndex = c.addSpec(spec);
    const res = await add(1, [peerUrlOf(spec)], true);
    assert.equal(res.member?.isLearner, true);
    assert.deepEqual(res.member?.peerURLs, [peerUrlOf(spec)]);
    assert.equal(res.member?.name, "");
    assert.equal(res.members.length, 4);
    const listed = res.members.find((m) => m.ID === res.member?.ID);
    assert.ok(listed?.isLearner);
    await assert.rejects(
      add(0, ["http://127.0.0.1:2"], true),
      failsWith(status.FAILED_PRECONDITION, "etcdserver: too many learner members in cluster"),
    );
    // Not started yet: far behind the leader.
    await assert.rejects(
      call((cb) => cluster(2).memberPromote({ ID: res.member!.ID }, cb)),
      failsWith(
        status.FAILED_PRECONDITION,
        "etcdserver: can only promote a learner member which is in sync with leader",
      ),
    );
    for (let i = 0; i < 5; i++) await call((cb) => c.clients[0]!.kv.put(put(`before-learner-${i}`), cb));
    const ic = new Map(c.initialCluster);
    const m = await startEtcd(embedConfigOf(spec, ic, { initialClusterState: "existing" }));
    c.members[learnerIndex] = m;
    assert.equal(m.server.memberId, res.member?.ID);
    assert.equal(m.server.clusterId, c.member(0).server.clusterId);
    await waitFor(() => m.server.kv.revision === c.member(0).server.kv.revision, "the learner to catch up");
    const st = await call<{ isLearner: boolean; leader: bigint }>((cb) =>
      c.clients[learnerIndex]!.maintenance.status({}, cb),
    );
    assert.equal(st.isLearner, true);
    assert.notEqual(st.leader, 0n);
    const r = await call<{ count: bigint }>((cb) =>
      c.clients[learnerIndex]!.kv.range(
        RangeRequest.fromPartial({
          key: b("before-learner-"),
          rangeEnd: b("before-learner."),
          serializable: true,
          countOnly: true,
        }),
        cb,
      ),
    );
    assert.equal(r.count, 5n);
    const notForLearner = failsWith(status.UNAVAILABLE, "etcdserver: rpc not supported for learner");
    await assert.rejects(
      call((cb) => c.clients[learnerIndex]!.kv.put(put("x"), cb)),
      notForLearner,
    );
    await assert.rejects(
      call((cb) => c.clients[learnerIndex]!.kv.range(RangeRequest.fromPartial({ key: b("x") }), cb)),
      notForLearner,
    );
    await assert.rejects(
      call((cb) => c.clients[learnerIndex]!.cluster.memberList({ linearizable: false }, cb)),
      notForLearner,
    );
  });

  test("MemberPromote: voters and unknown members are refused; a caught-up learner is promoted", async () => {
    const learnerId = c.member(learnerIndex).server.memberId;
    await assert.rejects(
      call((cb) => cluster(0).memberPromote({ ID: c.member(1).server.memberId }, cb)),
      failsWith(status.FAILED_PRECONDITION, "etcdserver: can only promote a learner member"),
    );
    await assert.rejects(
      call((cb) => cluster(0).memberPromote({ ID: 42n }, cb)),
      failsWith(status.NOT_FOUND, "etcdserver: member not found"),
    );
    const res = await call<MembersResponse>((cb) => cluster(0).memberPromote({ ID: learnerId }, cb));
    assert.equal(res.members.find((m) => m.ID === learnerId)?.isLearner, false);
    await waitFor(() => !c.member(learnerIndex).server.isLearner, "the promoted member to know it votes");
    await call((cb) => c.clients[learnerIndex]!.kv.put(put("from-promoted"), cb));
  });

  test("MemberUpdate changes peer URLs; unknown members and used URLs are refused", async () => {
    await assert.rejects(
      call((cb) => cluster(0).memberUpdate({ ID: 42n, peerURLs: ["http://127.0.0.1:3"] }, cb)),
      failsWith(status.NOT_FOUND, "etcdserver: member not found"),
    );
    const id = c.member(learnerIndex).server.memberId;
    await assert.rejects(
      call((cb) => cluster(0).memberUpdate({ ID: id, peerURLs: [peerUrlOf(c.specs[0]!)] }, cb)),
      failsWith(status.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists"),
    );
    const same = await call<MembersResponse>((cb) =>
      cluster(0).memberUpdate({ ID: id, peerURLs: [peerUrlOf(c.specs[learnerIndex]!)] }, cb),
    );
    assert.deepEqual(same.members.find((m) => m.ID === id)?.peerURLs, [peerUrlOf(c.specs[learnerIndex]!)]);
  });

  test("MoveLeader: only on the leader, only to a voter; the target then leads", async () => {
    const lead = await c.leaderIndex();
    const follower = [0, 1, 2].find((i) => i !== lead)!;
    const target = c.member(follower).server.memberId;
    await assert.rejects(
      call((cb) => c.clients[follower]!.maintenance.moveLeader({ targetID: target }, cb)),
      failsWith(status.FAILED_PRECONDITION, "etcdserver: not leader"),
    );
    await assert.rejects(
      call((cb) => c.clients[lead]!.maintenance.moveLeader({ targetID: 7n }, cb)),
      failsWith(status.FAILED_PRECONDITION, "etcdserver: bad leader transferee"),
    );
    const res = await call<{ header?: unknown }>((cb) =>
      c.clients[lead]!.maintenance.moveLeader({ targetID: target }, cb),
    );
    assert.equal(res.header, undefined);
    assert.equal(c.member(lead).server.leader, target);
    assert.equal(await c.leaderIndex(), follower);
  });

  test("MemberRemove: unknown is not found; a removed member stops itself", async () => {
    await assert.rejects(
      call((cb) => cluster(0).memberRemove({ ID: 42n }, cb)),
      failsWith(status.NOT_FOUND, "etcdserver: member not found"),
    );
    const gone = c.member(learnerIndex);
    const res = await call<MembersResponse>((cb) =>
      cluster(0).memberRemove({ ID: gone.server.memberId }, cb),
    );
    assert.equal(res.members.length, 3);
    await gone.closed;
    c.members[learnerIndex] = undefined;
    await assert.rejects(
      call((cb) => cluster(1).memberRemove({ ID: gone.server.memberId }, cb)),
      failsWith(status.NOT_FOUND, "etcdserver: member not found"),
    );
  });

  test("MemberRemove: the strict check refuses a removal that leaves too few connected voters", async () => {
    const lead = await c.leaderIndex();
    const [down, live] = [0, 1, 2].filter((i) => i !== lead) as [number, number];
    await c.stopMember(down);
    await assert.rejects(
      call((cb) => cluster(lead).memberRemove({ ID: c.member(live).server.memberId }, cb)),
      failsWith(status.UNAVAILABLE, "etcdserver: unhealthy cluster"),
    );
    await c.restartMember(down);
  });
});
