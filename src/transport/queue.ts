// Owns the bounded per-peer queue of outgoing raft messages waiting for their stream.
import { assert } from "../raft/assert.js";
import type { Message } from "../raft/types.js";
import { batchedSize } from "./frame.js";

/** Messages a peer's queue holds before new ones are dropped (etcd's streamBufSize). */
export const MAX_PEER_QUEUE_MSGS = 4096;
/** Encoded bytes a peer's queue holds before new messages are dropped. */
export const MAX_PEER_QUEUE_BYTES = 64 * 1024 * 1024;

interface Queued {
  m: Message;
  size: number;
}

export class PeerQueue {
  private items: (Queued | undefined)[] = [];
  private head = 0;
  private bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** Queues m (of encoded size `size`) unless a limit is hit; false means dropped. */
  push(m: Message, size: number): boolean {
    if (this.length >= MAX_PEER_QUEUE_MSGS) return false;
    if (this.length > 0 && this.bytes + size > MAX_PEER_QUEUE_BYTES) return false;
    this.items.push({ m, size });
    this.bytes += size;
    return true;
  }

  /** Removes the oldest messages that fit one batch (always at least one when not empty). */
  takeBatch(maxBytes: number, maxMsgs: number): { msgs: Message[]; sizes: number[] } {
    const msgs: Message[] = [];
    const sizes: number[] = [];
    let bytes = 0;
    while (this.head < this.items.length && msgs.length < maxMsgs) {
      const it = this.items[this.head]!;
      if (msgs.length > 0 && bytes + batchedSize(it.size) > maxBytes) break;
      msgs.push(it.m);
      sizes.push(it.size);
      bytes += batchedSize(it.size);
      this.bytes -= it.size;
      this.items[this.head++] = undefined; // let the message be collected
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    assert(this.bytes >= 0, () => `peer queue bytes went negative: ${this.bytes}`);
    return { msgs, sizes };
  }

  /** Empties the queue; returns how many messages were dropped. */
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return n;
  }
}
