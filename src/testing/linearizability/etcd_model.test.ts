// Specifies the etcd models on hand-made histories: what the per-key model, the revision-order check and the
// whole-store model accept and reject, and how unknown outcomes are treated.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkOperations, type Verdict } from "./checker.js";
import { checkEtcdHistory } from "./etcd_check.js";
import { etcdKeyModel } from "./etcd_key_model.js";
import { etcdStoreModel } from "./etcd_store_model.js";
import type {
  CasCompare,
  EtcdInput,
  EtcdOperation,
  EtcdOutput,
  TxnCompare,
  TxnOp,
  TxnOpResult,
} from "./etcd_types.js";
import { PENDING } from "./model.js";
import { checkRevisionOrder } from "./revision_order.js";

/** A tiny DSL: each op is [client, call, return] then input and output; `?` as output = pending. */
class H {
  readonly ops: EtcdOperation[] = [];
  private add(c: number, call: number, ret: number, input: EtcdInput, output: EtcdOutput | undefined): this {
    this.ops.push({ id: this.ops.length, clientId: c, call, return: output ? ret : PENDING, input, output });
    return this;
  }
  put(c: number, t: [number, number], key: string, value: string, rev?: bigint): this {
    return this.add(
      c,
      t[0],
      t[1],
      { op: "put", key, value },
      rev === undefined ? undefined : { op: "put", revision: rev },
    );
  }
  get(c: number, t: [number, number], key: string, value: string | null, mod: bigint, rev: bigint): this {
    return this.add(c, t[0], t[1], { op: "get", key }, { op: "get", value, modRevision: mod, revision: rev });
  }
  sget(c: number, t: [number, number], key: string, value: string | null, mod: bigint, rev: bigint): this {
    const input: EtcdInput = { op: "get", key, serializable: true };
    return this.add(c, t[0], t[1], input, { op: "get", value, modRevision: mod, revision: rev });
  }
  del(c: number, t: [number, number], key: string, deleted?: number, rev?: bigint): this {
    const out: EtcdOutput | undefined =
      deleted === undefined ? undefined : { op: "delete", deleted, revision: rev! };
    return this.add(c, t[0], t[1], { op: "delete", key }, out);
  }
  cas(
    c: number,
    t: [number, number],
    key: string,
    compare: CasCompare,
    value: string,
    result?: { succeeded: boolean; rev: bigint; read?: [string | null, bigint] },
  ): this {
    const input: EtcdInput = { op: "cas", key, compare, value };
    if (result?.read) input.elseGet = true;
    let out: EtcdOutput | undefined;
    if (result) {
      out = { op: "cas", succeeded: result.succeeded, revision: result.rev };
      if (result.read) Object.assign(out, { value: result.read[0], modRevision: result.read[1] });
    }
    return this.add(c, t[0], t[1], input, out);
  }
  txn(
    c: number,
    t: [number, number],
    compares: TxnCompare[],
    success: TxnOp[],
    failure: TxnOp[],
    result?: { succeeded: boolean; rev: bigint; results: TxnOpResult[] },
  ): this {
    const out: EtcdOutput | undefined = result && {
      op: "txn",
      succeeded: result.succeeded,
      revision: result.rev,
      results: result.results,
    };
    return this.add(c, t[0], t[1], { op: "txn", compares, success, failure }, out);
  }
}

const perKey = (h: H): Verdict => checkOperations(etcdKeyModel(), h.ops).result;
const store = (h: H): Verdict => checkOperations(etcdStoreModel(), h.ops).result;
const v = (value: string): CasCompare => ({ target: "value", value });
const mod = (modRevision: bigint): CasCompare => ({ target: "mod", modRevision });

