// Owns the translation of mvcc watch responses into etcdserverpb.WatchResponse messages: the cluster header,
// mvccpb events, and etcd's fragmenting of a response that is too large for a watcher that allows it.

import type { WatchResponse as MvccWatchResponse, WatchEvent } from "../../mvcc/index.js";
import { Event, Event_EventType, type ResponseHeader, WatchResponse } from "../../proto/index.js";

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
 * The Watch stream's response serializer: byte for byte what WatchResponse.encode gives (events are the last
 * field), but each event is encoded once for all its watchers instead of once per watcher (10,000 watchers
 * of one key made encoding the main cost of a put).
 */
export function serializeWatchResponse(msg: WatchResponse): Buffer {
  const head = WatchResponse.encode({ ...msg, events: [] }).finish();
  if (msg.events.length === 0) return Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const parts: Uint8Array[] = [head];
  let total = head.length;
  for (const ev of msg.events) {
    const f = eventField(ev);
    parts.push(f);
    total += f.length;
  }
  return Buffer.concat(parts, total);
}

function varintBytes(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}

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
    events: resp.events.map(toPbEvent),
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
  return 1 + varintSize(n) + n;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
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
