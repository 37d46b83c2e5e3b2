// Owns Maintenance.Snapshot: a consistent copy of the backend streamed in etcd's 32 KiB chunks, then its SHA-256.
import { createHash } from "node:crypto";
import type { ServerWritableStream } from "@grpc/grpc-js";
import type { SnapshotRequest, SnapshotResponse } from "../../proto/index.js";
import { drained } from "./drained.js";
import { toServiceError } from "./errors.js";

/** etcd's snapshotSendBufferSize: the size of every data message but the last. */
export const SNAPSHOT_SEND_BUFFER_SIZE = 32 * 1024;

export interface SnapshotSource {
  /** A point-in-time copy of the backend, `size` bytes, read in chunks of about `chunkBytes`. */
  openSnapshotStream(
    chunkBytes: number,
  ): Promise<{ size: number; stream: AsyncIterable<Uint8Array> & { destroy(): void } }>;
}

type SnapshotCall = ServerWritableStream<SnapshotRequest, SnapshotResponse>;

/**
 * Serves one Snapshot call as etcd 3.4 does: data messages carry `remaining_bytes` (bytes still to come) and no
 * header; a last message carries the SHA-256 of all data bytes as its blob, with `remaining_bytes` 0. Each
 * message is written only once the previous one was taken by the transport, so memory stays bounded.
 */
export async function serveSnapshot(source: SnapshotSource, call: SnapshotCall): Promise<void> {
  const ac = new AbortController();
  const onCancel = (): void => ac.abort();
  call.on("cancelled", onCancel);
  let stream: { destroy(): void } | undefined;
  try {
    const snap = await source.openSnapshotStream(SNAPSHOT_SEND_BUFFER_SIZE);
    stream = snap.stream;
    const sha = createHash("sha256");
    let sent = 0;
    for await (const blob of fixedChunks(snap.stream, SNAPSHOT_SEND_BUFFER_SIZE)) {
      if (ac.signal.aborted) return;
      // etcd stops at the size it announced.
      const data = blob.subarray(0, Math.min(blob.length, snap.size - sent));
      sent += data.length;
      sha.update(data);
      const more = call.write({ remainingBytes: BigInt(snap.size - sent), blob: data, version: "" });
      if (!more) await drained(call, ac.signal);
      if (sent >= snap.size) break;
    }
    if (ac.signal.aborted) return;
    if (sent !== snap.size) throw new Error(`snapshot: read ${sent} of ${snap.size} bytes`);
    call.write({ remainingBytes: 0n, blob: sha.digest(), version: "" });
    call.end();
  } catch (err) {
    if (!ac.signal.aborted) call.emit("error", toServiceError(err));
  } finally {
    call.off("cancelled", onCancel);
    stream?.destroy();
  }
}

/** Regroups a byte stream into chunks of exactly `size` bytes (the last may be shorter). */
export async function* fixedChunks(src: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const c of src) {
    let chunk = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    while (pendingBytes + chunk.length >= size) {
      const take = size - pendingBytes;
      pending.push(chunk.subarray(0, take));
      yield pending.length === 1 ? pending[0]! : Buffer.concat(pending, size);
      pending = [];
      pendingBytes = 0;
      chunk = chunk.subarray(take);
    }
    if (chunk.length > 0) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
