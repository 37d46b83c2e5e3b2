// Owns admitting HTTP/2 connections to gRPC when a client sends a URL as its :authority. Go gRPC clients given an
// endpoint with a scheme (`etcdctl --endpoints=http://127.0.0.1:2379`, and `etcdctl endpoint status --cluster`,
// which dials the members' client URLs) send `:authority: http://127.0.0.1:2379`. Go's HTTP/2 server takes it;
// nghttp2 (Node's) resets the stream with PROTOCOL_ERROR, as '/' is not allowed in an authority.
//
// So before handing a connection over, we look at its first request. Go clients wait for the server's SETTINGS
// before their first request, so we send an empty SETTINGS (a valid server preface) and drop the client's ACK of
// it (Node's HTTP/2 session sends its own SETTINGS and expects exactly one ACK). If the first request's authority
// is fine, the socket goes to gRPC as it is, with the bytes read so far put back: no cost afterwards. Otherwise
// the connection goes through a filter that rewrites every request's header block with the scheme stripped from
// its authority.

import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { encodeLiteral, type HeaderField, HpackDecoder } from "./hpack.js";

export const H2_PREFACE_BYTES = 24;
const FRAME_HEADER_BYTES = 9;
const TYPE_HEADERS = 0x1;
const TYPE_SETTINGS = 0x4;
const TYPE_CONTINUATION = 0x9;
const FLAG_ACK = 0x1;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** An empty SETTINGS frame: the server preface with every setting at its default. */
export const EMPTY_SETTINGS = Buffer.from([0, 0, 0, TYPE_SETTINGS, 0, 0, 0, 0, 0]);
/** Longest we look at a new connection before handing it over unchecked (its first request may come later). */
export const ADMIT_WAIT_MS = 1000;
/** Most bytes held while deciding; a client sending more before its first request is handed over unchecked. */
export const MAX_ADMIT_BYTES = 256 * 1024;
/** Frame payloads we write: the smallest SETTINGS_MAX_FRAME_SIZE a server may have. */
const MAX_OUT_FRAME_BYTES = 16_384;

/** An :authority nghttp2 refuses (it contains a '/'), made acceptable: the scheme and any path dropped. */
export function fixAuthority(a: string): string {
  const noScheme = a.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, "");
  const slash = noScheme.indexOf("/");
  return slash < 0 ? noScheme : noScheme.slice(0, slash);
}

const needsFix = (fields: readonly HeaderField[]): boolean =>
  fields.some(([n, v]) => n === ":authority" && v.includes("/"));

/**
 * Rewrites the client-to-server bytes of a connection (preface first): drops the first SETTINGS ACK when asked,
 * and, in rewrite mode, re-encodes every header block with fixAuthority applied. Frames are otherwise kept.
 */
class RequestFilter {
  private buf: Buffer = Buffer.alloc(0);
  private prefaceLeft = H2_PREFACE_BYTES;
  private readonly decoder = new HpackDecoder();
  /** A header block in progress: its first frame's flags and priority bytes, and its fragments. */
  private block: { streamId: number; flags: number; priority: Buffer; fragments: Buffer[] } | undefined;
  firstBlock: HeaderField[] | undefined;
  ackDropped = false;

  constructor(
    private dropAck: boolean,
    private readonly rewrite: boolean,
  ) {}

  push(chunk: Buffer): Buffer {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    if (this.prefaceLeft > 0) {
      const n = Math.min(this.prefaceLeft, this.buf.length);
      out.push(this.buf.subarray(0, n));
      this.buf = this.buf.subarray(n);
      this.prefaceLeft -= n;
    }
    while (this.prefaceLeft === 0 && this.buf.length >= FRAME_HEADER_BYTES) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < FRAME_HEADER_BYTES + len) break;
      const raw = this.buf.subarray(0, FRAME_HEADER_BYTES + len);
      this.buf = this.buf.subarray(FRAME_HEADER_BYTES + len);
      this.frame(raw, out);
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  private frame(raw: Buffer, out: Buffer[]): void {
    const type = raw[3]!;
    const flags = raw[4]!;
    const streamId = raw.readUInt32BE(5) & 0x7fffffff;
    const payload = raw.subarray(FRAME_HEADER_BYTES);
    if (type === TYPE_SETTINGS && flags & FLAG_ACK && this.dropAck) {
      this.dropAck = false;
      this.ackDropped = true;
      return;
    }
    if (type !== TYPE_HEADERS && type !== TYPE_CONTINUATION) {
      out.push(raw);
      return;
    }
    if (type === TYPE_HEADERS) {
      let p = payload;
      let pad = 0;
      if (flags & FLAG_PADDED) {
        pad = p[0] ?? 0;
        p = p.subarray(1);
      }
      let priority = Buffer.alloc(0);
      if (flags & FLAG_PRIORITY) {
        priority = Buffer.from(p.subarray(0, 5));
        p = p.subarray(5);
      }
      p = p.subarray(0, Math.max(0, p.length - pad));
      this.block = { streamId, flags, priority, fragments: [Buffer.from(p)] };
      if (!this.rewrite && this.firstBlock !== undefined) this.block = undefined;
    } else if (this.block) {
      this.block.fragments.push(Buffer.from(payload));
    }
    const done = (flags & FLAG_END_HEADERS) !== 0;
    const b = this.block;
    if (!this.rewrite || !b) out.push(raw);
    if (!done || !b) return;
    this.block = undefined;
    const fields = this.decoder.decode(Buffer.concat(b.fragments));
    this.firstBlock ??= fields;
    if (this.rewrite)
      out.push(
        ...encodeBlock(
          b.streamId,
          b.flags,
          b.priority,
          fields.map(([n, v]) => [n, n === ":authority" ? fixAuthority(v) : v]),
        ),
      );
  }
}

