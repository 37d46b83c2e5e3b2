// Specifies the generic search on a read/write register (Porcupine's classic cases), pending operations,
// partitions, explanations, the memo bound, and the timeout.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkOperations } from "./checker.js";
import { type Model, type Operation, PENDING, partitionBy } from "./model.js";

type RegInput = { op: "write"; value: number } | { op: "read" };
type RegOp = Operation<RegInput, number | undefined>;

const register: Model<number, RegInput, number | undefined> = {
  init: () => 0,
  step: (s, input, output) =>
    input.op === "write" ? input.value : output === undefined || output === s ? s : undefined,
  key: String,
  isReadOnly: (i) => i.op === "read",
  describeOperation: (i, o) => (i.op === "write" ? `write(${i.value})` : `read() -> ${o}`),
};

let nextId = 0;
const w = (client: number, call: number, ret: number, value: number): RegOp => ({
  id: nextId++,
  clientId: client,
  call,
  return: ret,
  input: { op: "write", value },
  output: undefined,
});
const r = (client: number, call: number, ret: number, value: number): RegOp => ({
  id: nextId++,
  clientId: client,
  call,
  return: ret,
  input: { op: "read" },
  output: value,
});

const cases: { name: string; history: RegOp[]; want: "ok" | "illegal" }[] = [
  { name: "empty history", history: [], want: "ok" },
  { name: "sequential write then read", history: [w(0, 0, 10, 1), r(1, 20, 30, 1)], want: "ok" },
  {
    name: "stale read after the write returned",
    history: [w(0, 0, 10, 1), r(1, 20, 30, 0)],
    want: "illegal",
  },
  {
    name: "read concurrent with a write may see either value",
    history: [w(0, 0, 100, 1), r(1, 10, 20, 0), r(2, 30, 40, 1)],
    want: "ok",
  },
  {
    name: "once the new value is read, an older one cannot be read after",
    history: [w(0, 0, 100, 1), r(1, 10, 20, 1), r(2, 30, 40, 0)],
    want: "illegal",
  },
  { name: "read of a value never written", history: [w(0, 0, 10, 1), r(1, 20, 30, 7)], want: "illegal" },
  {
    name: "lost write: the earlier of two sequential writes is read last",
    history: [w(0, 0, 10, 1), w(0, 20, 30, 2), r(1, 40, 50, 1)],
    want: "illegal",
  },
  {
    // Porcupine's canonical example: concurrent writes may take effect in either order.
    name: "concurrent writes, reads in both orders by different clients over time",
    history: [w(0, 0, 100, 100), w(1, 25, 75, 200), r(2, 30, 60, 200), r(3, 80, 90, 100)],
    want: "ok",
  },
  {
    name: "touching intervals count as concurrent",
    history: [w(0, 0, 10, 1), r(1, 10, 20, 0)],
    want: "ok",
  },
  { name: "pending write observed later", history: [w(0, 0, PENDING, 1), r(1, 20, 30, 1)], want: "ok" },
  { name: "pending write never observed", history: [w(0, 0, PENDING, 1), r(1, 20, 30, 0)], want: "ok" },
  {
    name: "pending write observed, then unobserved",
    history: [w(0, 0, PENDING, 1), r(1, 20, 30, 1), r(1, 40, 50, 0)],
    want: "illegal",
  },
  {
    name: "pending write cannot take effect before its call",
    history: [r(1, 0, 10, 1), w(0, 20, PENDING, 1)],
    want: "illegal",
  },
  {
    name: "two pending writes in either order",
    history: [w(0, 0, PENDING, 1), w(1, 5, PENDING, 2), r(2, 20, 30, 2), r(2, 40, 50, 1)],
    want: "ok",
  },
];

for (const c of cases) {
  test(`register: ${c.name} is ${c.want}`, () => {
    const res = checkOperations(register, c.history);
    assert.equal(res.result, c.want, res.explanation);
    assert.equal(res.explanation !== undefined, c.want === "illegal");
  });
}

