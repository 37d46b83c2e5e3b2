// Owns transaction building: `Cmp` compare helpers (clientv3's Compare/Value/Version/…, KeyExists/KeyMissing)
// and the fluent `Txn` builder, `If(...).Then(...).Else(...).commit()`.
import {
  type Compare,
  Compare_CompareResult,
  Compare_CompareTarget,
  type TxnResponse,
} from "../proto/index.js";
import type { CallOptions } from "./call.js";
import { type Bytes, prefixEnd, toBuffer } from "./keys.js";
import { type LeaseId, type Op, type Revision, txnRequest } from "./ops.js";

/** How a compare relates the key's field to the operand. */
export type CompareOp = "=" | "!=" | ">" | "<";

const RESULT: Record<CompareOp, Compare_CompareResult> = {
  "=": Compare_CompareResult.EQUAL,
  "!=": Compare_CompareResult.NOT_EQUAL,
  ">": Compare_CompareResult.GREATER,
  "<": Compare_CompareResult.LESS,
};

/**
 * One condition of a transaction. A missing key has version, create and mod revision and lease 0, and a
 * value that equals nothing (etcd: a value compare on a missing key is false).
 */
export class Cmp {
  private constructor(
    /** The wire form. */
    readonly compare: Compare,
  ) {}

  /** Compares the key's value, bytewise. */
  static value(key: Bytes, op: CompareOp, value: Bytes): Cmp {
    return Cmp.of(key, op, Compare_CompareTarget.VALUE, { $case: "value", value: toBuffer(value) });
  }
  /** Compares the key's version (number of writes since creation; 0 = absent). */
  static version(key: Bytes, op: CompareOp, version: bigint | number): Cmp {
    return Cmp.of(key, op, Compare_CompareTarget.VERSION, { $case: "version", value: BigInt(version) });
  }
  /** Compares the revision that created the key (0 = absent). */
  static createRevision(key: Bytes, op: CompareOp, revision: Revision): Cmp {
    return Cmp.of(key, op, Compare_CompareTarget.CREATE, { $case: "createRevision", value: revision });
  }
  /** Compares the revision of the key's last write. */
  static modRevision(key: Bytes, op: CompareOp, revision: Revision): Cmp {
    return Cmp.of(key, op, Compare_CompareTarget.MOD, { $case: "modRevision", value: revision });
  }
  /** Compares the key's lease ID (0 = none). */
  static lease(key: Bytes, op: CompareOp, lease: LeaseId): Cmp {
    return Cmp.of(key, op, Compare_CompareTarget.LEASE, { $case: "lease", value: lease });
  }
  /** The key exists (clientv3util.KeyExists: version > 0). */
  static keyExists(key: Bytes): Cmp {
    return Cmp.version(key, ">", 0);
  }
  /** The key does not exist (clientv3util.KeyMissing: version = 0). */
  static keyMissing(key: Bytes): Cmp {
    return Cmp.version(key, "=", 0);
  }

  /** The same compare over every key in `[key, end)` (each must satisfy it). */
  withRange(end: Bytes): Cmp {
    return new Cmp({ ...this.compare, rangeEnd: toBuffer(end) });
  }
  /** The same compare over every key with this key as prefix. */
  withPrefix(): Cmp {
    return new Cmp({ ...this.compare, rangeEnd: prefixEnd(this.compare.key) });
  }

  private static of(
    key: Bytes,
    op: CompareOp,
    target: Compare_CompareTarget,
    targetUnion: Compare["targetUnion"],
  ): Cmp {
    return new Cmp({
      result: RESULT[op],
      target,
      key: toBuffer(key),
      targetUnion,
      rangeEnd: Buffer.alloc(0),
    });
  }
}

/**
 * A transaction: `If` compares (all must hold), `Then` ops run if they do, `Else` ops otherwise; each part at
 * most once and in that order, as clientv3's Txn. Every op in a branch sees the writes of the ops before it.
 *
 * @example
 * await client.kv.txn().If(Cmp.keyMissing("k")).Then(Op.put("k", "v")).Else(Op.get("k")).commit();
 */
export class Txn {
  private compares: Cmp[] = [];
  private success: Op[] = [];
  private failure: Op[] = [];
  private stage: 0 | 1 | 2 | 3 = 0;

  constructor(
    private readonly run: (req: ReturnType<typeof txnRequest>, opts?: CallOptions) => Promise<TxnResponse>,
  ) {}

  If(...compares: Cmp[]): this {
    this.advance(1, "If");
    this.compares = compares;
    return this;
  }

  Then(...ops: Op[]): this {
    this.advance(2, "Then");
    this.success = ops;
    return this;
  }

  Else(...ops: Op[]): this {
    this.advance(3, "Else");
    this.failure = ops;
    return this;
  }

  /** Sends the transaction (never retried once sent: it may write). */
  commit(options?: CallOptions): Promise<TxnResponse> {
    return this.run(txnRequest(this.compares, this.success, this.failure), options);
  }

  private advance(to: 1 | 2 | 3, name: string): void {
    if (this.stage >= to)
      throw new Error(`etcd client: Txn.${name} called after ${["", "If", "Then", "Else"][this.stage]}`);
    this.stage = to;
  }
}