/** A header block as HEADERS (+ CONTINUATION) frames of at most MAX_OUT_FRAME_BYTES, literal encoding. */
function encodeBlock(streamId: number, flags: number, priority: Buffer, fields: HeaderField[]): Buffer[] {
  const block = Buffer.concat([priority, encodeLiteral(fields)]);
  const frames: Buffer[] = [];
  for (let off = 0; off === 0 || off < block.length; off += MAX_OUT_FRAME_BYTES) {
    const piece = block.subarray(off, off + MAX_OUT_FRAME_BYTES);
    const last = off + MAX_OUT_FRAME_BYTES >= block.length;
    const type = off === 0 ? TYPE_HEADERS : TYPE_CONTINUATION;
    let f = off === 0 ? flags & (FLAG_END_STREAM | FLAG_PRIORITY) : 0;
    if (last) f |= FLAG_END_HEADERS;
    const h = Buffer.alloc(FRAME_HEADER_BYTES);
    h.writeUIntBE(piece.length, 0, 3);
    h[3] = type;
    h[4] = f;
    h.writeUInt32BE(streamId, 5);
    frames.push(h, piece);
  }
  return frames;
}

/**
 * Takes an HTTP/2 connection whose preface has been read (and put back, socket paused) and hands it to `inject`:
 * the socket itself, or a filtering stream when its requests need their authority fixed.
 */
export function admitH2(socket: Socket, inject: (conn: Socket | Duplex) => void): void {
  const raw: Buffer[] = [];
  let size = 0;
  const probe = new RequestFilter(true, false);
  let decided = false;
  const decide = (fix: boolean | undefined): void => {
    if (decided) return;
    decided = true;
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("error", onError);
    socket.pause();
    const all = Buffer.concat(raw);
    if (fix === true || !probe.ackDropped) {
      injectFiltered(socket, all, inject);
      return;
    }
    // Unchecked or fine: the socket as it is, with what we read put back (minus the ACK of our SETTINGS).
    socket.unshift(new RequestFilter(true, false).push(all));
    inject(socket);
  };
  const onData = (d: Buffer): void => {
    raw.push(d);
    size += d.length;
    try {
      probe.push(d);
    } catch {
      decide(undefined); // not HPACK we understand: let the HTTP/2 server judge it
      return;
    }
    if (probe.ackDropped && probe.firstBlock !== undefined) decide(needsFix(probe.firstBlock));
    else if (size > MAX_ADMIT_BYTES) decide(undefined);
  };
  const onError = (): void => {
    clearTimeout(timer);
  };
  const timer = setTimeout(() => decide(undefined), ADMIT_WAIT_MS);
  socket.on("data", onData);
  socket.on("error", onError);
  socket.write(EMPTY_SETTINGS);
  socket.resume();
}

/** The connection through a RequestFilter that drops our SETTINGS' ACK and fixes every request's authority. */
function injectFiltered(socket: Socket, readSoFar: Buffer, inject: (conn: Duplex) => void): void {
  const filter = new RequestFilter(true, true);
  const conn = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  for (const k of ["remoteAddress", "remotePort", "remoteFamily", "localAddress", "localPort"] as const) {
    Object.defineProperty(conn, k, { get: () => socket[k] });
  }
  const feed = (d: Buffer): void => {
    let out: Buffer;
    try {
      out = filter.push(d);
    } catch {
      socket.destroy();
      return;
    }
    if (out.length > 0 && !conn.push(out)) socket.pause();
  };
  socket.on("data", feed);
  socket.on("end", () => conn.push(null));
  socket.on("close", () => conn.destroy());
  socket.on("error", (err) => conn.destroy(err));
  feed(readSoFar);
  inject(conn);
}
