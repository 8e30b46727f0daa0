import { existsSync, readFileSync, statSync } from "node:fs";
import { usageError } from "./exit-codes";

/**
 * The bearer token, from (in order) `--token-file`, GRIDKEY_TOKEN, or, for a gridkey on this
 * machine only, the development bootstrap token `npm start` wrote to ./.dev.vars. There is
 * deliberately no `--token`: a flag lands in shell history and in `ps`.
 */
export function resolveToken(opts: { tokenFile?: string; url: string }): string {
  if (opts.tokenFile) return readSecretFile(opts.tokenFile, "token file");
  const env = process.env.GRIDKEY_TOKEN?.trim();
  if (env) return env;
  const dev = isLoopback(opts.url) ? devVarsToken() : undefined;
  if (dev) return dev;
  throw usageError("no token: set GRIDKEY_TOKEN or pass --token-file FILE (mode 600)");
}

/** A secret file that others may read or write is refused, as ssh refuses such a private key. */
export function readSecretFile(path: string, what: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw usageError(`cannot read the ${what} ${path}`);
  }
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    throw usageError(`the ${what} ${path} is open to others (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
  }
  const secret = readFileSync(path, "utf8").trim();
  if (!secret) throw usageError(`the ${what} ${path} is empty`);
  return secret;
}

function devVarsToken(): string | undefined {
  if (!existsSync(".dev.vars")) return undefined;
  const line = readFileSync(".dev.vars", "utf8")
    .split(/\r?\n/)
    .find((l) => l.startsWith("BOOTSTRAP_TOKEN="));
  return line?.slice("BOOTSTRAP_TOKEN=".length).trim() || undefined;
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
  } catch {
    return false;
  }
}
