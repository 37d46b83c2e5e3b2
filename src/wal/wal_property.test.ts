// Property: any raft-like sequence of save / saveSnapshot / releaseLockTo / reopen gives back exactly the state
// a plain model predicts (latest hard state and marker, live entries after it, truncation overrides).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseSegmentName } from "./segment_name.js";
import { assertState, META, Model, opSeed, toOp, withTempDir } from "./test_support.js";
import { Wal } from "./wal.js";

const OPTS = { segmentBytes: 4096 };
const RUNS = Number(process.env.WAL_PROPERTY_RUNS ?? 60);

describe("Wal property", () => {
  it("reopens to the model's state after any sequence of operations", async () => {
    let rollovers = 0;
    let releases = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opSeed(), { minLength: 1, maxLength: 40, size: "max" }), async (seeds) => {
        await withTempDir(async (dir) => {
          const model = new Model();
          let wal = await Wal.create(dir, META, OPTS);
          try {
            for (const [step, seed] of seeds.entries()) {
              const op = toOp(seed, model);
              switch (op.kind) {
                case "save":
                  await wal.save(op.hs, op.entries);
                  model.save(op.hs, op.entries);
                  break;
                case "snap":
                  await wal.saveSnapshot(op.marker);
                  model.marker(op.marker);
                  break;
                case "release":
                  releases += await wal.releaseLockTo(op.index);
                  break;
                case "reopen": {
                  await wal.close();
                  const o = await Wal.open(dir, OPTS);
                  wal = o.wal;
                  assert.equal(o.repaired, false);
                  assertState(o, model, `after step ${step}`);
                  break;
                }
              }
            }
            rollovers += Number(parseSegmentName(wal.segmentFiles().at(-1)!)!.seq);
          } finally {
            await wal.close();
          }
          const o = await Wal.open(dir, OPTS);
          await o.wal.close();
          assertState(o, model, "at the end");
        });
      }),
      { numRuns: RUNS },
    );
    assert.ok(rollovers > 0, "the runs exercised segment rollover");
    assert.ok(releases > 0, "the runs exercised segment release");
  });
});
