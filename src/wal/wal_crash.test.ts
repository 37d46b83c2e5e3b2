// Crash recovery: damage the tail of the last segment (cut it short, flip a byte, leave torn garbage) and the
// WAL must return exactly the records written before the damage, nothing after it, and keep working.
// Damage to an earlier segment must be a WalCorruptError instead.
import assert from "node:assert/strict";
import { readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { encodeSnapshot, entryPayloadSize, HARD_STATE_BYTES } from "./codec.js";
import { WalCorruptError } from "./errors.js";
import { frameSize } from "./record.js";
import { assertState, entry, META, Model, type OpSeed, opSeed, toOp, withTempDir } from "./test_support.js";
import { Wal } from "./wal.js";

const OPTS = { segmentBytes: 4096 };
const RUNS = Number(process.env.WAL_CRASH_RUNS ?? 60);

/** The model as of the end of one record (or of a segment header) in a segment file. */
interface Checkpoint {
  file: string;
  end: number;
  model: Model;
  /** The segment each entry was last written to. */
  where: Map<bigint, string>;
}

/** The model plus where each entry was last written, and a checkpoint after every record. */
class History {
  readonly model: Model;
  readonly where = new Map<bigint, string>();
  readonly checkpoints: Checkpoint[] = [];

  constructor(model: Model, position?: { file: string; offset: number }) {
    this.model = model;
    if (position !== undefined) this.checkpoint(position.file, position.offset);
  }

  checkpoint(file: string, end: number): void {
    this.checkpoints.push({ file, end, model: this.model.clone(), where: new Map(this.where) });
  }
}

/** Applies one operation to the WAL and the history, with the size and effect of each record it writes. */
async function step(wal: Wal, h: History, seed: OpSeed): Promise<void> {
  const { model } = h;
  const op = toOp(seed, model);
  const before = wal.position();
  const records: Array<{ size: number; apply: (file: string) => void }> = [];
  switch (op.kind) {
    case "save":
      for (const e of op.entries) {
        const apply = (file: string) => {
          model.entry(e);
          h.where.set(e.index, file);
        };
        records.push({ size: frameSize(entryPayloadSize(e)), apply });
      }
      if (model.writesHardState(op.hs)) {
        const hs = op.hs;
        records.push({ size: frameSize(HARD_STATE_BYTES), apply: () => (model.hardState = { ...hs }) });
      }
      await wal.save(op.hs, op.entries);
      break;
    case "snap":
      records.push({
        size: frameSize(encodeSnapshot(op.marker).length),
        apply: () => model.marker(op.marker),
      });
      await wal.saveSnapshot(op.marker);
      break;
    case "release":
      await wal.releaseLockTo(op.index);
      return;
    case "reopen":
      return;
  }
  const after = wal.position();
  let off = after.offset - records.reduce((n, r) => n + r.size, 0);
  if (after.file !== before.file)
    h.checkpoint(after.file, off); // a new segment: its header restates the state
  else assert.equal(off, before.offset, "records land right after the previous ones");
  for (const r of records) {
    r.apply(after.file);
    off += r.size;
    h.checkpoint(after.file, off);
  }
}

const damageArb = fc.record({
  mode: fc.constantFrom("truncate", "flip", "garbage"),
  at: fc.nat(),
  flip: fc.integer({ min: 1, max: 255 }),
  garbage: fc.uint8Array({ minLength: 1, maxLength: 64 }),
});
type Damage = typeof damageArb extends fc.Arbitrary<infer T> ? T : never;

/** Damages the file from some byte x < end (+ slack for truncation) on; returns x. */
async function damageFile(path: string, end: number, d: Damage): Promise<number> {
  if (d.mode === "truncate") {
    const x = d.at % (end + 64);
    await truncate(path, x);
    return x;
  }
  const x = d.at % (d.mode === "flip" ? end : end + 1);
  const buf = await readFile(path);
  const garbage = d.mode === "flip" ? Uint8Array.of(0) : Uint8Array.from(d.garbage);
  garbage[0] = buf[x]! ^ d.flip; // the first damaged byte really changes
  buf.set(garbage.subarray(0, buf.length - x), x);
  await writeFile(path, d.mode === "flip" ? buf : buf.subarray(0, x + garbage.length));
  return x;
}

async function expectCorrupt(dir: string, reason: RegExp, ctx: string): Promise<void> {
  const r = await Wal.open(dir, OPTS).catch((e: unknown) => e);
  if (!(r instanceof Error)) {
    await (r as Awaited<ReturnType<typeof Wal.open>>).wal.close();
    assert.fail(`opened, expected WalCorruptError ${reason}: ${ctx}`);
  }
  assert.ok(r instanceof WalCorruptError, `${String(r)}: ${ctx}`);
  assert.match(r.message, reason, ctx);
}

describe("Wal crash recovery", () => {
  it("recovers every record before tail damage, nothing after it, and appends cleanly", async () => {
    const kinds: OpSeed["kind"][] = ["save", "save", "save", "save", "snap", "release"];
    const seen = { lostRecords: 0, headerRewritten: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(opSeed(kinds), { minLength: 1, maxLength: 30, size: "max" }),
        damageArb,
        fc.array(opSeed(kinds), { minLength: 1, maxLength: 5 }),
        async (seeds, damage, more) => {
          await withTempDir(async (dir) => {
            const wal = await Wal.create(dir, META, OPTS);
            const h = new History(new Model(), wal.position());
            let kept: string[];
            try {
              for (const s of seeds) await step(wal, h, s);
              kept = wal.segmentFiles();
            } finally {
              await wal.close();
            }
            const last = h.checkpoints.at(-1)!;
            const inLast = h.checkpoints.filter((c) => c.file === last.file);
            const headerEnd = inLast[0]!.end;
            const x = await damageFile(join(dir, last.file), last.end, damage);
            const ctx = `${damage.mode} at ${x} of ${last.file} (records end at ${last.end})`;

            if (x < headerEnd && last.file === kept[0]) {
              // The oldest kept segment's header is the only copy of the metadata: refuse rather than guess.
              await expectCorrupt(dir, /header of the oldest segment is damaged/, ctx);
              seen.refused++;
              return;
            }
            const at = x < headerEnd ? inLast[0]! : inLast.filter((c) => c.end <= x).at(-1)!;
            if (at.model.log.some((e) => !kept.includes(at.where.get(e.index)!))) {
              // The damage took the snapshot marker that let older segments go, and with them live entries.
              // A crash cannot do that (the marker was synced before the release): refuse rather than lie.
              await expectCorrupt(dir, /only in released segments/, ctx);
              seen.refused++;
              return;
            }
            if (x < headerEnd) seen.headerRewritten++;
            if (x < last.end) seen.lostRecords++;
            const o = await Wal.open(dir, OPTS);
            try {
              assertState(o, at.model, ctx);
              if (damage.mode === "flip") assert.equal(o.repaired, true, ctx);
              const next = new History(at.model.clone());
              for (const s of more) await step(o.wal, next, s);
              await o.wal.close();
              const again = await Wal.open(dir, OPTS);
              await again.wal.close();
              assert.equal(again.repaired, false, `no damage left after repair: ${ctx}`);
              assertState(again, next.model, `after appending past the repair: ${ctx}`);
            } finally {
              await o.wal.close();
            }
          });
        },
      ),
      { numRuns: RUNS },
    );
    assert.ok(seen.lostRecords > 0, `the runs damaged written records: ${JSON.stringify(seen)}`);
    if (process.env.WAL_CRASH_STATS) console.log("wal crash stats", seen);
  });

  it("reports damage anywhere in an earlier segment as WalCorruptError", async () => {
    await withTempDir(async (dir) => {
      const wal = await Wal.create(dir, META, OPTS);
      for (let i = 1n; i <= 40n; i++) {
        await wal.save({ term: 1n, vote: 1n, commit: i }, [entry(i, 1n, "y".repeat(Number(i) * 7))]);
      }
      const files = wal.segmentFiles();
      await wal.close();
      assert.ok(files.length >= 3);
      const earlier = await Promise.all(files.slice(0, -1).map((f) => readFile(join(dir, f))));
      await fc.assert(
        fc.asyncProperty(
          fc.nat(files.length - 2),
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          async (seg, at, flip) => {
            const path = join(dir, files[seg]!);
            const buf = Buffer.from(earlier[seg]!);
            const pos = at % buf.length;
            buf[pos]! ^= flip;
            await writeFile(path, buf);
            try {
              await assert.rejects(Wal.open(dir, OPTS), (e: unknown) => {
                assert.ok(e instanceof WalCorruptError, String(e));
                assert.equal(e.segment, files[seg]);
                return true;
              });
            } finally {
              await writeFile(path, earlier[seg]!);
            }
          },
        ),
        { numRuns: RUNS },
      );
      const o = await Wal.open(dir, OPTS); // restored: opens again
      assert.equal(o.entries.length, 40);
      await o.wal.close();
    });
  });
});
