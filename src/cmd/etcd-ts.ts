#!/usr/bin/env node
// Owns the `etcd-ts` server binary: parse etcd's flags/env/config file, start the member, stop on signals.
import { ConfigError, errorText, helpText, parseConfig, versionText } from "../config/index.js";
import { startEtcd } from "../embed/etcd.js";
import { embedConfig } from "../embed/from_config.js";
import { createLogger } from "../embed/logger.js";

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseConfig>;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${errorText(err)}\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (parsed.action === "version") {
    process.stdout.write(`${versionText()}\n`);
    return 0;
  }
  if (parsed.action === "help") {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  const cfg = parsed.config;
  const out = cfg.logOutputs.find((o) => o !== "default") ?? "stderr";
  const log = createLogger(cfg.logLevel, out);
  for (const w of parsed.warnings) log.warn({}, w);
  for (const i of parsed.info) log.info({}, i);
  const etcd = await startEtcd(embedConfig(cfg, log));
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, "received signal; shutting down");
      void etcd.close().then(resolve);
    };
    process.once("SIGINT", () => stop("interrupt"));
    process.once("SIGTERM", () => stop("terminated"));
    // A member removed from its cluster stops itself; like etcd, the process then exits 0.
    void etcd.closed.then(resolve);
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `${JSON.stringify({ level: "fatal", ts: new Date().toISOString(), msg: "etcd-ts failed", error: String(err) })}\n`,
    );
    process.exit(1);
  },
);
