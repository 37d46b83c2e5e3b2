// Owns `npm run bench -- <name> [options]`: parse the command line, run the benchmark against etcd-ts and real etcd
// (or --endpoints) in one run, and print the machine header, the exact command and the comparison table.
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { clusterPutBench } from "./cluster_put.js";
import { failoverBench } from "./failover.js";
import { leaseExpiryBench } from "./lease_expiry.js";
import { putBench } from "./put.js";
import { rangeBench } from "./range.js";
import { comparisonTable, machineHeader } from "./report.js";
import { runBench } from "./runner.js";
import { stopAllTargets, type TargetSpec } from "./targets.js";
import type { AnyBenchSpec, OptionValue } from "./types.js";
import { watchLatencyBench } from "./watch_latency.js";
import { watchManyBench } from "./watch_many.js";

const DEFAULT_ENTRY = join(dirname(fileURLToPath(import.meta.url)), "..", "cmd", "etcd-ts.js");
// Each spec has its own option type; the CLI only needs them as option records.
const BENCHES = [
  putBench,
  rangeBench,
  watchLatencyBench,
  watchManyBench,
  leaseExpiryBench,
  clusterPutBench,
  failoverBench,
] as unknown as AnyBenchSpec<Record<string, OptionValue>>[];

interface CommonOptions {
  targets: string;
  endpoints?: string;
  etcdBin: string;
  etcdTsEntry: string;
  cpuProfDir?: string;
  serverArg: string[];
  json?: string;
  rounds: number;
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const positiveNumber = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("expected a non-negative number");
  return n;
};

function targetSpecs(o: CommonOptions): TargetSpec[] {
  if (o.endpoints) {
    return o.endpoints.split(",").map((e) => {
      const [label, endpoint] = e.includes("=") ? e.split("=", 2) : [e, e];
      return { label: label!, kind: "endpoint", endpoint: endpoint! };
    });
  }
  return o.targets.split(",").map((t) => {
    if (t !== "etcd-ts" && t !== "etcd") throw new InvalidArgumentError(`unknown target ${t}`);
    return { label: t, kind: t };
  });
}

/** How we were started, for the exact command in the report. */
const invocation = (): string =>
  process.env.npm_lifecycle_event === "bench" ? "npm run bench --" : "node dist/bench/cli.js";

const program = new Command("bench").description(
  "etcd-style load generator: runs the same load against etcd-ts and real etcd and compares them",
);
for (const spec of BENCHES) {
  const cmd = program.command(spec.name).description(spec.description);
  for (const [key, def] of Object.entries(spec.defaults)) {
    const help = spec.help[key]!;
    if (typeof def === "boolean") cmd.option(`--${kebab(key)}`, help, def);
    else if (typeof def === "number") cmd.option(`--${kebab(key)} <n>`, help, positiveNumber, def);
    else cmd.option(`--${kebab(key)} <value>`, help, def);
  }
  cmd
    .option("--targets <list>", "servers to start, in this order: etcd-ts,etcd", "etcd-ts,etcd")
    .option("--endpoints <list>", "use running servers instead: label=host:port,… (or host:port,…)")
    .option("--etcd-bin <path>", "real etcd binary", "/usr/bin/etcd")
    .option("--etcd-ts-entry <path>", "etcd-ts entry point (dist/cmd/etcd-ts.js)", DEFAULT_ENTRY)
    .option("--cpu-prof-dir <dir>", "run etcd-ts under node --cpu-prof, writing .cpuprofile files here")
    .option(
      "--server-arg <arg>",
      "extra flag for both servers (repeatable)",
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option(
      "--rounds <n>",
      "repeat, alternating the servers; the table shows medians and every round",
      positiveNumber,
      1,
    )
    .option("--json <file>", "also write the results as JSON")
    .action(async (all: CommonOptions & Record<string, OptionValue>) => {
      const opts = Object.fromEntries(Object.keys(spec.defaults).map((k) => [k, all[k]!]));
      const rounds = Math.max(1, Math.floor(all.rounds));
      const launch = {
        etcdBin: all.etcdBin,
        etcdTsEntry: resolve(all.etcdTsEntry),
        serverArgs: all.serverArg,
        ...(all.cpuProfDir ? { cpuProfDir: resolve(all.cpuProfDir) } : {}),
      };
      const log = (m: string): void => void process.stderr.write(`# ${m}\n`);
      const header = [
        `command: ${invocation()} ${process.argv.slice(2).join(" ")}`,
        `options: ${JSON.stringify(opts)}`,
        ...machineHeader(launch.etcdBin, launch.etcdTsEntry),
      ];
      const results = await runBench(spec, opts, targetSpecs(all), launch, log, rounds);
      process.stdout.write(
        `\n## ${spec.name}\n\n${header.join("\n")}\n\n${comparisonTable(results).join("\n")}\n`,
      );
      if (all.json) writeFileSync(all.json, JSON.stringify({ bench: spec.name, header, results }, null, 2));
      if (results.some((r) => r.error)) process.exitCode = 1;
    });
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`# ${signal}: stopping the servers\n`);
    void stopAllTargets().finally(() => process.exit(130));
  });
}
await program.parseAsync(process.argv);
