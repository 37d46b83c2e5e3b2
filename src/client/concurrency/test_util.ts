// Owns what the concurrency process tests share: waiting until a lock/election prefix holds n keys.
import type { Client } from "../client.js";
import { within } from "../test_util.js";

/** Polls until exactly `n` keys exist under `prefix + "/"` (a queued waiter or candidate has its key). */
export async function waitKeyCount(client: Client, prefix: string, n: number): Promise<void> {
  const count = async () => (await client.kv.get(`${prefix}/`, { prefix: true, countOnly: true })).count;
  const poll = async () => {
    while ((await count()) !== BigInt(n)) await new Promise((r) => setTimeout(r, 20));
  };
  await within(poll(), `${n} keys under ${prefix}/`);
}
