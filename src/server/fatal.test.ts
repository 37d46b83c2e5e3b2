// Specifies how a stopping member explains its failure: a full disk is named, with the data dir, whatever layer saw it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { explainFatal, FULL_DISK_BYTES } from "./fatal.js";

const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });

test("ENOSPC from the WAL is a full disk, named with the data dir", async () => {
  const r = await explainFatal(enospc, "/data/m1", async () => 1e12);
  assert.equal(r.diskFull, true);
  assert.equal(r.error, "write /data/m1: no space left on device (ENOSPC: no space left on device, write)");
});

test("the backend's own 'No space left on device' text is a full disk", async () => {
  const err = new Error("No space left on device: Attempting to write page at position 94208");
  assert.equal((await explainFatal(err, "/d", async () => 1e12)).diskFull, true);
});

test("EIO counts as a full disk only when the data dir's file system has (almost) no free space", async () => {
  const eio = new Error("Input/output error");
  assert.equal((await explainFatal(eio, "/d", async () => FULL_DISK_BYTES - 1)).diskFull, true);
  const healthy = await explainFatal(eio, "/d", async () => 10 * FULL_DISK_BYTES);
  assert.deepEqual(healthy, { error: "Error: Input/output error", diskFull: false });
  const unknown = await explainFatal(eio, "/d", async () => {
    throw new Error("statfs failed");
  });
  assert.equal(unknown.diskFull, false);
});

test("other errors are logged as they are", async () => {
  assert.deepEqual(await explainFatal(new Error("boom"), "/d"), { error: "Error: boom", diskFull: false });
});
