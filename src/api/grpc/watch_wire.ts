// Owns the translation of mvcc watch responses into etcdserverpb.WatchResponse messages: the cluster header,
// mvccpb events, and etcd's fragmenting of a response that is too large for a watcher that allows it.

import type { WatchResponse as MvccWatchResponse, WatchEvent } from "../../mvcc/index.js";
import { varintSize, writeVarint } from "../../mvcc/kv.js";
import { Event, Event_EventType, ResponseHeader, WatchResponse } from "../../proto/index.js";

/** etcd's grpcOverheadBytes: a fragment may be up to --max-request-bytes plus this. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** One wire event per mvcc event: every watcher of a change shares it, and so its encoding. */
const pbEvents = new WeakMap<WatchEvent, Event>();

export function toPbEvent(ev: WatchEvent): Event {
  let pb = pbEvents.get(ev);
  if (!pb) {
    pb = {
      type: ev.type === "PUT" ? Event_EventType.PUT : Event_EventType.DELETE,
      kv: ev.kv,
      prevKv: ev.prevKv,
    };
    pbEvents.set(ev, pb);
  }
  return pb;
}

/** Wire events by mvcc events array: watchers of one write share one array (see WatchableStore.notify). */
const pbEventArrays = new WeakMap<readonly WatchEvent[], Event[]>();

function pbEventsOf(events: readonly WatchEvent[]): Event[] {
  let pb = pbEventArrays.get(events);
  if (!pb) {
    pb = events.map(toPbEvent);
    pbEventArrays.set(events, pb);
  }
  return pb;
}

/** Encoded `events` fields (tag, length, Event), by wire event: encoded once however many watchers get it. */
const encodedEventFields = new WeakMap<Event, Buffer>();
/** Field 11 (events), wire type 2. */
const EVENTS_TAG = (11 << 3) | 2;

function eventField(ev: Event): Buffer {
  let b = encodedEventFields.get(ev);
  if (!b) {
    const enc = Event.encode(ev).finish();
    const len = varintBytes(enc.length);
    b = Buffer.allocUnsafe(1 + len.length + enc.length);
    b[0] = EVENTS_TAG;
    len.copy(b, 1);
    b.set(enc, 1 + len.length);
    encodedEventFields.set(ev, b);
  }
  return b;
}

/**
 * The Watch stream's response serializer: byte for byte what WatchResponse.encode gives, written straight into
 * one buffer. Each event is encoded once for all its watchers, and the header (the same for every watcher of a
 * revision) once per revision — with 100s of watchers per key, encoding and its garbage were the main cost of a
 * put (and young-GC pauses the main cause of put→event tail latency).
 */
export function serializeWatchResponse(msg: WatchResponse): Buffer {
  const head = msg.header === undefined ? undefined : headerField(msg.header);
  let size = head === undefined ? 0 : head.length;
  if (msg.watchId !== 0n) size += 1 + varintSize(msg.watchId);
  if (msg.created) size += 2;
  if (msg.canceled) size += 2;
  if (msg.compactRevision !== 0n) size += 1 + varintSize(msg.compactRevision);
  let reason: Buffer | undefined;
  if (msg.cancelReason !== "") {
    reason = Buffer.from(msg.cancelReason, "utf8");
    size += 1 + varintSize(BigInt(reason.length)) + reason.length;
  }
  if (msg.fragment) size += 2;
  const evs = msg.events;
  const fields: Buffer[] = new Array(evs.length);
  for (let i = 0; i < evs.length; i++) {
    const f = eventField(evs[i]!);
    fields[i] = f;
    size += f.length;
  }
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  if (head !== undefined) pos += head.copy(out, pos);
  if (msg.watchId !== 0n) {
    out[pos++] = 16;
    pos = writeVarint(out, pos, msg.watchId);
  }
  if (msg.created) {
    out[pos++] = 24;
    out[pos++] = 1;
  }
  if (msg.canceled) {
    out[pos++] = 32;
    out[pos++] = 1;
  }
  if (msg.compactRevision !== 0n) {
    out[pos++] = 40;
    pos = writeVarint(out, pos, msg.compactRevision);
  }
  if (reason !== undefined) {
    out[pos++] = 50;
    pos = writeVarint(out, pos, BigInt(reason.length));
    pos += reason.copy(out, pos);
  }
  if (msg.fragment) {
    out[pos++] = 56;
    out[pos++] = 1;
  }
  for (const f of fields) pos += f.copy(out, pos);
  return out;
}

