// Owns recording a history from test code: call/return instants on a monotonic clock, unknown outcomes as
// pending, and the JSON form of a history for post-mortems (bigint-safe, pending as a null return).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, type Operation, PENDING } from "./model.js";

/** What `begin` returns: pass it to `end` or `fail`. */
export type OpHandle = number;

/** An operation as recorded, with the error that ended it, if any. */
export interface RecordedOperation<I, O> extends Operation<I, O> {
  /** The error of a failed call (outcome unknown, or definitely not applied when `notApplied`). */
  error?: string;
  /** When the failure was seen (the operation's `return` stays PENDING when the outcome is unknown). */
  failedAt?: number;
  /** The call failed in a way that proves it had no effect: it is left out of the checked history. */
  notApplied?: boolean;
}

export interface FailOptions {
  /** The request certainly did not take effect (rejected before being proposed, never sent, …). */
  definitelyNotApplied?: boolean;
}

export interface HistoryFile<I, O> {
  format: "etcd-ts-history/1";
  name: string;
  /** Clock: nanoseconds since the recorder was created. */
  timeUnit: "ns";
  operations: RecordedOperation<I, O>[];
  notes?: Record<string, unknown>;
}

/**
 * Records a history: `const op = rec.begin(client, input)`, then `rec.end(op, output)` or
 * `rec.fail(op, err)`. An operation never ended is pending (it may or may not have taken effect).
 * Instants are nanoseconds on `process.hrtime` (monotonic) since the recorder was created.
 */
export class HistoryRecorder<I, O> {
  private readonly origin = process.hrtime.bigint();
  private readonly ops: RecordedOperation<I, O>[] = [];
  private readonly open = new Set<OpHandle>();

  constructor(readonly name = "history") {}

  /** Nanoseconds since the recorder was created. */
  now(): number {
    return Number(process.hrtime.bigint() - this.origin);
  }

  begin(clientId: number | string, input: I): OpHandle {
    const id = this.ops.length;
    this.ops.push({ id, clientId, call: this.now(), return: PENDING, input, output: undefined });
    this.open.add(id);
    return id;
  }

  end(op: OpHandle, output: O): void {
    const t = this.now();
    this.close(op, "end").return = t;
    this.ops[op]!.output = output;
  }

  /**
   * The call failed. Unless it `definitelyNotApplied`, its outcome is unknown and it stays pending: the
   * checker lets it take effect at any point after its call, or not at all.
   */
  fail(op: OpHandle, err: unknown, options: FailOptions = {}): void {
    const rec = this.close(op, "fail");
    rec.failedAt = this.now();
    rec.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    if (options.definitelyNotApplied) rec.notApplied = true;
  }

  /** Runs `fn` as one operation: its result ends it, its error fails it (then rethrown). */
  async record<T extends O>(
    clientId: number | string,
    input: I,
    fn: () => Promise<T>,
    notApplied: (err: unknown) => boolean = () => false,
  ): Promise<T> {
    const op = this.begin(clientId, input);
    try {
      const out = await fn();
      this.end(op, out);
      return out;
    } catch (e) {
      this.fail(op, e, { definitelyNotApplied: notApplied(e) });
      throw e;
    }
  }

  /** Operations recorded so far (begun, ended or failed). */
  get size(): number {
    return this.ops.length;
  }

  /** The history to check: failed-but-not-applied operations left out, unended ones pending. */
  operations(): Operation<I, O>[] {
    return checkedOperations(this.ops);
  }

  toJSON(notes?: Record<string, unknown>): HistoryFile<I, O> {
    const file: HistoryFile<I, O> = {
      format: "etcd-ts-history/1",
      name: this.name,
      timeUnit: "ns",
      operations: this.ops,
    };
    if (notes) file.notes = notes;
    return file;
  }

  /** Writes the history as JSON into `dir` (default: a new temp dir); returns the file's path. */
  writeFile(dir?: string, notes?: Record<string, unknown>): string {
    return writeHistoryFile(this.toJSON(notes), dir);
  }

  private close(op: OpHandle, what: string): RecordedOperation<I, O> {
    assert(this.open.delete(op), () => `${what}(${op}): operation not begun or already ended`);
    return this.ops[op]!;
  }
}

/** The operations a checker should see: not-applied failures left out, the rest as recorded. */
export function checkedOperations<I, O>(ops: readonly RecordedOperation<I, O>[]): Operation<I, O>[] {
  return ops
    .filter((o) => !o.notApplied)
    .map((o) => ({
      id: o.id,
      clientId: o.clientId,
      call: o.call,
      return: o.return,
      input: o.input,
      output: o.output,
    }));
}

/** JSON with bigints as `{"$bigint": "123"}` and Infinity (a pending return) as null. */
export function stringifyHistory(file: HistoryFile<unknown, unknown>): string {
  return JSON.stringify(
    file,
    (_k, v: unknown) => {
      if (typeof v === "bigint") return { $bigint: v.toString() };
      if (v === PENDING) return null;
      return v;
    },
    1,
  );
}

export function parseHistory<I, O>(text: string): HistoryFile<I, O> {
  const file = JSON.parse(text, (k, v: unknown) => {
    if (v !== null && typeof v === "object" && "$bigint" in v)
      return BigInt((v as { $bigint: string }).$bigint);
    if (k === "return" && v === null) return PENDING;
    return v;
  }) as HistoryFile<I, O>;
  assert(file.format === "etcd-ts-history/1", () => `not a history file (format ${String(file.format)})`);
  return file;
}

export function writeHistoryFile(file: HistoryFile<unknown, unknown>, dir?: string): string {
  const target = dir ?? mkdtempSync(join(tmpdir(), "etcd-ts-history-"));
  mkdirSync(target, { recursive: true });
  const path = join(target, `${file.name.replace(/[^A-Za-z0-9._-]+/g, "_")}.json`);
  writeFileSync(path, stringifyHistory(file));
  return path;
}

export function readHistoryFile<I, O>(path: string): HistoryFile<I, O> {
  return parseHistory<I, O>(readFileSync(path, "utf8"));
}
