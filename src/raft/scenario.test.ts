// Runs every data-driven scenario script in src/raft/testdata, and specifies the interpreter's failure report.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runScenario, ScenarioError } from "./testing/scenario.js";

// Tests run from dist/raft/; the scripts stay in the source tree.
const dir = fileURLToPath(new URL("../../src/raft/testdata/", import.meta.url));
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith(".txt"))
  .sort();

test("there are scenario scripts", () => {
  assert.ok(scripts.length >= 5, `found ${scripts.length} in ${dir}`);
});

for (const file of scripts) {
  const text = readFileSync(dir + file, "utf8");
  // A script that exposes a known core bug says so in a `# todo: ...` line, so the suite stays green.
  const todo = /^# todo: (.*)$/m.exec(text)?.[1];
  test(`scenario ${file}`, todo ? { todo } : {}, () => runScenario(file, text));
}

test("a failing expectation names the script line and shows the actual state", () => {
  const script = ["cluster 3", "campaign 1", "stabilize", "", "expect leader 2  # wrong on purpose"].join(
    "\n",
  );
  assert.throws(
    () => runScenario("inline", script),
    (err: unknown) => {
      assert.ok(err instanceof ScenarioError);
      assert.match(err.message, /^inline:5: expect leader 2\n/);
      assert.match(err.message, /leader: expected 2, got 1/);
      assert.match(err.message, /1: Leader term=1 lead=1/);
      return true;
    },
  );
});

test("an unknown command or a rejected proposal fails the script at its line", () => {
  assert.throws(() => runScenario("x", "cluster 3\nfrobnicate 1"), /x:2: frobnicate 1\n.*unknown command/);
  assert.throws(
    () => runScenario("x", "cluster 3\npropose 1 a"),
    /x:2: propose 1 a\n\s+ProposalDroppedError/,
  );
  assert.throws(() => runScenario("x", "cluster 1\ncampaign 1\npropose-dropped 1 a"), /accepted/);
});
