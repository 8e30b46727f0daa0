import { parseFlags, UsageError } from "../script-args.js";

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

const QUICK = { meters: 200, regions: 2, duration: 10 };
const DEFAULTS = { meters: 10_000, regions: 4, duration: 60, concurrency: 16 };

function intIn(values: Map<string, string>, name: string, fallback: number, min: number, max: number): number {
  const v = Number(values.get(name) ?? fallback);
  if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer ${min}..${max}\n${USAGE}`);
  return v;
}

export function loadOptions(argv: string[]): LoadOptions {
  const values = parseFlags(argv, USAGE, ["meters", "regions", "duration", "concurrency", "url"], ["quick"]);
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
