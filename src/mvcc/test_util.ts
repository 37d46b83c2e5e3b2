// Owns helpers shared by mvcc tests: temporary backends that clean up after themselves.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Backend } from "../backend/backend.js";
import { KVStore, type StoreOptions } from "./store.js";

export const b = (s: string): Buffer => Buffer.from(s);
export const s = (buf: Uint8Array): string => Buffer.from(buf).toString();

/** A store on a fresh backend in its own temp dir; `reopen()` simulates a restart on the same files. */
export class TempStore {
  readonly dir = mkdtempSync(join(tmpdir(), "etcd-ts-mvcc-"));
  readonly path = join(this.dir, "db");
  backend: Backend;
  store: KVStore;

  constructor(readonly opts: StoreOptions = { compactionSleepMs: 0 }) {
    this.backend = Backend.open({ path: this.path });
    this.store = KVStore.open(this.backend, opts);
  }

  async reopen(): Promise<KVStore> {
    await this.store.close();
    await this.backend.close();
    this.backend = Backend.open({ path: this.path });
    this.store = KVStore.open(this.backend, this.opts);
    return this.store;
  }

  async cleanup(): Promise<void> {
    await this.store.close();
    await this.backend.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Puts each [key, value] in its own txn (one revision each). */
export function putAll(store: KVStore, pairs: Array<[string, string]>, lease = 0n): void {
  for (const [k, v] of pairs) {
    const t = store.write();
    t.put(b(k), b(v), lease);
    t.end();
  }
}

export function del(store: KVStore, key: string, end?: string): number {
  const t = store.write();
  const n = t.deleteRange(b(key), end === undefined ? undefined : b(end));
  t.end();
  return n;
}
