// Specifies clusters of real etcd-ts processes through Debian's etcdctl: the same member list and status shapes
// (and IDs) as a real etcd 3.4 cluster started the same way; put on one member, get on another; member add +
// start with --initial-cluster-state=existing + remove (the removed process exits); move-leader; kill -9 of the
// leader; a restarted member catching up through a snapshot; a member of another cluster refused.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ETCD, etcdctl, hasEtcd, hasEtcdctl } from "../testing/etcdctl.js";
import {
  endpointOf,
  FAST_TIMING,
  initialClusterArg,
  ProcCluster,
  type ProcMember,
  parseJsonBig,
  peerUrl,
  procMember,
  spawnUnready,
} from "./cluster_process_util.js";

const noCtl = hasEtcdctl() ? false : "etcdctl (Debian etcd-client) is not installed";
const WAIT_MS = 20_000;

async function eventually<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = await attempt();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A fresh copy of the members' names and ports, with new data dirs (to start another binary on them). */
async function sameAddresses(ms: readonly ProcMember[]): Promise<ProcMember[]> {
  const out: ProcMember[] = [];
  for (const m of ms) {
    const fresh = await procMember(m.name);
    out.push({ ...fresh, clientPort: m.clientPort, peerPort: m.peerPort });
  }
  return out;
}

type Json = Record<string, unknown>;
const shape = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(shape)
    : v !== null && typeof v === "object"
      ? Object.fromEntries(Object.entries(v as Json).map(([k, x]) => [k, shape(x)]))
      : typeof v;

