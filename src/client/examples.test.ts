// Specifies that each runnable example under examples/ works against a real server: exit 0 and its key output.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { TestServer, WAIT_MS } from "./test_util.js";

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "examples");

/** Runs `examples/<name>` against `endpoint`; resolves with its exit code and output. */
function run(name: string, endpoint: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(EXAMPLES, name), endpoint],
      { timeout: WAIT_MS },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
        resolve({ code, out: stdout + stderr });
      },
    );
  });
}

const CASES: [file: string, expected: RegExp][] = [
  [
    "service-discovery.mjs",
    /change: add echo-1[\s\S]*change: add echo-3\nchange: delete echo-2[\s\S]*service-discovery done/,
  ],
  ["config-pubsub.mjs", /log-level changed: info -> debug[\s\S]*config-pubsub done/],
  ["heartbeat.mjs", /is gone \(lease expired\)[\s\S]*heartbeat done/],
  ["queue.mjs", /blocked consumer got: resize-1[\s\S]*priority order: page-oncall, backup, cleanup/],
  ["concurrency.mjs", /guarded write: true[\s\S]*leader value: me[\s\S]*a after STM: 9/],
  ["client.mjs", /created example\/once/],
  [
    "namespace.mjs",
    /stored as: example\/app1\/config[\s\S]*seen in the namespace: config=on[\s\S]*watched: jobs\/1[\s\S]*lock held as: example\/app1\/lock\/<lease>[\s\S]*namespace done/,
  ],
];

describe("examples", { timeout: 120_000 }, () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
  });
  after(async () => {
    await server?.dispose();
  });

  for (const [file, expected] of CASES) {
    test(file, async () => {
      const { code, out } = await run(file, server.endpoint);
      assert.equal(code, 0, out);
      assert.match(out, expected);
    });
  }
});
