// Owns differential testing against a real etcd: a real etcd and an etcd-ts started side by side, and the
// normalization of the only things two fresh single-member clusters may differ in (cluster/member IDs, raft term).
import assert from "node:assert/strict";
import type { CtlResult } from "./etcdctl.js";
import { ETCD, etcdctl, hasEtcd } from "./etcdctl.js";
import { type ServerProcess, startServer } from "./server_process.js";

export { hasEtcd };

export interface Pair {
  etcd: ServerProcess;
  ours: ServerProcess;
  /** Stops both and removes their data dirs. */
  stop(): Promise<void>;
}

/** Starts a real etcd and an etcd-ts with the same extra flags, each on its own free ports and temp dir. */
export async function startPair(extraArgs: string[] = []): Promise<Pair> {
  const [etcd, ours] = await Promise.allSettled([
    startServer({ binary: ETCD, extraArgs }),
    startServer({ extraArgs }),
  ]);
  const started = [etcd, ours].flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((s) => s.stop()));
    for (const s of started) s.cleanup();
  };
  if (etcd.status === "rejected" || ours.status === "rejected") {
    await stop();
    throw etcd.status === "rejected" ? etcd.reason : (ours as PromiseRejectedResult).reason;
  }
  return { etcd: etcd.value, ours: ours.value, stop };
}

/**
 * etcdctl's JSON (`"cluster_id":N`) and fields (`"ClusterID" : N`) renderings of the per-cluster numbers, and
 * the endpoint address some commands print.
 */
export function normalizeIds(text: string): string {
  return text
    .replace(/"(cluster_id|member_id|raft_term)":\d+/g, '"$1":0')
    .replace(/"(ClusterID|MemberID|RaftTerm)" : \d+/g, '"$1" : 0')
    .replace(/"Endpoint" ?: ?"[^"]*"/g, '"Endpoint":""');
}

/**
 * etcdctl's stderr: its client logs JSON lines with timestamps and a random target; keep level, message and
 * the gRPC error from those, and every other line as it is ("Error: …").
 */
export function normalizeStderr(text: string): string {
  return text
    .split("\n")
    .map((line) => {
      if (!line.startsWith("{")) return line;
      try {
        const j = JSON.parse(line) as { level?: string; msg?: string; error?: string };
        return `${j.level} ${j.msg} ${j.error ?? ""}`;
      } catch {
        return line;
      }
    })
    .join("\n");
}

function readVarint(buf: Buffer, at: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[at++];
    if (b === undefined) throw new Error("truncated varint");
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [v, at];
    shift += 7n;
  }
}

function writeVarint(v: bigint): Buffer {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

/**
 * A response as `-w protobuf` prints it, with the ResponseHeader (field 1) reduced to its revision; every
 * other byte is kept, so the rest is compared byte for byte.
 */
export function normalizeProtobuf(msg: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < msg.length) {
    const start = at;
    const [tag, afterTag] = readVarint(msg, at);
    at = afterTag;
    const wire = Number(tag & 7n);
    if (wire === 0) {
      at = readVarint(msg, at)[1];
    } else if (wire === 2) {
      const [len, afterLen] = readVarint(msg, at);
      const end = afterLen + Number(len);
      if (tag >> 3n === 1n) {
        parts.push(headerWithRevisionOnly(msg.subarray(afterLen, end)));
        at = end;
        continue;
      }
      at = end;
    } else if (wire === 1) {
      at += 8;
    } else if (wire === 5) {
      at += 4;
    } else {
      // Not a protobuf message (e.g. an error): compare as is.
      return msg;
    }
    if (at > msg.length) return msg;
    parts.push(msg.subarray(start, at));
  }
  return Buffer.concat(parts);
}

function headerWithRevisionOnly(header: Buffer): Buffer {
  let revision = 0n;
  let at = 0;
  while (at < header.length) {
    const [tag, afterTag] = readVarint(header, at);
    const [v, afterValue] = readVarint(header, afterTag);
    if (tag === 3n << 3n) revision = v;
    at = afterValue;
  }
  const body =
    revision === 0n ? Buffer.alloc(0) : Buffer.concat([Buffer.from([3 << 3]), writeVarint(revision)]);
  return Buffer.concat([Buffer.from([(1 << 3) | 2]), writeVarint(BigInt(body.length)), body]);
}

export interface CtlOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** What two etcdctl runs must agree on, normalized. */
export function ctlOutcome(r: CtlResult, args: readonly string[]): CtlOutcome {
  const protobuf = args.some((a, i) => a === "-w=protobuf" || (a === "-w" && args[i + 1] === "protobuf"));
  let stdout: string;
  try {
    stdout = protobuf ? normalizeProtobuf(r.stdoutBytes).toString("hex") : normalizeIds(r.stdout);
  } catch {
    stdout = r.stdoutBytes.toString("hex"); // not a message: compare the raw bytes
  }
  return { code: r.code, stdout, stderr: normalizeStderr(r.stderr) };
}

/** The keys of a JSON value, recursively (arrays by their first element): its shape, without values. */
export function jsonShape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? [] : [jsonShape(v[0])];
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, x]) => [k, jsonShape(x)]),
    );
  }
  return typeof v;
}

/** One etcdctl invocation: its arguments, and stdin if any (txn reads its request there). */
export type CtlStep = string[] | { args: string[]; input: string };

/**
 * Runs each step against both servers of `pair` (in parallel) and requires the same outcome, normalized by
 * `normalize` (ctlOutcome unless given).
 */
export async function assertSameCtl(
  pair: Pair,
  steps: readonly CtlStep[],
  normalize: (r: CtlResult, args: string[]) => CtlOutcome = ctlOutcome,
): Promise<void> {
  for (const step of steps) {
    const [args, input] = Array.isArray(step) ? [step, undefined] : [step.args, step.input];
    const [want, got] = await Promise.all([
      etcdctl(pair.etcd.endpoint, args, input),
      etcdctl(pair.ours.endpoint, args, input),
    ]);
    assert.deepEqual(
      normalize(got, args),
      normalize(want, args),
      `etcdctl ${args.join(" ")}${input ? ` <<< ${JSON.stringify(input)}` : ""}`,
    );
  }
}
