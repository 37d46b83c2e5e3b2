// Owns command-line parsing with Go's flag package syntax, as etcd's FlagSet("etcd", ContinueOnError) parses.
import { usageError, verifyError } from "./errors.js";
import { lookupFlag } from "./flags.js";
import { goQuote } from "./goparse.js";
import type { FlagValues } from "./values.js";

/** etcd's subcommands; etcd-ts does not ship them yet. */
const SUBCOMMANDS = ["gateway", "grpc-proxy"];

/**
 * Applies `argv` (without the program name) to `values` like Go's flag.Parse: `-f`, `--f`, `-f=v`, `-f v`
 * (bools only take `-f` or `-f=v`), stops at `--` or the first non-flag. Returns "help" when -h/-help is met.
 * Throws ConfigError("usage") with Go's exact message, or ("verify") for a leftover argument.
 */
export function parseArgv(argv: readonly string[], values: FlagValues): "help" | undefined {
  if (argv[0] !== undefined && SUBCOMMANDS.includes(argv[0])) {
    throw usageError(`subcommand "${argv[0]}" not supported yet by etcd-ts`);
  }
  const args = [...argv];
  while (args.length > 0) {
    const s = args[0]!;
    if (s.length < 2 || s[0] !== "-") break;
    let minuses = 1;
    if (s[1] === "-") {
      minuses = 2;
      if (s.length === 2) {
        args.shift();
        break;
      }
    }
    let name = s.slice(minuses);
    if (name.length === 0 || name[0] === "-" || name[0] === "=") throw usageError(`bad flag syntax: ${s}`);
    args.shift();
    let value: string | undefined;
    const eq = name.indexOf("=", 1);
    if (eq > 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = lookupFlag(name);
    if (!spec) {
      if (name === "help" || name === "h") return "help";
      throw usageError(`flag provided but not defined: -${name}`);
    }
    if (spec.kind === "bool" || spec.kind === "ignored") {
      const err = values.set(name, value ?? "true", "flag");
      if (err !== undefined) {
        throw usageError(
          value === undefined
            ? `invalid boolean flag ${name}: ${err}`
            : `invalid boolean value ${goQuote(value)} for -${name}: ${err}`,
        );
      }
      continue;
    }
    if (value === undefined && args.length > 0) value = args.shift();
    if (value === undefined) throw usageError(`flag needs an argument: -${name}`);
    const err = values.set(name, value, "flag");
    if (err !== undefined) throw usageError(`invalid value ${goQuote(value)} for flag -${name}: ${err}`);
  }
  // etcd 3.4 quotes the leftover with '%s' (3.6 uses %q).
  if (args.length > 0) throw verifyError(`'${args[0]}' is not a valid flag`);
  return undefined;
}
