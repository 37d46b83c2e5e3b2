// Owns registering a service instance: its key kept on a lease that is kept alive, and registered again (new
// lease, new put) whenever the lease is lost, until `close()` revokes it.
import { ClientClosedError } from "../errors.js";
import type { LeaseId } from "../ops.js";
import type { KVClient } from "../services.js";
import { encodeInstance, type Instance, instanceKey } from "./instance.js";

/** Pause between failed registration attempts (the server may be down). */
export const REREGISTER_BACKOFF_MS = 500;

export interface RegisterOptions {
  /** Lease TTL in seconds: how long the entry outlives its owner. Default 10. */
  ttl?: number;
}

/** A live registration; see `register`. */
export class Registration {
  /** Resolves when the registration loop ends (after `close()` or the client closing). */
  readonly stopped: Promise<void>;
  private lease: LeaseId | undefined;
  private closed = false;
  private count = 0;
  private wake: (() => void) | undefined;

  /** @internal */
  constructor(
    private readonly client: KVClient,
    readonly key: string,
    private readonly value: string,
    private readonly ttl: number,
    first: LeaseId,
  ) {
    this.lease = first;
    this.count = 1;
    this.stopped = this.run(first);
  }

  /** The lease the entry is currently attached to (undefined between a loss and the next registration). */
  get leaseId(): LeaseId | undefined {
    return this.lease;
  }

  /** How many times the entry was written (1 + re-registrations). */
  get registrations(): number {
    return this.count;
  }

  /** Stops keeping the entry and revokes its lease, which deletes it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    await this.stopped;
    const id = this.lease; // read after the loop ended: it may have registered again meanwhile
    if (id !== undefined) await this.client.lease.revoke(id).catch(() => {});
  }

  private async run(first: LeaseId): Promise<void> {
    let id: LeaseId | undefined = first;
    while (!this.closed) {
      try {
        if (id === undefined) {
          id = await put(this.client, this.key, this.value, this.ttl);
          this.lease = id;
          this.count++;
          if (this.closed) break;
        }
        const ka = this.client.lease.keepAlive(id);
        const stop = new Promise<void>((r) => {
          this.wake = r;
        });
        await Promise.race([ka.done, stop]);
        ka.close();
      } catch (err) {
        if (err instanceof ClientClosedError) break;
        await new Promise((r) => setTimeout(r, REREGISTER_BACKOFF_MS));
      }
      if (!this.closed) id = this.lease = undefined;
    }
  }
}

async function put(client: KVClient, key: string, value: string, ttl: number): Promise<LeaseId> {
  const { ID } = await client.lease.grant(ttl);
  await client.kv.put(key, value, { lease: ID });
  return ID;
}

/**
 * Registers `instance` under `service` as `<service>/<id>` (JSON `{"Op":0,"Addr","Metadata"}`) on a lease of
 * `ttl` seconds kept alive. If the lease is lost (expired, revoked, server restarted without it) the entry is
 * written again on a new lease. Resolves once the first write is done.
 */
export async function register(
  client: KVClient,
  service: string,
  instance: Instance,
  options: RegisterOptions = {},
): Promise<Registration> {
  const key = instanceKey(service, instance.id);
  const value = encodeInstance(instance);
  const ttl = options.ttl ?? 10;
  return new Registration(client, key, value, ttl, await put(client, key, value, ttl));
}
