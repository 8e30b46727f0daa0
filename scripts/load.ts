/**
 * `npm run load -- [--meters 10000] [--regions 4] [--duration 60] [--concurrency 16] [--url U] [--quick]`
 *
 * Fleet-scale load (docs/load.md): N SDK meters in one Node process against gridkey under
 * `wrangler dev` (its own, unless --url names a running one). Bulk enrollment over several
 * regions, a tree-keyed and a cover-keyed DR program, every meter online (EDHOC, keys,
 * acknowledgement, a reading, its programs' keys), then a mixed workload for --duration
 * seconds with DR membership churn and sealed commands, then checks meter by meter.
 * Prints throughput, latency percentiles and errors by code.
 *
 * Exit status: 0 every check passed and no operation failed, 1 otherwise, 2 bad usage or setup.
 */
import { bytesToHex, randomBytes } from "@noble/hashes/utils.js";
import { cpus, loadavg } from "node:os";
import { CredentialCache, fetchTrustAnchor, SdkError } from "../sdk/index.js";
import { type DevServer, startDevServer } from "../test/e2e/wrangler-dev.js";
import { AdminApi } from "./load/admin.js";
import { Checks } from "./load/checks.js";
import { enrollFleet, makeFleet, regionNames } from "./load/fleet.js";
import { type LoadOptions, loadOptions } from "./load/options.js";
import { adminToken, UsageError } from "./script-args.js";
import { createPrograms } from "./load/programs.js";
import { Tally } from "./load/tally.js";
import { verifyRun } from "./load/verify.js";
import { bringOnline, mixedWorkload, type Run, startDrController } from "./load/workload.js";

/**
 * Our own wrangler dev: every meter of the run comes from 127.0.0.1, so the per-address
 * limit (meant for one gateway or host among many) is off; the per-meter limit stays at its
 * default, and normal meter traffic must never meet it.
 */
const OWN_SERVER_VARS = { EDGE_RATE_LIMIT_ADDRESS: "off" };

const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function target(opts: LoadOptions): Promise<{ api: AdminApi; server?: DevServer }> {
  if (opts.url) return { api: new AdminApi(opts.url, adminToken("no admin token for --url: set GRIDKEY_TOKEN")) };
  log("starting gridkey under wrangler dev");
  const server = await startDevServer(OWN_SERVER_VARS);
  // wrangler dev runs in its own process group: stop it if the run is interrupted.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void server.stop().finally(() => process.exit(130)));
  await settled(server.url);
  return { api: new AdminApi(server.url, server.token), server };
}

/**
 * wrangler dev may reload its worker once just after it first answers (seen here: a bulk
 * enrollment then failed with "fetch failed"): wait until /health answers 5 times in a row.
 */
async function settled(url: string): Promise<void> {
  for (let streak = 0, tries = 0; streak < 5; tries++) {
    if (tries > 120) throw new Error("wrangler dev did not settle");
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    streak = ok ? streak + 1 : 0;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function phase<T>(name: string, seconds: Record<string, number>, task: () => Promise<T>): Promise<T> {
  const started = performance.now();
  log(`${name}…`);
  const result = await task();
  seconds[name] = (performance.now() - started) / 1000;
  log(`${name}: ${seconds[name]!.toFixed(1)} s`);
  return result;
}

function report(opts: LoadOptions, run: Run, seconds: Record<string, number>, url: string, startLoad: number[]): string {
  const loads = (l: number[]) => l.map((v) => v.toFixed(2)).join(" ");
  const workload = (seconds["online"] ?? 0) + (seconds["mixed"] ?? 0);
  const programs = run.programs.map((p) => `${p.keying} ${p.members.size} members (${p.departed.size} departed)`).join(", ");
  return [
    `gridkey load: ${opts.meters} meters in ${opts.regions} regions, concurrency ${opts.concurrency}, mixed workload ${opts.duration} s, against ${url}`,
    `  machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load average ${loads(startLoad)} at start, ${loads(loadavg())} at end, node ${process.version}`,
    `  phases: ${Object.entries(seconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(", ")}`,
    `  DR programs: ${programs}`,
    "",
    `operations (rate over the online and mixed phases, ${workload.toFixed(1)} s; verify.* over the verify phase):`,
    run.tally.table(workload, seconds["verify"] ?? 1),
    "",
    "errors by operation and code:",
    run.tally.errorTable(),
    "",
    "checks:",
    run.checks.table(),
  ].join("\n");
}

async function main(): Promise<number> {
  const opts = loadOptions(process.argv.slice(2));
  const startLoad = loadavg();
  const { api, server } = await target(opts);
  try {
    const runId = bytesToHex(randomBytes(3));
    const anchor = await fetchTrustAnchor(api.url);
    const regions = regionNames(runId, opts.regions);
    const fleet = makeFleet(opts.meters, regions, runId, api.url, anchor, new CredentialCache(anchor));
    const seconds: Record<string, number> = {};
    const tally = new Tally();
    const checks = new Checks();
    await phase("enroll", seconds, () => enrollFleet(api, fleet, runId, log));
    const programs = await phase("programs", seconds, () => createPrograms(api, fleet, runId));
    const run: Run = { api, fleet, programs, tally, checks, concurrency: opts.concurrency, log };
    // Membership churn and command checks run through both phases: meters come online while programs change.
    const dr = startDrController(run, opts.drIntervalMs);
    try {
      await phase("online", seconds, () => bringOnline(run));
      await phase("mixed", seconds, () => mixedWorkload(run, opts.duration));
    } finally {
      await dr.stop();
    }
    await phase("verify", seconds, () => verifyRun(run));
    console.log(report(opts, run, seconds, api.url, startLoad));
    const ok = checks.failed === 0 && tally.errorCount() === 0;
    console.log(`\nresult: ${ok ? "PASS" : "FAIL"} (${checks.failed} failed checks, ${tally.errorCount()} failed operations)`);
    return ok ? 0 : 1;
  } finally {
    await server?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const message = e instanceof SdkError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
    process.stderr.write(`${e instanceof UsageError ? "" : "load: "}${message}\n`);
    process.exit(2);
  },
);
