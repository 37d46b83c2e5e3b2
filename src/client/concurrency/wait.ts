// Owns the waits the recipes share (clientv3/concurrency key.go): for one key's deletion, and for every key
// under a prefix created at or below a revision to be deleted.
import { Event_EventType, type ResponseHeader } from "../../proto/index.js";
import type { Revision } from "../ops.js";
import type { KVClient } from "../services.js";

/** Resolves once `key` is deleted at or after revision `rev`; rejects with the signal's reason on abort. */
export async function waitDelete(
  client: KVClient,
  key: Buffer,
  rev: Revision,
  signal?: AbortSignal,
): Promise<void> {
  const w = client.watch.watch(key, { startRevision: rev, signal });
  try {
    for await (const r of w) {
      if (r.events.some((e) => e.type === Event_EventType.DELETE)) return;
    }
  } finally {
    w.cancel();
  }
  signal?.throwIfAborted();
  throw new Error("concurrency: lost watcher waiting for delete");
}

/**
 * Waits until no key under `prefix` has create revision ≤ `maxCreateRev`, each round waiting only on the
 * newest such key (its predecessor in the queue): fair, and no thundering herd.
 */
export async function waitDeletes(
  client: KVClient,
  prefix: string,
  maxCreateRev: Revision,
  signal?: AbortSignal,
): Promise<ResponseHeader | undefined> {
  for (;;) {
    const r = await client.kv.get(prefix, {
      prefix: true,
      sortTarget: "create",
      sortOrder: "descend",
      limit: 1,
      maxCreateRevision: maxCreateRev,
      signal,
    });
    const last = r.kvs[0];
    if (last === undefined) return r.header;
    await waitDelete(client, last.key, revisionOf(r.header), signal);
  }
}

/** The revision of a response header; etcd always sends one, so its absence is a bug. */
export function revisionOf(h: ResponseHeader | undefined): Revision {
  if (h === undefined) throw new Error("concurrency: invariant: response without header");
  return h.revision;
}