test("pending reads are dropped: they cannot make a history illegal", () => {
  const res = checkOperations(register, [w(0, 0, 10, 1), { ...r(1, 20, PENDING, 5), output: undefined }]);
  assert.equal(res.result, "ok");
  assert.equal(res.partitions[0]!.operations, 1);
});

test("the explanation names the longest linearizable prefix and the operation that could not be placed", () => {
  const h = [w(0, 0, 10, 1), w(0, 20, 30, 2), r(1, 40, 50, 1)];
  const res = checkOperations(register, h);
  assert.equal(res.result, "illegal");
  const e = res.partitions[0]!.explanation!;
  assert.deepEqual(
    e.prefix.map((o) => o.id),
    [h[0]!.id, h[1]!.id],
  );
  assert.equal(e.blocked.id, h[2]!.id);
  assert.equal(e.stateAfterPrefix, "2");
  assert.match(res.explanation!, /cannot linearize next: #\d+ client 1 \[40 \.\. 50\] read\(\) -> 1/);
});

test("partitions are checked independently and the illegal one is reported", () => {
  type KIn = { key: string; inner: RegInput };
  const keyed: Model<number, KIn, number | undefined> = {
    init: () => 0,
    step: (s, i, o) => register.step(s, i.inner, o),
    key: String,
    partition: (ops) => partitionBy(ops, (i) => i.key),
  };
  const op = (id: number, key: string, call: number, ret: number, inner: RegInput, output?: number) => ({
    id,
    clientId: 0,
    call,
    return: ret,
    input: { key, inner },
    output,
  });
  const res = checkOperations(keyed, [
    op(0, "a", 0, 10, { op: "write", value: 1 }),
    op(1, "b", 0, 10, { op: "write", value: 2 }),
    op(2, "a", 20, 30, { op: "read" }, 1),
    op(3, "b", 20, 30, { op: "read" }, 1),
  ]);
  assert.equal(res.result, "illegal");
  assert.deepEqual(
    res.partitions.map((p) => [p.label, p.result]),
    [
      ["a", "ok"],
      ["b", "illegal"],
    ],
  );
  assert.match(res.explanation!, /partition "b"/);
});

test("a memo bound too small to hold anything still gives the right verdicts", () => {
  const h = [w(0, 0, 100, 100), w(1, 25, 75, 200), r(2, 30, 60, 200), r(3, 80, 90, 100)];
  assert.equal(checkOperations(register, h, { maxCacheBytes: 1 }).result, "ok");
  const bad = [w(0, 0, 10, 1), w(0, 20, 30, 2), r(1, 40, 50, 1)];
  const res = checkOperations(register, bad, { maxCacheBytes: 1 });
  assert.equal(res.result, "illegal");
  assert.ok(res.partitions[0]!.cacheResets > 0);
});

test("a search that cannot finish in time says unknown", () => {
  // A state that remembers the order of every write defeats the memo: n! orders before the final read fails.
  const history: Operation<RegInput, number | undefined>[] = [];
  for (let i = 0; i < 14; i++) history.push(w(i, 0, 100, i + 1));
  history.push(r(99, 200, 210, -1));
  const ordered: Model<string, RegInput, number | undefined> = {
    init: () => "",
    step: (s, i, o) => (i.op === "write" ? `${s},${i.value}` : o === -1 ? undefined : s),
    key: (s) => s,
  };
  const res = checkOperations(ordered, history, { timeoutMs: 200 });
  assert.equal(res.result, "unknown");
  assert.ok(res.elapsedMs < 10_000);
});

test("malformed operations are rejected", () => {
  assert.throws(() => checkOperations(register, [w(0, 10, 5, 1)]), /returns \(5\) before its call \(10\)/);
  assert.throws(() => checkOperations(register, [w(0, PENDING, PENDING, 1)]), /call time must be finite/);
});
