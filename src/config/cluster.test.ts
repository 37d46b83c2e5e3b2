// Specifies --initial-cluster parsing and the first-boot checks, with etcd 3.4.23's messages.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkInitialCluster, clusterString, defaultConfig, parseInitialCluster } from "./index.js";

test("initial cluster strings parse into sorted URL lists per name", () => {
  const m = parseInitialCluster("b=http://10.0.0.2:2380,a=http://10.0.0.1:2381,,a=http://10.0.0.1:2380");
  assert.deepEqual([...m.keys()], ["b", "a"]);
  assert.deepEqual(
    m.get("a")!.map((u) => u.goString),
    ["http://10.0.0.1:2380", "http://10.0.0.1:2381"],
  );
  assert.equal(clusterString(m), "a=http://10.0.0.1:2380,a=http://10.0.0.1:2381,b=http://10.0.0.2:2380");
  assert.equal(parseInitialCluster("").size, 0);
  assert.throws(() => parseInitialCluster("foo"), {
    message: "URL scheme must be http, https, unix, or unixs: ",
  });
});

const PEER = "http://127.0.0.1:23801";

test("first boot: the member must be in the cluster with exactly its advertised peer URLs", () => {
  const cases: { flags: Record<string, string>; msg?: string }[] = [
    { flags: { "initial-cluster": `default=${PEER}` } },
    { flags: { name: "n1", "initial-cluster": `n1=${PEER},n2=http://127.0.0.1:23802` } },
    {
      flags: {},
      msg: `--initial-cluster has default=http://localhost:2380 but missing from --initial-advertise-peer-urls=${PEER} (resolved urls: "${PEER}" != "http://localhost:2380")`,
    },
    {
      flags: { "initial-cluster": "" },
      msg: `couldn't find local name "default" in the initial cluster configuration`,
    },
    {
      flags: { "initial-cluster": `default=${PEER},default=${PEER}` },
      msg: `failed to resolve ${PEER} to match --initial-cluster=default=${PEER} (len(["${PEER}"]) != len(["${PEER}" "${PEER}"]))`,
    },
    {
      flags: {
        "initial-advertise-peer-urls": `${PEER},http://127.0.0.1:23802`,
        "initial-cluster": `default=${PEER}`,
      },
      msg: `--initial-advertise-peer-urls has http://127.0.0.1:23802 but missing from --initial-cluster=default=${PEER},default=http://127.0.0.1:23802`,
    },
    {
      flags: { "initial-cluster": `default=${PEER},b=${PEER}` },
      msg: `initial cluster b=${PEER},default=${PEER} has duplicate url`,
    },
  ];
  for (const c of cases) {
    const config = defaultConfig({ "initial-advertise-peer-urls": PEER, ...c.flags });
    if (c.msg === undefined) checkInitialCluster(config);
    else
      assert.throws(
        () => checkInitialCluster(config),
        { kind: "fatal", message: c.msg },
        JSON.stringify(c.flags),
      );
  }
});

test("joining an existing cluster only checks for duplicate URLs", () => {
  const ok = defaultConfig({ "initial-cluster-state": "existing", "initial-cluster": "a=http://h:1" });
  checkInitialCluster(ok);
  const dup = defaultConfig({
    "initial-cluster-state": "existing",
    "initial-cluster": "a=http://h:1,b=http://h:1",
  });
  assert.throws(() => checkInitialCluster(dup), {
    message: "initial cluster a=http://h:1,b=http://h:1 has duplicate url",
  });
});
