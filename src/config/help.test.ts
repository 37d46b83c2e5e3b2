// Specifies the flag table's integrity, the supported set, and the --help / --version / error texts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  ConfigError,
  errorText,
  FLAGS,
  flagsText,
  helpText,
  SUPPORTED_FLAGS,
  usageText,
  versionText,
} from "./index.js";

test("the table has unique names, parseable defaults and consistent kinds", () => {
  const names = FLAGS.map((f) => f.name);
  assert.equal(new Set(names).size, names.length);
  for (const f of FLAGS) {
    if (f.kind === "select") assert.ok(f.choices?.includes(f.def), f.name);
    assert.ok(f.help.length > 0, f.name);
  }
  for (const name of SUPPORTED_FLAGS)
    assert.ok(names.includes(name), `supported flag ${name} is in the table`);
});

test("the 3.5/3.6 flags the reference lists are accepted", () => {
  const names = new Set(FLAGS.map((f) => f.name));
  for (const n of [
    "listen-client-http-urls",
    "feature-gates",
    "log-format",
    "max-learners",
    "experimental-max-learners",
    "experimental-compaction-sleep-interval",
    "experimental-txn-mode-write-with-shared-buffer",
    "experimental-bootstrap-defrag-threshold-megabytes",
    "experimental-stop-grpc-service-on-defrag",
    "experimental-snapshot-catchup-entries",
    "experimental-downgrade-check-time",
    "experimental-compact-hash-check-enabled",
    "discovery-token",
    "discovery-endpoints",
    "tls-min-version",
    "socket-reuse-port",
    "raft-read-timeout",
    "memory-mlock",
    "warning-unary-request-duration",
    "enable-distributed-tracing",
  ]) {
    assert.ok(names.has(n), n);
  }
});

test("--help lists every non-hidden flag with its default and marks unsupported ones", () => {
  const text = helpText();
  assert.ok(text.startsWith(usageText()));
  for (const f of FLAGS.filter((x) => x.section !== "Hidden"))
    assert.ok(flagsText().includes(`  --${f.name} `), f.name);
  assert.ok(text.includes("  --name 'default'\n    Human-readable name for this member.\n"));
  // biome-ignore lint/suspicious/noTemplateCurlyInString: etcd's help shows this placeholder literally.
  assert.ok(text.includes("  --data-dir '${name}.etcd'\n"));
  assert.ok(text.includes("  --bcrypt-cost 10\n"));
  assert.match(
    text,
    /--peer-cert-allowed-cn ''\n {4}.*\[not supported yet by etcd-ts: accepted and ignored\]/,
  );
  assert.doesNotMatch(text, /--cert-file ''\n {4}.*not supported/);
  assert.doesNotMatch(text, /--snapshot-count '100000'\n {4}.*not supported/);
});

test("--version names etcd-ts and the etcd API it serves", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  const lines = versionText().split("\n");
  assert.equal(lines[0], `etcd-ts Version: ${pkg.version}`);
  assert.equal(lines[1], "etcd API Version: 3.4");
  assert.match(lines[2]!, /^Node\.js Version: v\d+/);
});

test("errors print in etcd's three shapes", () => {
  assert.equal(
    errorText(new ConfigError("usage", "flag provided but not defined: -foo")),
    `flag provided but not defined: -foo\n${usageText().trimEnd()}`,
  );
  assert.equal(
    errorText(new ConfigError("verify", "boom", "hint line")),
    "error verifying flags, boom. See 'etcd-ts --help'.\nhint line",
  );
  assert.equal(errorText(new ConfigError("fatal", "conflict")), "conflict");
  assert.ok(!helpText().endsWith("\n") && !versionText().endsWith("\n"));
});