const cases: { name: string; h: H; perKey: Verdict; store: Verdict; order?: boolean }[] = [
  {
    name: "sequential put, get, delete, get",
    h: new H()
      .put(0, [0, 1], "a", "1", 2n)
      .get(1, [2, 3], "a", "1", 2n, 2n)
      .del(0, [4, 5], "a", 1, 3n)
      .get(1, [6, 7], "a", null, 0n, 3n),
    perKey: "ok",
    store: "ok",
  },
  {
    name: "stale read: absent after a put returned",
    h: new H().put(0, [0, 1], "a", "1", 2n).get(1, [2, 3], "a", null, 0n, 2n),
    perKey: "illegal",
    store: "illegal",
  },
  {
    name: "stale read of an older value with an older header revision",
    h: new H().put(0, [0, 1], "a", "1", 2n).put(0, [2, 3], "a", "2", 3n).get(1, [4, 5], "a", "1", 2n, 2n),
    perKey: "illegal",
    store: "illegal",
    order: false,
  },
  {
    name: "lost write: the value is back to the earlier one",
    h: new H().put(0, [0, 1], "a", "1", 2n).put(1, [2, 3], "a", "2", 3n).get(2, [4, 5], "a", "1", 2n, 3n),
    perKey: "illegal",
    store: "illegal",
  },
  {
    name: "read of a value never written",
    h: new H().put(0, [0, 1], "a", "1", 2n).get(1, [2, 3], "a", "x", 2n, 2n),
    perKey: "illegal",
    store: "illegal",
  },
  {
    name: "reads overlapping a put may see before or after",
    h: new H()
      .put(0, [0, 10], "a", "1", 2n)
      .get(1, [1, 2], "a", null, 0n, 1n)
      .get(2, [3, 4], "a", "1", 2n, 2n)
      .get(3, [5, 6], "a", "1", 2n, 2n),
    perKey: "ok",
    store: "ok",
  },
  {
    name: "concurrent puts on one key in either order",
    h: new H().put(0, [0, 10], "a", "1", 3n).put(1, [0, 10], "a", "2", 2n).get(2, [11, 12], "a", "1", 3n, 3n),
    perKey: "ok",
    store: "ok",
  },
  {
    name: "put order contradicts the revisions",
    h: new H().put(0, [0, 10], "a", "1", 3n).put(1, [0, 10], "a", "2", 2n).get(2, [11, 12], "a", "2", 2n, 3n),
    perKey: "illegal",
    store: "illegal",
  },
  {
    name: "a get's mod revision disagrees with the put that wrote the value",
    h: new H().put(0, [0, 1], "a", "1", 2n).get(1, [2, 3], "a", "1", 5n, 5n),
    perKey: "illegal",
    store: "illegal",
  },
  {
    name: "a put's revision goes back on the same key",
    h: new H().put(0, [0, 1], "a", "1", 5n).put(0, [2, 3], "a", "2", 4n),
    perKey: "illegal",
    store: "illegal",
    order: false,
  },
  {
    name: "a read's header revision below an earlier write on the key",
    h: new H().put(0, [0, 1], "a", "1", 5n).get(1, [2, 3], "a", "1", 5n, 4n),
    perKey: "illegal",
    store: "illegal",
    order: false,
  },
  {
    name: "two keys written at one revision: per-key cannot see it, the revision order and the store can",
    h: new H().put(0, [0, 1], "a", "1", 2n).put(1, [2, 3], "b", "1", 2n),
    perKey: "ok",
    store: "illegal",
    order: false,
  },
  {
    name: "interleaved keys with a gap in the revisions (another writer): per-key fine, store model not",
    h: new H().put(0, [0, 1], "a", "1", 2n).put(1, [2, 3], "b", "1", 4n),
    perKey: "ok",
    store: "illegal",
  },
  {
    name: "pending put observed later, revision learned from the read",
    h: new H().put(0, [0, 0], "a", "1").get(1, [2, 3], "a", "1", 2n, 2n).put(1, [4, 5], "a", "2", 3n),
    perKey: "ok",
    store: "ok",
  },
  {
    name: "pending put never observed",
    h: new H().put(0, [0, 0], "a", "1").get(1, [2, 3], "a", null, 0n, 1n),
    perKey: "ok",
    store: "ok",
  },
  {
    name: "pending put observed then lost",
    h: new H().put(0, [0, 0], "a", "1").get(1, [2, 3], "a", "1", 2n, 2n).get(1, [4, 5], "a", null, 0n, 2n),
    perKey: "illegal",
    store: "illegal",
  },
  {
    name: "pending put that takes revision 2, delete at 3",
    h: new H().put(0, [0, 0], "a", "1").del(1, [2, 3], "a", 1, 3n).get(1, [4, 5], "a", null, 0n, 3n),
    perKey: "ok",
    store: "ok",
  },
  {
    // The failed cas(mod = 0) proves the pending put came first, so its revision is at most that header.
    name: "a read's mod revision above an earlier header after a pending put",
    h: new H()
      .put(0, [0, 0], "a", "1")
      .cas(1, [2, 3], "a", mod(0n), "2", { succeeded: false, rev: 2n })
      .get(1, [4, 5], "a", "1", 3n, 3n),
    perKey: "illegal",
    store: "illegal",
  },
  {
    name: "delete of an absent key deletes nothing and keeps the revision",
    h: new H().del(0, [0, 1], "a", 0, 1n).put(0, [2, 3], "a", "1", 2n),
    perKey: "ok",
    store: "ok",
  },
  {
    name: "delete reports a deletion of an absent key",
    h: new H().del(0, [0, 1], "a", 1, 2n),
    perKey: "illegal",
    store: "illegal",
  },
  {
    name: "cas on value: succeeds on the current value, fails on another",
    h: new H()
      .put(0, [0, 1], "a", "1", 2n)
      .cas(0, [2, 3], "a", v("1"), "2", { succeeded: true, rev: 3n })
      .cas(1, [4, 5], "a", v("1"), "3", { succeeded: false, rev: 3n, read: ["2", 3n] })
      .get(1, [6, 7], "a", "2", 3n, 3n),
    perKey: "ok",
    store: "ok",
  },
  {
    name: "cas on value succeeded on a stale value",
    h: new H()
      .put(0, [0, 1], "a", "1", 2n)
      .put(0, [2, 3], "a", "2", 3n)
      .cas(1, [4, 5], "a", v("1"), "3", { succeeded: true, rev: 4n }),
    perKey: "illegal",
    store: "illegal",
  },
  {
    name: "two cas on the same value both succeed (a lost update)",
    h: new H()
      .put(0, [0, 1], "a", "1", 2n)
      .cas(1, [2, 10], "a", v("1"), "x", { succeeded: true, rev: 3n })
      .cas(2, [2, 10], "a", v("1"), "y", { succeeded: true, rev: 4n }),
    perKey: "illegal",
    store: "illegal",
  },
  {
    name: "cas on a value never matches an absent key",
    h: new H().cas(0, [0, 1], "a", v(""), "1", { succeeded: true, rev: 2n }),
    perKey: "illegal",
    store: "illegal",
  },
  {
    name: "cas on mod revision 0 creates an absent key once",
    h: new H()
      .cas(0, [0, 10], "a", mod(0n), "1", { succeeded: true, rev: 2n })
      .cas(1, [0, 10], "a", mod(0n), "2", { succeeded: false, rev: 2n, read: ["1", 2n] }),
    perKey: "ok",
    store: "ok",
  },
  {
    name: "cas on mod revision guards a read-modify-write",
    h: new H()
      .put(0, [0, 1], "a", "1", 2n)
      .get(1, [2, 3], "a", "1", 2n, 2n)
      .get(2, [2, 3], "a", "1", 2n, 2n)
      .cas(1, [4, 10], "a", mod(2n), "x", { succeeded: true, rev: 3n })
      .cas(2, [4, 10], "a", mod(2n), "y", { succeeded: true, rev: 4n }),
    perKey: "illegal",
    store: "illegal",
  },
  {
    name: "cas on the unknown mod revision of a pending put may go either way",
    h: new H()
      .put(0, [0, 0], "a", "1")
      .cas(1, [2, 3], "a", mod(2n), "2", { succeeded: true, rev: 3n })
      .get(1, [4, 5], "a", "2", 3n, 3n),
    perKey: "ok",
    store: "ok",
  },
  {
    name: "pending cas that may or may not have happened",
    h: new H()
      .put(0, [0, 1], "a", "1", 2n)
      .cas(1, [2, 2], "a", v("1"), "2")
      .get(2, [4, 5], "a", "1", 2n, 2n)
      .get(2, [6, 7], "a", "2", 3n, 3n),
    perKey: "ok",
    store: "ok",
  },
  {
    name: "serializable reads are not checked",
    h: new H().put(0, [0, 1], "a", "1", 2n).sget(1, [2, 3], "a", null, 0n, 1n),
    perKey: "ok",
    store: "ok",
  },
];

