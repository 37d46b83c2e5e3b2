// Owns what the recipes share: unique key suffixes, waiting for a key's next event from a revision on, and
// ephemeral leases (granted, kept alive, revoked) so a recipe's keys vanish with a dead owner.
import { randomBytes } from "node:crypto";
import { Event_EventType } from "../../proto/index.js";
import type { LeaseKeepAlive } from "../keepalive.js";
import type { LeaseId, Revision } from "../ops.js";
import type { KVClient } from "../services.js";

/** A suffix unique across processes that sorts by creation time within one process (ns clock + random). */
export function uniqueSuffix(): string {
  return `${process.hrtime.bigint().toString().padStart(20, "0")}-${randomBytes(4).toString("hex")}`;
}

/**
 * Resolves at the first `type` event on `key` (or under it, with `prefix`) with a revision above `afterRev`:
 * history is replayed from `afterRev + 1`, so an event between a read at `afterRev` and this call is not missed.
 */
export async function waitEvent(
  client: KVClient,
  key: string,
  afterRev: Revision,
  type: "put" | "delete",
  options: { prefix?: boolean; signal?: AbortSignal } = {},
): Promise<void> {
  const want = type === "put" ? Event_EventType.PUT : Event_EventType.DELETE;
  const w = client.watch.watch(key, { ...options, startRevision: afterRev + 1n });
  for await (const batch of w) {
    if (batch.events.some((e) => e.type === want)) {
      w.cancel();
      return;
    }
  }
  options.signal?.throwIfAborted();
  throw new Error(`etcd recipe: watch on ${key} ended before its ${type}`);
}

/** A lease kept alive for a recipe's ephemeral keys. */
export class EphemeralLease {
  private constructor(
    private readonly client: KVClient,
    readonly id: LeaseId,
    private readonly ka: LeaseKeepAlive,
  ) {}

  static async grant(client: KVClient, ttl: number): Promise<EphemeralLease> {
    const { ID } = await client.lease.grant(ttl);
    return new EphemeralLease(client, ID, client.lease.keepAlive(ID));
  }

  /** Stops the keepalive and revokes the lease (deleting its keys). */
  async revoke(): Promise<void> {
    this.ka.close();
    await this.client.lease.revoke(this.id).catch(() => {});
  }
}
