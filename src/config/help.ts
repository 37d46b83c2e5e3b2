// Owns the --help text: etcd's usage lines and a flag listing generated from the flag table.
import type { ConfigError } from "./errors.js";
import { FLAGS, type FlagSpec, type Section, SUPPORTED_FLAGS } from "./flags.js";
import { PROGRAM_NAME } from "./version.js";

/** What etcd prints to stderr before a flag syntax error's exit, and first in --help. */
export function usageText(): string {
  const p = PROGRAM_NAME;
  return `Usage:

  ${p} [flags]
    Start an etcd-compatible server.

  ${p} --version
    Show the version of ${p}.

  ${p} -h | --help
    Show the help information about ${p}.

  ${p} --config-file
    Path to the server configuration file. Note that if a configuration file is provided, other command line flags and environment variables will be ignored.
`;
}

const SECTIONS: readonly Section[] = [
  "Member",
  "Clustering",
  "Security",
  "Auth",
  "Profiling and Monitoring",
  "Logging",
  "v2 Proxy (to be deprecated in v4)",
  "Experimental feature",
  "Unsafe feature",
  "TO BE DEPRECATED",
];

function describe(f: FlagSpec): string {
  const shown = f.shown ?? `'${f.def}'`;
  const note = SUPPORTED_FLAGS.has(f.name) ? "" : " [not supported yet by etcd-ts: accepted and ignored]";
  return `  --${f.name} ${shown}\n    ${f.help}${note}\n`;
}

/** The flag listing etcd prints to stdout for -h/--help, generated from the table. */
export function flagsText(): string {
  let out = "";
  for (const section of SECTIONS) {
    const flags = FLAGS.filter((f) => f.section === section);
    if (section === "TO BE DEPRECATED") out += "\nTO BE DEPRECATED:\n\n";
    else out += `\n${section}:\n`;
    out += flags.map(describe).join("");
    if (section === "Unsafe feature") {
      out += "\nCAUTIOUS with unsafe flag! It may break the guarantees given by the consensus protocol!\n";
    }
  }
  return out;
}

/** Everything --help shows: usage, then the flags (no trailing newline). */
export const helpText = (): string => `${usageText()}${flagsText()}`.trimEnd();

/** What the CLI entry prints to stderr for a ConfigError (no trailing newline; then exit `e.exitCode`). */
export function errorText(e: ConfigError): string {
  switch (e.kind) {
    case "usage":
      return `${e.message}\n${usageText()}`.trimEnd();
    case "verify":
      return `error verifying flags, ${e.message}. See '${PROGRAM_NAME} --help'.${e.hint ? `\n${e.hint}` : ""}`;
    case "fatal":
      return e.message;
  }
}
