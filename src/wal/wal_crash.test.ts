// Crash recovery: damage the tail of the last segment (cut it short, flip a byte, leave torn garbage) and the
// WAL must return exactly the records written before the damage, nothing after it, and keep working.
// Damage to an earlier segment must be a WalCorruptError instead.
import assert from "node:assert/strict";
import { readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { encodeSnapshot, entryPayloadSize } from "./codec.js";
import { WalCorruptError } from "./errors.js";
import { frameSize } from "./record.js";
import { parseSegmentName } from "./segment_name.js";
import { assertState, entry, META, Model, type OpSeed, opSeed, toOp, withTempDir } from "./test_support.js";
import { Wal } from "./wal.js";

const OPTS = { segmentBytes: 4096 };
const RUNS = Number(process.env.WAL_CRASH_RUNS ?? 60);

/** The model as of the end of one record (or of a segment header) in a segment file. */
interface Checkpoint {
  file: string;
  end: number;
  model: Model;
}

/** Applies one operation to the WAL and the model, recording a checkpoint after every record it writes. */
async function step(wal: Wal, model: Model, seed: OpSeed, checkpoints: Checkpoint[]): Promise<void> {
  const op = toOp(seed, model);
  const before = wal.position();
  const records: Array<{ size: number; apply: () => void }> = [];
  switch (op.kind) {
    case "save":
      for (const e of op.entries)
        records.push({ size: frameSize(entryPayloadSize(e)), apply: () => model.entry(e) });
      if (model.writesHardState(op.hs)) {
        const hs = op.hs;
        records.push({ size: frameSize(24), apply: () => (model.hardState = { ...hs }) });
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
  if (after.file !== before.file) checkpoints.push({ file: after.file, end: off, model: model.clone() });
  else assert.equal(off, before.offset, "records land right after the previous ones");
  for (const r of records) {
    r.apply();
    off += r.size;
    checkpoints.push({ file: after.file, end: off, model: model.clone() });
  }
}

const damageArb = fc.record({
  mode: fc.constantFrom("truncate", "flip", "garbage"),
  at: fc.nat(),
  flip: fc.integer({ min: 1, max: 255 }),
  garbage: fc.uint8Array({ minLength: 1, maxLength: 64 }),
});

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
            const model = new Model();
            const wal = await Wal.create(dir, META, OPTS);
            const checkpoints: Checkpoint[] = [
              { file: wal.position().file, end: wal.position().offset, model: new Model() },
            ];
            try {
              for (const s of seeds) await step(wal, model, s, checkpoints);
            } finally {
              await wal.close();
            }
            const last = checkpoints.at(-1)!;
            const inLast = checkpoints.filter((c) => c.file === last.file);
            const headerEnd = inLast[0]!.end;
            const path = join(dir, last.file);

            // Damage the last segment from byte x on.
            let x: number;
            if (damage.mode === "truncate") {
              x = damage.at % (last.end + 64);
              await truncate(path, x);
            } else {
              x = damage.at % (damage.mode === "flip" ? last.end : last.end + 1);
              const buf = await readFile(path);
              const garbage = damage.mode === "flip" ? Uint8Array.of(0) : Uint8Array.from(damage.garbage);
              garbage[0] = buf[x]! ^ damage.flip; // the first damaged byte really changes
              buf.set(garbage.subarray(0, buf.length - x), x);
              await writeFile(path, damage.mode === "flip" ? buf : buf.subarray(0, x + garbage.length));
            }

            if (x < headerEnd && parseSegmentName(last.file)!.seq === 0n) {
              // The oldest segment's header is the only copy of the metadata: refuse rather than guess.
              await assert.rejects(Wal.open(dir, OPTS), WalCorruptError);
              seen.refused++;
              return;
            }
            const expected = (x < headerEnd ? inLast[0]! : inLast.filter((c) => c.end <= x).at(-1)!).model;
            if (x < headerEnd) seen.headerRewritten++;
            if (x < last.end) seen.lostRecords++;
            const o = await Wal.open(dir, OPTS);
            const ctx = `${damage.mode} at ${x} of ${last.file} (records end at ${last.end})`;
            try {
              assertState(o, expected, ctx);
              if (damage.mode === "flip") assert.equal(o.repaired, true, ctx);
              const next = expected.clone();
              for (const s of more) await step(o.wal, next, s, []);
              await o.wal.close();
              const again = await Wal.open(dir, OPTS);
              await again.wal.close();
              assert.equal(again.repaired, false, `no damage left after repair: ${ctx}`);
              assertState(again, next, `after appending past the repair: ${ctx}`);
            } finally {
              await o.wal.close();
            }
          });
        },
      ),
      { numRuns: RUNS },
    );
    assert.ok(seen.lostRecords > 0, `the runs damaged written records: ${JSON.stringify(seen)}`);
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