describe("3-member clusters of processes", { skip: noCtl }, () => {
  let c: ProcCluster;
  let etcdOutputs: { list: string; status: unknown; cluster: unknown } | undefined;

  before(async () => {
    const members = [await procMember("m1"), await procMember("m2"), await procMember("m3")];
    if (hasEtcd()) {
      const real = await ProcCluster.start(3, { binary: ETCD, members: await sameAddresses(members) });
      try {
        await real.leaderIndex();
        const eps = real.members.map(endpointOf).join(",");
        etcdOutputs = {
          list: (await etcdctl(endpointOf(real.members[0]!), ["member", "list", "-w", "json"])).stdout,
          status: parseJsonBig((await etcdctl(eps, ["endpoint", "status", "-w", "json"])).stdout),
          cluster: parseJsonBig(
            (await etcdctl(endpointOf(real.members[0]!), ["endpoint", "status", "--cluster", "-w", "json"]))
              .stdout,
          ),
        };
      } finally {
        await real.stop();
      }
    }
    c = await ProcCluster.start(3, {
      members,
      extraArgs: ["--snapshot-count", "20", "--experimental-snapshot-catchup-entries", "10"],
    });
  });
  after(async () => {
    await c?.stop();
  });

  test("member list and endpoint status (--cluster too) -w json match a real etcd started the same way", {
    skip: !hasEtcd() && "no real etcd",
  }, async () => {
    await c.leaderIndex();
    const ours = (await etcdctl(endpointOf(c.members[0]!), ["member", "list", "-w", "json"])).stdout;
    const norm = (s: string): string => s.replace(/"raft_term":\d+/, '"raft_term":T');
    assert.equal(norm(ours), norm(etcdOutputs!.list));
    const status = parseJsonBig(
      (await etcdctl(c.endpoints(), ["endpoint", "status", "-w", "json"])).stdout,
    ) as Json[];
    assert.deepEqual(shape(status), shape(etcdOutputs!.status));
    const ids = (sts: Json[]) => sts.map((s) => ((s.Status as Json).header as Json).member_id);
    assert.deepEqual(ids(status), ids(etcdOutputs!.status as Json[]));
    // --cluster dials every member's client URL (http://…) from the member list, in the member list's order.
    const cluster = parseJsonBig(
      (await etcdctl(endpointOf(c.members[0]!), ["endpoint", "status", "--cluster", "-w", "json"])).stdout,
    ) as Json[];
    assert.deepEqual(shape(cluster), shape(etcdOutputs!.cluster));
    assert.deepEqual(
      cluster.map((s) => s.Endpoint),
      (etcdOutputs!.cluster as Json[]).map((s) => s.Endpoint),
    );
    for (const s of status) {
      const st = s.Status as Json;
      assert.equal(st.raftIndex, st.raftAppliedIndex);
      assert.notEqual(st.leader, undefined);
    }
  });

  test("a put on one member is read on another", async () => {
    const put = await etcdctl(endpointOf(c.members[0]!), ["put", "greeting", "hello"]);
    assert.equal(put.stdout, "OK\n", put.stderr);
    const get = await etcdctl(endpointOf(c.members[2]!), ["get", "greeting"]);
    assert.equal(get.stdout, "greeting\nhello\n");
  });

  test("member add, start with --initial-cluster-state=existing, remove: the removed member exits", async () => {
    const m4 = await procMember("m4");
    const added = await eventually("the cluster to be healthy enough to add", async () => {
      const r = await etcdctl(endpointOf(c.members[1]!), [
        "member",
        "add",
        "m4",
        `--peer-urls=${peerUrl(m4)}`,
      ]);
      if (r.code === 0) return r;
      assert.match(r.stderr, /etcdserver: unhealthy cluster/);
      return undefined;
    });
    const id = /Member +([0-9a-f]+) added to cluster/.exec(added.stdout)?.[1];
    assert.ok(id, added.stdout);
    assert.match(added.stdout, /ETCD_INITIAL_CLUSTER_STATE="existing"/);
    const all = [...c.members, m4];
    c.members.push(m4);
    await c.startMember(m4, "existing", all);
    const got = await etcdctl(endpointOf(m4), ["get", "greeting"]);
    assert.equal(got.stdout, "greeting\nhello\n");
    const list = await etcdctl(endpointOf(m4), ["member", "list"]);
    assert.match(
      list.stdout,
      new RegExp(`^${id}, started, m4, ${peerUrl(m4)}, http://127.0.0.1:${m4.clientPort}, false$`, "m"),
    );
    const removed = await etcdctl(endpointOf(c.members[0]!), ["member", "remove", id]);
    // etcdctl prints the ID with %16x: an ID whose first hex digit is 0 is padded with a space.
    assert.match(
      removed.stdout,
      new RegExp(`^Member ${id.padStart(16, " ")} removed from cluster`),
      removed.stderr,
    );
    const code = await new Promise<number | null>((resolve) => {
      const p = m4.proc!.proc;
      if (p.exitCode !== null) resolve(p.exitCode);
      else p.once("exit", (x) => resolve(x));
    });
    assert.equal(code, 0);
    assert.match(m4.proc!.logs(), /the member has been permanently removed from the cluster/);
    c.members.pop();
  });

  test("move-leader hands leadership to the chosen member", async () => {
    const lead = await c.leaderIndex();
    const target = (lead + 1) % 3;
    const st = parseJsonBig(
      (await etcdctl(endpointOf(c.members[target]!), ["endpoint", "status", "-w", "json"])).stdout,
    ) as Json[];
    const targetId = BigInt(((st[0]!.Status as Json).header as Json).member_id as string);
    const r = await etcdctl(endpointOf(c.members[lead]!), ["move-leader", targetId.toString(16)]);
    assert.match(
      r.stdout,
      new RegExp(`Leadership transferred from [0-9a-f]+ to ${targetId.toString(16)}`),
      r.stderr,
    );
    assert.equal(await c.leaderIndex(), target);
  });

  test("kill -9 of the leader: a new leader is elected and writes continue", async () => {
    const lead = await c.leaderIndex();
    await c.members[lead]!.proc!.kill();
    c.members[lead]!.proc = undefined;
    const live = c.members.filter((m) => m.proc);
    await eventually("a write after the leader died", async () => {
      const r = await etcdctl(live.map(endpointOf).join(","), [
        "--command-timeout=2s",
        "put",
        "after-kill",
        "yes",
      ]);
      return r.code === 0 ? r : undefined;
    });
    const newLead = await c.leaderIndex();
    assert.notEqual(newLead, lead);
    for (let i = 0; i < 40; i++) {
      const r = await etcdctl(endpointOf(live[0]!), ["put", `while-down/${i}`, "x"]);
      assert.equal(r.code, 0, r.stderr);
    }
    // The killed member restarts from its data dir, and catches up through a snapshot (the log was compacted).
    await c.startMember(c.members[lead]!);
    const back = c.members[lead]!;
    const got = await eventually("the restarted member to catch up", async () => {
      const r = await etcdctl(endpointOf(back), [
        "get",
        "while-down/",
        "--prefix",
        "--keys-only",
        "--consistency=s",
      ]);
      return r.stdout.split("\n").filter((l) => l.startsWith("while-down/")).length === 40 ? r : undefined;
    });
    assert.equal(got.code, 0);
    assert.match(back.proc!.logs(), /"msg":"applied snapshot"/);
    const after = await etcdctl(endpointOf(back), ["get", "after-kill"]);
    assert.equal(after.stdout, "after-kill\nyes\n");
  });

  test("a member bootstrapped with another cluster token is refused (cluster ID mismatch)", async () => {
    const odd = await procMember("m1");
    const stray = spawnUnready([
      ...["--name", "m1", "--data-dir", odd.dataDir],
      ...[
        "--listen-client-urls",
        `http://127.0.0.1:${odd.clientPort}`,
        "--advertise-client-urls",
        `http://127.0.0.1:${odd.clientPort}`,
      ],
      ...["--listen-peer-urls", peerUrl(odd), "--initial-advertise-peer-urls", peerUrl(odd)],
      ...["--initial-cluster", initialClusterArg([odd, c.members[1]!, c.members[2]!])],
      ...["--initial-cluster-token", "another-token", ...FAST_TIMING],
    ]);
    try {
      await eventually("the stray member to be refused", async () =>
        /cluster ID mismatch/.test(stray.logs()) ? true : undefined,
      );
      assert.doesNotMatch(stray.logs(), /ready to serve client requests/);
      const m2logs = c.members[1]!.proc!.logs();
      assert.match(m2logs, /cluster ID mismatch/);
    } finally {
      await stray.kill();
    }
  });
});
