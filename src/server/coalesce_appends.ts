// Owns merging a Ready's consecutive MsgApp to one follower into one MsgApp (fewer messages, acks and raft steps).
import { assert } from "../raft/assert.js";
import type { Message } from "../raft/types.js";
import { MAX_SIZE_PER_MSG } from "./raft_node.js";

/** Per-entry overhead counted against the size limit (index, term, type and framing). */
const ENTRY_OVERHEAD_BYTES = 32;

const entriesBytes = (m: Message): number =>
  m.entries.reduce((n, e) => n + e.data.length + ENTRY_OVERHEAD_BYTES, 0);

/**
 * The leader appends one MsgApp per proposal per follower; a follower handed `index, entries…` then
 * `index + entries.length, more…` by one leader term ends in the same state after one MsgApp carrying both
 * (the later commit), and answers once instead of once per proposal. Order to each peer is kept; merged
 * messages stay within MAX_SIZE_PER_MSG. Messages are not mutated.
 */
export function coalesceAppends(messages: readonly Message[]): Message[] {
  const out: Message[] = [];
  /** Per peer: the index in `out` of its last message, and that message's entry bytes if it is a MsgApp. */
  const last = new Map<bigint, { at: number; bytes: number }>();
  for (const m of messages) {
    const prev = last.get(m.to);
    if (m.type === "MsgApp" && prev !== undefined) {
      const p = out[prev.at]!;
      const bytes = entriesBytes(m);
      if (mergeable(p, m) && prev.bytes + bytes <= MAX_SIZE_PER_MSG) {
        assert(m.commit >= p.commit, () => `MsgApp to ${m.to}: commit went back ${p.commit} → ${m.commit}`);
        out[prev.at] = { ...p, entries: p.entries.concat(m.entries), commit: m.commit };
        prev.bytes += bytes;
        continue;
      }
    }
    last.set(m.to, { at: out.length, bytes: m.type === "MsgApp" ? entriesBytes(m) : 0 });
    out.push(m);
  }
  return out;
}

/** b continues a exactly: same sender, term and peer, starting right after a's last entry. */
function mergeable(a: Message, b: Message): boolean {
  if (a.type !== "MsgApp" || a.from !== b.from || a.term !== b.term) return false;
  const n = a.entries.length;
  if (b.index !== a.index + BigInt(n)) return false;
  const lastTerm = n > 0 ? a.entries[n - 1]!.term : a.logTerm;
  return b.logTerm === lastTerm;
}