for (const c of cases) {
  test(`etcd: ${c.name}`, () => {
    const k = checkOperations(etcdKeyModel(), c.h.ops);
    assert.equal(k.result, c.perKey, k.explanation ?? "per-key model said ok");
    const s = checkOperations(etcdStoreModel(), c.h.ops);
    assert.equal(s.result, c.store, s.explanation ?? "store model said ok");
    if (c.order !== undefined) assert.equal(checkRevisionOrder(c.h.ops).ok, c.order);
  });
}

test("etcd: multi-key txns need the whole-store model", () => {
  // The guarded write of a lock holder: If(createRevision(lock) = mine) Then put(data).
  const h = new H()
    .put(0, [0, 1], "lock/0", "me", 2n)
    .txn(
      0,
      [2, 3],
      [{ key: "lock/0", target: "create", number: 2n }],
      [{ op: "put", key: "data", value: "x" }],
      [],
      {
        succeeded: true,
        rev: 3n,
        results: [{ op: "put" }],
      },
    )
    .del(0, [4, 5], "lock/0", 1, 4n)
    .txn(
      0,
      [6, 7],
      [{ key: "lock/0", target: "create", number: 2n }],
      [{ op: "put", key: "data", value: "y" }],
      [],
      {
        succeeded: true,
        rev: 5n,
        results: [{ op: "put" }],
      },
    );
  assert.throws(() => perKey(h), /multi-key txn/);
  assert.equal(store(h), "illegal");
  const res = checkEtcdHistory(h.ops);
  assert.equal(res.result, "illegal");
  assert.equal(res.perKey.partitions.length, 0);
  assert.match(res.explanation!, /whole-store model/);
});

