// Owns the differential Watch scenario: one fixed script of KV writes and raw Watch requests, run against any
// endpoint (a real etcd 3.4, etcd-ts), returning a transcript without member-specific fields to compare.

import { createHash } from "node:crypto";
import { credentials } from "@grpc/grpc-js";
import {
  CompactionRequest,
  DeleteRangeRequest,
  Event_EventType,
  type KeyValue,
  KVClient,
  PutRequest,
  TxnRequest,
  WatchClient,
  WatchCreateRequest_FilterType,
  type WatchResponse,
} from "../../proto/index.js";
import { RawWatch, until } from "./watch_test_util.js";

const b = (s: string) => Buffer.from(s);

function unary<Req, Res>(
  fn: (req: Req, cb: (err: Error | null, res?: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res!))));
}

function kvBrief(kv: KeyValue | undefined) {
  if (!kv) return null;
  const value =
    kv.value.length > 64
      ? `sha256:${createHash("sha256").update(kv.value).digest("hex").slice(0, 16)}/${kv.value.length}`
      : String(kv.value);
  return [
    String(kv.key),
    String(kv.createRevision),
    String(kv.modRevision),
    String(kv.version),
    value,
    String(kv.lease),
  ];
}

/** A response without cluster_id / member_id / raft_term. */
function normalize(r: WatchResponse) {
  return {
    id: String(r.watchId),
    rev: String(r.header?.revision ?? 0n),
    created: r.created,
    canceled: r.canceled,
    compact: String(r.compactRevision),
    reason: r.cancelReason,
    fragment: r.fragment,
    events: r.events.map((e) => [
      e.type === Event_EventType.PUT ? "PUT" : "DELETE",
      kvBrief(e.kv),
      kvBrief(e.prevKv),
    ]),
  };
}

export type Transcript = Array<{ phase: string; byWatcher: Array<[string, ReturnType<typeof normalize>[]]> }>;

/**
 * Runs the scenario on a fresh member at `endpoint` (revision 1). Each phase waits for the number of
 * responses etcd 3.4.23 sends for it; responses are grouped by watch_id (order kept within a watcher: the
 * order across watchers of one revision is not specified).
 */
export async function runWatchScenario(endpoint: string): Promise<Transcript> {
  const kv = new KVClient(endpoint, credentials.createInsecure());
  const wc = new WatchClient(endpoint, credentials.createInsecure(), {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
  });
  const put = (k: string, v: string | Buffer) =>
    unary(kv.put.bind(kv), PutRequest.fromPartial({ key: b(k), value: typeof v === "string" ? b(v) : v }));
  const w = new RawWatch(wc);
  const transcript: Transcript = [];
  let seen = 0;
  const phase = async (name: string, expect: number) => {
    await until(
      () => w.responses.length >= seen + expect,
      `phase ${name}: ${expect} responses (have ${w.responses.length - seen})`,
    );
    const got = w.responses.slice(seen, seen + expect);
    seen += expect;
    const groups = new Map<string, ReturnType<typeof normalize>[]>();
    for (const r of got.map(normalize)) groups.set(r.id, [...(groups.get(r.id) ?? []), r]);
    transcript.push({ phase: name, byWatcher: [...groups].sort(([a], [c]) => Number(a) - Number(c)) });
  };
  try {
    await put("a", "1"); // 2
    await put("a", "2"); // 3
    await put("b", "1"); // 4
    w.create({ key: b("a") }); // 0
    w.create({ key: b("a"), watchId: 7n });
    w.create({ key: b("a"), watchId: 7n }); // duplicate
    w.create({ key: b("b"), rangeEnd: b("a") }); // empty range
    w.create({ key: b("a"), startRevision: 2n, prevKv: true }); // 1: history
    await phase("creates and history", 6);

    await put("a", "3"); // 5
    await phase("synced put", 3);

    w.create({ key: b(""), rangeEnd: b("\0"), filters: [WatchCreateRequest_FilterType.NOPUT] }); // 2
    await phase("create all-keys NOPUT", 1);
    await unary(kv.deleteRange.bind(kv), DeleteRangeRequest.fromPartial({ key: b("a") })); // 6
    await phase("delete with prev_kv", 4);

    w.cancel(7n);
    w.cancel(99n); // unknown: no response
    w.create({ key: b("a") }); // 3: auto IDs skip none and do not reuse 7
    await phase("cancel and re-create", 2);

    await unary(kv.compact.bind(kv), CompactionRequest.fromPartial({ revision: 5n }));
    w.create({ key: b("a"), startRevision: 3n }); // 4: compacted
    await phase("compacted start revision", 2);
    w.create({ key: b("a"), startRevision: 5n }); // 5: exactly the compact revision
    await phase("start at the compact revision", 2);

    w.progress();
    await phase("progress request", 1);

    await unary(
      kv.txn.bind(kv),
      TxnRequest.fromPartial({
        success: [
          { request: { $case: "requestPut", value: PutRequest.fromPartial({ key: b("a"), value: b("4") }) } },
          {
            request: { $case: "requestPut", value: PutRequest.fromPartial({ key: b("ab"), value: b("1") }) },
          },
        ],
      }),
    ); // 7
    await phase("txn", 4); // watchers 0, 1, 3, 5; the NOPUT watcher 2 has nothing left

    const mb = Buffer.alloc(1_000_000, "f");
    for (const k of ["f1", "f2", "f3"]) await put(k, mb); // 8, 9, 10
    w.create({ key: b("f"), rangeEnd: b("g"), prevKv: true, fragment: true }); // 6
    w.create({ key: b("f"), rangeEnd: b("g"), prevKv: true }); // 7
    await phase("create fragment watchers", 2);
    await unary(kv.deleteRange.bind(kv), DeleteRangeRequest.fromPartial({ key: b("f"), rangeEnd: b("g") })); // 11
    await phase("fragmented delete", 4); // 2 fragments + 1 whole, plus the all-keys NOPUT watcher 2
    return transcript;
  } finally {
    w.call.cancel();
    kv.close();
    wc.close();
  }
}