/** The last encoded header field (tag 1, length, ResponseHeader): every watcher of a revision shares it. */
let lastHeader: { h: ResponseHeader; bytes: Buffer } | undefined;

function headerField(h: ResponseHeader): Buffer {
  const c = lastHeader;
  if (
    c !== undefined &&
    (c.h === h ||
      (c.h.revision === h.revision &&
        c.h.raftTerm === h.raftTerm &&
        c.h.clusterId === h.clusterId &&
        c.h.memberId === h.memberId))
  )
    return c.bytes;
  const enc = ResponseHeader.encode(h).finish();
  const len = varintBytes(enc.length);
  const bytes = Buffer.allocUnsafe(1 + len.length + enc.length);
  bytes[0] = HEADER_TAG;
  len.copy(bytes, 1);
  bytes.set(enc, 1 + len.length);
  lastHeader = { h: { ...h }, bytes };
  return bytes;
}
/** Field 1 (header), wire type 2. */
const HEADER_TAG = (1 << 3) | 2;

/** The wire messages for one mvcc response: one, or several fragments when the watcher asked for them. */
export function toWire(
  resp: MvccWatchResponse,
  header: (rev: bigint) => ResponseHeader,
  fragmentBytes: number,
): WatchResponse[] {
  const msg: WatchResponse = {
    header: header(resp.revision),
    watchId: resp.watchId,
    created: resp.created,
    canceled: resp.canceled,
    compactRevision: resp.compactRevision,
    cancelReason: resp.cancelReason,
    fragment: false,
    events: pbEventsOf(resp.events),
  };
  return resp.fragment ? fragments(msg, fragmentBytes) : [msg];
}

/**
 * etcd's sendFragments: a response of at least `maxBytes` with two or more events is cut into pieces that
 * each stay under `maxBytes` (a single event may exceed it); every piece but the last has fragment=true.
 */
export function fragments(msg: WatchResponse, maxBytes: number): WatchResponse[] {
  if (msg.events.length < 2) return [msg];
  const sizes = msg.events.map(eventFieldSize);
  const empty = encodedSize({ ...msg, events: [], fragment: false });
  if (empty + sizes.reduce((a, b) => a + b, 0) < maxBytes) return [msg];
  const base = encodedSize({ ...msg, events: [], fragment: true });
  const out: WatchResponse[] = [];
  let idx = 0;
  while (idx < msg.events.length) {
    const events: Event[] = [];
    let size = base;
    for (; idx < msg.events.length; idx++) {
      if (events.length > 0 && size + sizes[idx]! >= maxBytes) break;
      events.push(msg.events[idx]!);
      size += sizes[idx]!;
    }
    out.push({ ...msg, events, fragment: idx < msg.events.length });
  }
  return out;
}

function encodedSize(msg: WatchResponse): number {
  return WatchResponse.encode(msg).finish().length;
}

/** Bytes of one `events` entry (field 11, length-delimited) inside a WatchResponse. */
function eventFieldSize(ev: Event): number {
  const n = Event.encode(ev).finish().length;
  return 1 + varintSize(BigInt(n)) + n;
}

/** A cheap upper-bound estimate of a response's encoded size, for the per-stream buffer limit. */
export function approxSize(msg: WatchResponse): number {
  let n = 64;
  for (const e of msg.events) {
    n += 48 + (e.kv ? e.kv.key.length + e.kv.value.length : 0);
    if (e.prevKv) n += 48 + e.prevKv.key.length + e.prevKv.value.length;
  }
  return n;
}

function varintBytes(n: number): Buffer {
  const v = BigInt(n);
  const out = Buffer.allocUnsafe(varintSize(v));
  writeVarint(out, 0, v);
  return out;
}

/** gRPC's length prefix: a compressed flag byte and the message length (big-endian uint32). */
const GRPC_PREFIX_BYTES = 5;

/** Several watch responses as one buffer of gRPC messages, each with its length prefix (see PreframedMessages). */
export function frameWatchResponses(msgs: readonly WatchResponse[]): Buffer {
  const bodies = msgs.map(serializeWatchResponse);
  let size = 0;
  for (const b of bodies) size += GRPC_PREFIX_BYTES + b.length;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const b of bodies) {
    out[pos] = 0;
    out.writeUInt32BE(b.length, pos + 1);
    pos += GRPC_PREFIX_BYTES + b.copy(out, pos + GRPC_PREFIX_BYTES);
  }
  return out;
}
