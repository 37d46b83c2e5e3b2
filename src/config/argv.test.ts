// Specifies Go flag syntax on etcd's flag set: forms, bool rules, leftovers, help/version, error texts and kinds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ConfigError, parseConfig } from "./index.js";

const LOCAL = [
  "--listen-client-urls=http://127.0.0.1:23790",
  "--advertise-client-urls=http://127.0.0.1:23790",
  "--listen-peer-urls=http://127.0.0.1:23800",
  "--initial-advertise-peer-urls=http://127.0.0.1:23800",
];

function fails(argv: string[]): ConfigError {
  try {
    parseConfig(argv, {});
  } catch (e) {
    return e as ConfigError;
  }
  assert.fail(`expected ${JSON.stringify(argv)} to fail`);
}

test("every Go flag form sets the flag", () => {
  const cases: { argv: string[]; name: string; preVote?: boolean }[] = [
    { argv: ["--name=a"], name: "a" },
    { argv: ["-name=a"], name: "a" },
    { argv: ["--name", "a"], name: "a" },
    { argv: ["-name", "a"], name: "a" },
    { argv: ["--name=a b"], name: "a b" },
    { argv: ["--name", "--pre-vote"], name: "--pre-vote" }, // a value may look like a flag
    { argv: ["--name=a", "--name=b"], name: "b" }, // last one wins
    { argv: ["--pre-vote=false", "--name", "x"], name: "x", preVote: false },
    { argv: ["--pre-vote", "--name", "x"], name: "x", preVote: true },
    { argv: ["-pre-vote=0", "--name", "x"], name: "x", preVote: false },
    { argv: ["--pre-vote=F", "--"], name: "default", preVote: false },
  ];
  for (const c of cases) {
    const { config } = parseConfig(c.argv, {});
    assert.equal(config.name, c.name, JSON.stringify(c.argv));
    if (c.preVote !== undefined) assert.equal(config.preVote, c.preVote, JSON.stringify(c.argv));
  }
});

test("syntax errors carry Go's message and exit 2 (usage); leftovers exit 1 (verify)", () => {
  const cases: { argv: string[]; kind: string; msg: string }[] = [
    { argv: ["--foo"], kind: "usage", msg: "flag provided but not defined: -foo" },
    { argv: ["-foo=1"], kind: "usage", msg: "flag provided but not defined: -foo" },
    { argv: ["--name"], kind: "usage", msg: "flag needs an argument: -name" },
    { argv: ["---name"], kind: "usage", msg: "bad flag syntax: ---name" },
    { argv: ["--=x"], kind: "usage", msg: "bad flag syntax: --=x" },
    {
      argv: ["--version=maybe"],
      kind: "usage",
      msg: 'invalid boolean value "maybe" for -version: parse error',
    },
    {
      argv: ["--pre-vote=yes"],
      kind: "usage",
      msg: 'invalid boolean value "yes" for -pre-vote: parse error',
    },
    { argv: ["--max-wals=-1"], kind: "usage", msg: 'invalid value "-1" for flag -max-wals: parse error' },
    {
      argv: ["--snapshot-count=abc"],
      kind: "usage",
      msg: 'invalid value "abc" for flag -snapshot-count: parse error',
    },
    {
      argv: ["--max-txn-ops=+5"],
      kind: "usage",
      msg: 'invalid value "+5" for flag -max-txn-ops: parse error',
    },
    {
      argv: ["--heartbeat-interval=99999999999999999999"],
      kind: "usage",
      msg: 'invalid value "99999999999999999999" for flag -heartbeat-interval: value out of range',
    },
    {
      argv: ["--max-concurrent-streams=4294967296"],
      kind: "usage",
      msg: 'invalid value "4294967296" for flag -max-concurrent-streams: strconv.ParseUint: parsing "4294967296": value out of range',
    },
    {
      argv: ["--experimental-watch-progress-notify-interval=1"],
      kind: "usage",
      msg: 'invalid value "1" for flag -experimental-watch-progress-notify-interval: parse error',
    },
    {
      argv: ["--initial-cluster-state=foo"],
      kind: "usage",
      msg: 'invalid value "foo" for flag -initial-cluster-state: invalid value',
    },
    { argv: ["--proxy=1"], kind: "usage", msg: 'invalid value "1" for flag -proxy: invalid value' },
    {
      argv: ["--cors=http://x:1,*"],
      kind: "usage",
      msg: 'invalid value "http://x:1,*" for flag -cors: URL scheme must be http, https, unix, or unixs: *',
    },
    { argv: ["--pre-vote", "false"], kind: "verify", msg: "'false' is not a valid flag" },
    { argv: ["serve"], kind: "verify", msg: "'serve' is not a valid flag" },
    { argv: ["--name=a", "--", "b"], kind: "verify", msg: "'b' is not a valid flag" },
    { argv: ["-"], kind: "verify", msg: "'-' is not a valid flag" },
    { argv: ["foo", "--version"], kind: "verify", msg: "'foo' is not a valid flag" },
    { argv: ["--version", "foo"], kind: "verify", msg: "'foo' is not a valid flag" },
  ];
  for (const c of cases) {
    const e = fails(c.argv);
    assert.equal(e.name, "ConfigError", JSON.stringify(c.argv));
    assert.equal(e.message, c.msg, JSON.stringify(c.argv));
    assert.equal(e.kind, c.kind, JSON.stringify(c.argv));
    assert.equal(e.exitCode, c.kind === "usage" ? 2 : 1);
  }
});

test("-h/--help stop parsing and ask for help; --version skips validation", () => {
  for (const argv of [["-h"], ["--help"], ["-help"], ["--help=false"], ["--name=x", "-h", "--bogus"]]) {
    assert.equal(parseConfig(argv, {}).action, "help", JSON.stringify(argv));
  }
  assert.throws(() => parseConfig(["--bogus", "-h"], {}), {
    message: "flag provided but not defined: -bogus",
  });
  assert.equal(parseConfig(["--version", "--election-timeout=1"], {}).action, "version");
  assert.equal(parseConfig(["--version=1"], {}).action, "version");
  assert.equal(parseConfig(LOCAL, {}).action, "run");
});

test("etcd's removed flags are accepted as bools and warned about", () => {
  const r = parseConfig(["--snapshot", "--peer-heartbeat-interval=5", "-v", ...LOCAL], {});
  assert.deepEqual(
    r.warnings.filter((w) => w.startsWith("flag ")),
    [
      'flag "-snapshot" is no longer supported - ignoring.',
      'flag "-peer-heartbeat-interval" is no longer supported - ignoring.',
      'flag "-v" is no longer supported - ignoring.',
    ],
  );
  assert.throws(() => parseConfig(["--snapshot", "5"], {}), { message: "'5' is not a valid flag" });
});

test("etcd's subcommands are refused, not run as a member", () => {
  assert.throws(() => parseConfig(["grpc-proxy", "start"], {}), { kind: "usage" });
});
