// Owns the on-disk form of a lease in the "lease" bucket, as etcd stores it: key = the ID as 8 big-endian
// bytes, value = leasepb.Lease {ID = 1, TTL = 2, RemainingTTL = 3} (int64 varints, zero fields omitted).

import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";

export const LEASE_BUCKET = "lease";

export interface LeaseRecord {
  id: bigint;
  /** Granted TTL in seconds. */
  ttl: bigint;
  /** Checkpointed remaining TTL in seconds; 0 = none. */
  remainingTTL: bigint;
}

export function leaseKey(id: bigint): Buffer {
  const k = Buffer.allocUnsafe(8);
  k.writeBigInt64BE(id);
  return k;
}

export function encodeLease(r: LeaseRecord): Buffer {
  const w = new BinaryWriter();
  if (r.id !== 0n) w.uint32(8).int64(r.id);
  if (r.ttl !== 0n) w.uint32(16).int64(r.ttl);
  if (r.remainingTTL !== 0n) w.uint32(24).int64(r.remainingTTL);
  return Buffer.from(w.finish());
}

export function decodeLease(buf: Uint8Array): LeaseRecord {
  const r = new BinaryReader(buf);
  const out: LeaseRecord = { id: 0n, ttl: 0n, remainingTTL: 0n };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag) {
      case 8:
        out.id = BigInt(r.int64());
        break;
      case 16:
        out.ttl = BigInt(r.int64());
        break;
      case 24:
        out.remainingTTL = BigInt(r.int64());
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}
