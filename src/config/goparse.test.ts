// Specifies Go's scalar syntaxes as etcd's flags accept them (cases checked against etcd 3.4.23's binary).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatGoDuration,
  goQuote,
  parseGoBool,
  parseGoDuration,
  parseGoInt,
  parseGoUint,
} from "./goparse.js";

test("Go integers: base prefixes, underscores, signs and ranges like strconv with base 0", () => {
  const cases: { s: string; signed: boolean; bits?: number; want: bigint | "syntax" | "range" }[] = [
    { s: "128", signed: false, want: 128n },
    { s: "0x10", signed: false, want: 16n },
    { s: "0X10", signed: false, want: 16n },
    { s: "010", signed: true, want: 8n },
    { s: "0o17", signed: true, want: 15n },
    { s: "0b101", signed: true, want: 5n },
    { s: "1_000", signed: true, want: 1000n },
    { s: "0x1_000", signed: true, want: 4096n },
    { s: "0x_1", signed: true, want: 1n },
    { s: "_1", signed: true, want: "syntax" },
    { s: "1__0", signed: true, want: "syntax" },
    { s: "1_", signed: true, want: "syntax" },
    { s: "+5", signed: false, want: "syntax" },
    { s: "+5", signed: true, want: 5n },
    { s: "-5", signed: true, want: -5n },
    { s: "-1", signed: false, want: "syntax" },
    { s: "", signed: true, want: "syntax" },
    { s: "0x", signed: true, want: "syntax" },
    { s: "09", signed: true, want: "syntax" },
    { s: "1e3", signed: true, want: "syntax" },
    { s: "abc", signed: false, want: "syntax" },
    { s: "18446744073709551615", signed: false, want: 18446744073709551615n },
    { s: "18446744073709551616", signed: false, want: "range" },
    { s: "9223372036854775807", signed: true, want: 9223372036854775807n },
    { s: "9223372036854775808", signed: true, want: "range" },
    { s: "-9223372036854775808", signed: true, want: -9223372036854775808n },
    { s: "-9223372036854775809", signed: true, want: "range" },
    { s: "4294967296", signed: false, bits: 32, want: "range" },
    { s: "4294967295", signed: false, bits: 32, want: 4294967295n },
  ];
  for (const c of cases) {
    const r = c.signed ? parseGoInt(c.s, c.bits ?? 64) : parseGoUint(c.s, c.bits ?? 64);
    assert.deepEqual(r.ok ? r.value : r.err, c.want, `${c.signed ? "int" : "uint"}(${c.s})`);
  }
});

test("Go bools accept exactly strconv.ParseBool's spellings", () => {
  for (const s of ["1", "t", "T", "TRUE", "true", "True"]) assert.equal(parseGoBool(s), true, s);
  for (const s of ["0", "f", "F", "FALSE", "false", "False"]) assert.equal(parseGoBool(s), false, s);
  for (const s of ["yes", "on", "tRUE", "", " true"]) assert.equal(parseGoBool(s), undefined, s);
});

test("Go durations parse to nanoseconds with time.ParseDuration's messages", () => {
  const ok: [string, bigint][] = [
    ["0", 0n],
    ["5s", 5_000_000_000n],
    ["1h2m", 3_720_000_000_000n],
    ["-5s", -5_000_000_000n],
    ["+5s", 5_000_000_000n],
    [".5s", 500_000_000n],
    ["1.5s", 1_500_000_000n],
    ["100ms", 100_000_000n],
    ["3us", 3_000n],
    ["3µs", 3_000n],
    ["7ns", 7n],
  ];
  for (const [s, ns] of ok) assert.equal(parseGoDuration(s), ns, s);
  const bad: [string, string][] = [
    ["", 'time: invalid duration ""'],
    ["abc", 'time: invalid duration "abc"'],
    ["-1", 'time: missing unit in duration "-1"'],
    ["1.5", 'time: missing unit in duration "1.5"'],
    ["1x", 'time: unknown unit "x" in duration "1x"'],
    [".s", 'time: invalid duration ".s"'],
    ["3000000h", 'time: invalid duration "3000000h"'],
  ];
  for (const [s, msg] of bad) assert.throws(() => parseGoDuration(s), { message: msg }, s);
});

test("Go duration strings and %q quoting", () => {
  assert.equal(formatGoDuration(600_000_000_000n), "10m0s");
  assert.equal(formatGoDuration(100_000_000n), "100ms");
  assert.equal(formatGoDuration(1_500_000_000n), "1.5s");
  assert.equal(formatGoDuration(7_200_000_000_000n), "2h0m0s");
  assert.equal(formatGoDuration(0n), "0s");
  assert.equal(goQuote('a"b\\c\n\x01é'), '"a\\"b\\\\c\\n\\x01é"');
});
