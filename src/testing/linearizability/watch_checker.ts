// Owns the watch check: every watcher received exactly the committed events of its key range from its start
// revision, in revision order, with no gap and no duplicate (a watcher that stopped early: a prefix of them).
import type { EtcdOperation } from "./etcd_types.js";
import { PENDING } from "./model.js";

export interface WatchEvent {
  revision: bigint;
  key: string;
  type: "put" | "delete";
  /** The value written (puts only). */
  value?: string;
}

export interface WatchRecord {
  id: string | number;
  key: string;
  /** Absent or "": just `key`; "\0": every key ≥ `key`; otherwise the range [key, rangeEnd). */
  rangeEnd?: string;
  /** The first revision the watcher must deliver (its start_revision, or creation revision + 1). */
  startRevision: bigint;
  events: WatchEvent[];
  /** The watcher ended before the end of the history (canceled, client closed): a prefix is enough. */
  stoppedEarly?: boolean;
}

export interface WatchCheckOptions {
  /**
   * The store revision at the end of the history (e.g. a final read's header): watchers that did not stop
   * early must have seen everything up to it, and nothing after. Default: the highest revision known.
   */
  untilRevision?: bigint;
}

export interface WatchCheckResult {
  ok: boolean;
  problems: string[];
}

const bytes = (s: string): Buffer => Buffer.from(s, "utf8");

function inRange(w: WatchRecord, key: string): boolean {
  if (w.rangeEnd === undefined || w.rangeEnd === "") return key === w.key;
  if (Buffer.compare(bytes(key), bytes(w.key)) < 0) return false;
  return w.rangeEnd === "\0" || Buffer.compare(bytes(key), bytes(w.rangeEnd)) < 0;
}

const same = (a: WatchEvent, b: WatchEvent): boolean =>
  a.revision === b.revision &&
  a.key === b.key &&
  a.type === b.type &&
  (a.value ?? null) === (b.value ?? null);

const show = (e: WatchEvent): string =>
  `${e.type} ${JSON.stringify(e.key)}${e.type === "put" ? `=${JSON.stringify(e.value ?? "")}` : ""} @${e.revision}`;

/**
 * The committed events of a history's acknowledged writes, in revision order. Writes whose outcome is unknown
 * are not in it: their revisions are gaps, which `checkWatches` fills from what watchers agree they saw.
 */
export function eventsFromHistory(history: readonly EtcdOperation[]): WatchEvent[] {
  const out: WatchEvent[] = [];
  for (const o of history) {
    if (o.return === PENDING || !o.output) continue;
    const { input, output } = o;
    if (input.op === "put" && output.op === "put") {
      out.push({ revision: output.revision, key: input.key, type: "put", value: input.value });
    } else if (input.op === "delete" && output.op === "delete" && output.deleted > 0) {
      out.push({ revision: output.revision, key: input.key, type: "delete" });
    } else if (input.op === "cas" && output.op === "cas" && output.succeeded) {
      out.push({ revision: output.revision, key: input.key, type: "put", value: input.value });
    } else if (input.op === "txn" && output.op === "txn") {
      const branch = output.succeeded ? input.success : input.failure;
      branch.forEach((t, i) => {
        const r = output.results[i];
        if (t.op === "put") out.push({ revision: output.revision, key: t.key, type: "put", value: t.value });
        if (t.op === "delete" && r?.op === "delete" && r.deleted > 0) {
          out.push({ revision: output.revision, key: t.key, type: "delete" });
        }
      });
    }
  }
  return out.sort((a, b) => (a.revision < b.revision ? -1 : a.revision > b.revision ? 1 : 0));
}

/**
 * Checks every watcher against the committed events. Revisions are dense in etcd, so a revision missing
 * from `committed` is a write of unknown outcome: what watchers saw at it is accepted when they agree.
 */
export function checkWatches(
  committed: readonly WatchEvent[],
  watchers: readonly WatchRecord[],
  options: WatchCheckOptions = {},
): WatchCheckResult {
  const problems: string[] = [];
  const byRevision = new Map<bigint, WatchEvent[]>();
  for (const e of committed) {
    let list = byRevision.get(e.revision);
    if (!list) {
      list = [];
      byRevision.set(e.revision, list);
    }
    list.push(e);
  }
  const known = new Set(byRevision.keys());

  // Events at unknown revisions: the union of what watchers saw, which must agree per (revision, key).
  for (const w of watchers) {
    for (const e of w.events) {
      if (known.has(e.revision)) continue;
      if (options.untilRevision !== undefined && e.revision > options.untilRevision) continue;
      let list = byRevision.get(e.revision);
      if (!list) {
        list = [];
        byRevision.set(e.revision, list);
      }
      const other = list.find((x) => x.key === e.key);
      if (!other) list.push(e);
      else if (!same(other, e))
        problems.push(`watchers disagree at revision ${e.revision}: ${show(other)} vs ${show(e)}`);
    }
  }

  let until = options.untilRevision ?? 0n;
  if (options.untilRevision === undefined) for (const r of byRevision.keys()) if (r > until) until = r;
  const all = [...byRevision.entries()]
    .filter(([r]) => r <= until)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .flatMap(([, list]) => list);

  for (const w of watchers) {
    const expected = all.filter((e) => e.revision >= w.startRevision && inRange(w, e.key));
    const problem = compare(w, expected);
    if (problem)
      problems.push(`watcher ${w.id} (${JSON.stringify(w.key)} from ${w.startRevision}): ${problem}`);
  }
  return { ok: problems.length === 0, problems };
}

/** The first way `w.events` differs from `expected` (or a prefix of it, if the watcher stopped early). */
function compare(w: WatchRecord, expected: WatchEvent[]): string | undefined {
  const got = w.events;
  for (let i = 0; i < got.length; i++) {
    const e = got[i]!;
    const x = expected[i];
    if (x && same(e, x)) continue;
    const at = `event ${i}`;
    if (got.slice(0, i).some((p) => same(p, e))) return `${at}: duplicate ${show(e)}`;
    if (i > 0 && e.revision < got[i - 1]!.revision)
      return `${at}: out of order, ${show(e)} after ${show(got[i - 1]!)}`;
    if (!inRange(w, e.key)) return `${at}: ${show(e)} is outside the watched range`;
    if (e.revision < w.startRevision) return `${at}: ${show(e)} is before the start revision`;
    if (!x) return `${at}: unexpected ${show(e)} after the last committed event of its range`;
    if (e.revision === x.revision && e.key === x.key)
      return `${at}: got ${show(e)}, committed was ${show(x)}`;
    if (got.slice(i + 1).some((p) => same(p, x)))
      return `${at}: out of order, ${show(e)} delivered before ${show(x)}`;
    const later = expected.findIndex((p, k) => k > i && same(p, e));
    if (later >= 0) return `${at}: gap, missed ${later - i} event(s) from ${show(x)} before ${show(e)}`;
    return `${at}: got ${show(e)}, expected ${show(x)}`;
  }
  if (!w.stoppedEarly && got.length < expected.length) {
    return `missed the last ${expected.length - got.length} event(s), from ${show(expected[got.length]!)}`;
  }
  return undefined;
}
