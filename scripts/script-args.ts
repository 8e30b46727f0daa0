// What the Node scripts (npm run simulate, npm run load) share for their command lines: the
// flag reader and the admin token, which never comes from the command line.
import { existsSync, readFileSync } from "node:fs";

/** A mistake in how the script was called: printed without a stack, exit code 2. */
export class UsageError extends Error {}

/**
 * `--name value` or `--name=value` for each of `names`, and bare `--name` for each of
 * `switches` (its value "1"). Anything else is refused, `--token` with a pointer to
 * GRIDKEY_TOKEN.
 */
export function parseFlags(argv: string[], usage: string, names: string[], switches: string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") throw new UsageError(usage);
    const match = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    const name = match?.[1];
    if (name === "token") throw new UsageError("pass the admin token in GRIDKEY_TOKEN, not on the command line");
    if (name !== undefined && switches.includes(name)) {
      out.set(name, "1");
      continue;
    }
    if (name === undefined || !names.includes(name)) throw new UsageError(`unknown argument ${arg}\n${usage}`);
    const value = match![2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value\n${usage}`);
    out.set(name, value);
  }
  return out;
}

/** GRIDKEY_TOKEN, else the development bootstrap token `npm start` wrote to ./.dev.vars. */
export function adminToken(missing: string): string {
  const fromEnv = process.env.GRIDKEY_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  const line = existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8").split(/\r?\n/).find((l) => l.startsWith("BOOTSTRAP_TOKEN=")) : undefined;
  const token = line?.slice("BOOTSTRAP_TOKEN=".length).trim();
  if (token) return token;
  throw new UsageError(missing);
}
