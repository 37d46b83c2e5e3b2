// Owns how member and cluster IDs are derived, exactly as etcd derives them (so IDs match real etcd's).
import { createHash } from "node:crypto";

/** A member's ID: first 8 bytes (big-endian) of sha1(sorted peer URLs joined, then the cluster token). */
export function memberId(
  peerUrls: readonly string[],
  clusterToken: string,
  addedAtUnixSeconds?: number,
): bigint {
  const h = createHash("sha1");
  h.update([...peerUrls].sort().join(""));
  h.update(clusterToken);
  if (addedAtUnixSeconds !== undefined) h.update(String(addedAtUnixSeconds));
  return h.digest().readBigUInt64BE(0);
}

/** The cluster's ID: first 8 bytes of sha1 over the sorted member IDs, each as 8 big-endian bytes. */
export function clusterId(memberIds: readonly bigint[]): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = Buffer.alloc(8 * sorted.length);
  for (const [i, id] of sorted.entries()) buf.writeBigUInt64BE(id, 8 * i);
  return createHash("sha1").update(buf).digest().readBigUInt64BE(0);
}

/** etcd prints IDs as lower-case hex without leading zeros. */
export const idToHex = (id: bigint): string => id.toString(16);
