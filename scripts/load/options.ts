/** `npm run load` options: `--name value` or `--name=value`; unknown flags are refused. */
export const USAGE =
  "usage: npm run load -- [--meters 10000] [--regions 4] [--duration 60] [--concurrency 16] [--url http://host:port] [--quick]\n" +
  "  without --url it starts its own gridkey under wrangler dev; with --url the admin token comes from GRIDKEY_TOKEN";

export type LoadOptions = {
  meters: number;
  regions: number;
  /** Seconds of mixed workload after every meter came online. */
  duration: number;
  concurrency: number;
  url: string | undefined;
  /** Milliseconds between DR controller steps (a membership change, then a command check). */
  drIntervalMs: number;
};

export class UsageError extends Error {}

const FLAGS = new Set(["meters", "regions", "duration", "concurrency", "url", "quick"]);
const QUICK = { meters: 200, regions: 2, duration: 10 };
const DEFAULTS = { meters: 10_000, regions: 4, duration: 60, concurrency: 16 };

function flags(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") throw new UsageError(USAGE);
    const match = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    if (match?.[1] === "token") throw new UsageError("pass the admin token in GRIDKEY_TOKEN, not on the command line");
    if (!match || !FLAGS.has(match[1]!)) throw new UsageError(`unknown argument ${arg}\n${USAGE}`);
    if (match[1] === "quick") {
      out.set("quick", "1");
      continue;
    }
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${match[1]} needs a value\n${USAGE}`);
    out.set(match[1]!, value);
  }
  return out;
}

function intIn(values: Map<string, string>, name: string, fallback: number, min: number, max: number): number {
  const v = Number(values.get(name) ?? fallback);
  if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer ${min}..${max}\n${USAGE}`);
  return v;
}

export function loadOptions(argv: string[]): LoadOptions {
  const values = flags(argv);
  const base = values.has("quick") ? { ...DEFAULTS, ...QUICK } : DEFAULTS;
  const meters = intIn(values, "meters", base.meters, 20, 200_000);
  const regions = intIn(values, "regions", base.regions, 1, 64);
  if (regions * 5 > meters) throw new UsageError(`--regions must leave at least 5 meters a region\n${USAGE}`);
  const rawUrl = values.get("url");
  const url = rawUrl?.replace(/\/+$/, "");
  if (url !== undefined && !/^https?:\/\//.test(url)) throw new UsageError(`--url must be http(s)://...\n${USAGE}`);
  return {
    meters,
    regions,
    duration: intIn(values, "duration", base.duration, 1, 3_600),
    concurrency: intIn(values, "concurrency", base.concurrency, 1, 256),
    url,
    drIntervalMs: 2_000,
  };
}
