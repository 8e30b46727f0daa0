import { type Command, InvalidArgumentError } from "commander";
import { Client } from "./client";
import { usageError } from "./exit-codes";
import { Output } from "./output";
import { resolveToken } from "./token";

export const DEFAULT_URL = "http://127.0.0.1:8787";

export type GlobalOptions = { url: string; tokenFile?: string; json: boolean; quiet: boolean };

export type Ctx = { client: Client; out: Output; opts: GlobalOptions };

/** The client and output of a command, from the options given before or after it. */
export function ctx(cmd: Command): Ctx {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  const url = opts.url.replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+$/.test(url)) throw usageError(`--url must be http(s)://host[:port], not ${opts.url}`);
  const out = new Output(opts.json);
  return { client: new Client(url, resolveToken({ tokenFile: opts.tokenFile, url })), out, opts: { ...opts, url } };
}

/** The output alone, for printing errors before (or without) a client. */
export function outputOf(cmd: Command): Output {
  return new Output(Boolean(cmd.optsWithGlobals<GlobalOptions>().json));
}

/** Commander argument parsers: a bad value is a usage error (exit 2) before anything is sent. */
export function int(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`an integer ${min}..${max}`);
    return n;
  };
}

/** `--x a,b --x c` and `--x a b` both give [a, b, c]. */
export function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((s) => s.trim()).filter(Boolean)];
}

/** Irreversible commands need --yes, so a slip of the shell history cannot run them. */
export function requireYes(options: { yes?: boolean }, what: string): void {
  if (!options.yes) throw usageError(`${what}; add --yes to confirm`);
}

export const seg = (s: string) => encodeURIComponent(s);