test("etcd: checkEtcdHistory combines the per-key model and the revision order", () => {
  const ok = new H().put(0, [0, 1], "a", "1", 2n).get(1, [2, 3], "b", null, 0n, 2n);
  assert.equal(checkEtcdHistory(ok.ops).result, "ok");
  const back = new H().put(0, [0, 1], "a", "1", 5n).get(1, [2, 3], "b", null, 0n, 3n);
  assert.equal(perKey(back), "ok");
  const res = checkEtcdHistory(back.ops);
  assert.equal(res.result, "illegal");
  assert.match(res.explanation!, /revision went back/);
});

test("etcd: the explanation reads in etcd's words", () => {
  const h = new H().put(0, [0, 1_000_000], "a", "1", 2n).get(1, [2_000_000, 3_000_000], "a", null, 0n, 2n);
  const res = checkEtcdHistory(h.ops);
  assert.equal(res.result, "illegal");
  assert.match(res.explanation!, /partition "a": not linearizable/);
  assert.match(res.explanation!, /#0 client 0 \[0\.000ms \.\. 1\.000ms\] put\("a", "1"\) -> rev 2/);
  assert.match(res.explanation!, /state after it: "1" mod 2 \(store revision >= 2\)/);
  assert.match(res.explanation!, /cannot linearize next: #1 client 1 .* get\("a"\) -> ∅ mod 0 @rev 2/);
});
