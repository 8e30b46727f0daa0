/**
 * `npm run bench` — gridkey's benchmarks (issue 6), run on this machine, printed as a
 * markdown table and written to docs/benchmarks.md, docs/bench/results.json and the plots
 * in docs/bench/.
 *
 *   npm run bench                  the full run
 *   npm run bench -- --quick       a subset, under two minutes (what test/e2e/bench-smoke.test.ts runs)
 *   npm run bench -- --smoke       seconds: tiny N, one run; writes to a temporary folder
 *                                  (a check of the harness while changing it)
 *   options: --out DIR (writes DIR/benchmarks.md and DIR/bench/*), --runs N, --no-pin,
 *            --wait-idle[=SECONDS] (first wait, at most that long, default 300, for other
 *            processes to leave the CPUs alone: tests running beside the bench distort it)
 *
 * It starts gridkey under `wrangler dev` (test/e2e/wrangler-dev.ts: own port, state and
 * secrets) and the bench-only limit worker (bench/limit-worker) the same way, pins both to
 * one CPU and the load generator (bench/loadgen.ts, a child process running the SDK) to the
 * other, runs each section (bench/sections/), and stops every process it started. Only
 * 127.0.0.1 is ever contacted.
 *
 * Sections (bench/sections/, each of the shape in bench/lib/model.ts): `sessions` (items 3–4:
 * throughput, the physical limit, keys and rekey fetch latency, the meter's handshake cost) and
 * `rekey` (items 1–2: group rekey cost in gridkey's KeyGraph DO, hosted by the limit worker, vs
 * flat rekeying, the LKH bound and MLS via ts-mls in bench/mls; the member's cost).
 */
import { type ChildProcess, fork, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startDevServer } from "../test/e2e/wrangler-dev.js";
import type { LoadgenCommand, LoadgenReply } from "./lib/loadgen-protocol.js";
import type { BenchContext, CoreSharing, Pending, Profile, Section, Server } from "./lib/model.js";
import { affinity, canPin, cpuSeconds, machineBusySeconds, pin, waitGone, wranglerDevProcs } from "./lib/procs.js";
import { markdown, type Machine, RESULTS_SCHEMA, type Results } from "./lib/report.js";
import { rekeySection } from "./sections/rekey.js";
import { sessionsSection } from "./sections/sessions.js";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, "..");

const BENCH_VARS = { EDGE_RATE_LIMIT_ADDRESS: "off", EDGE_RATE_LIMIT_METER: "off" };

const SECTIONS: Section[] = [sessionsSection, rekeySection];

/** Issue 6 items the harness does not measure yet (none today; the page lists any here). */
const PENDING: Pending[] = [];

/** Member layouts for the cover-against-tree comparison: a whole region, half of it, and members scattered thinly. */
const COVER_DENSITIES: Profile["rekey"]["cover"]["densities"] = [
  { label: "all", fraction: 1, layout: "contiguous" },
  { label: "half", fraction: 0.5, layout: "contiguous" },
  { label: "10pct-random", fraction: 0.1, layout: "random" },
  { label: "1pct-random", fraction: 0.01, layout: "random" },
];

const PROFILES: Record<Profile["name"], Profile> = {
  smoke: {
    name: "smoke",
    runs: 1,
    concurrency: [1, 4],
    warmupMs: 300,
    windowMs: 1200,
    idleWindowMs: 600,
    globalWarmupMs: 600,
    poolSize: 12,
    probes: 1,
    probeIntervalMs: 20,
    limitTargetMs: 60,
    limitMeters: 100,
    meterCost: { handshakes: 3, warmup: 2 },
    health: { concurrency: 4, windowMs: 500 },
    pin: false,
    rekey: {
      sizes: [200, 1000],
      degrees: [2, 4],
      topSizeDegrees: [2, 4],
      batchEveryRunUpTo: 100_000,
      chunk: 10_000,
      opsPerRun: 2,
      flatSizes: [200],
      memberSamples: 3,
      mls: { cases: [{ n: 8, tree: "blank" }, { n: 8, tree: "filled" }], samples: 1, budgetSeconds: 60 },
      cover: { n: 256, leaves: 2, densities: COVER_DENSITIES },
    },
  },
  quick: {
    name: "quick",
    runs: 3,
    concurrency: [1, 16, 64],
    warmupMs: 500,
    windowMs: 1500,
    idleWindowMs: 1000,
    globalWarmupMs: 2000,
    poolSize: 600,
    probes: 2,
    probeIntervalMs: 25,
    limitTargetMs: 150,
    limitMeters: 2000,
    meterCost: { handshakes: 20, warmup: 5 },
    health: { concurrency: 16, windowMs: 1000 },
    pin: true,
    // Kept small: the sessions section already takes most of the two minutes. Degrees 2 and 8,
    // n = 10^5 and 10^6, flat at 10^4 and larger MLS groups are the full run's.
    rekey: {
      sizes: [1000, 10_000],
      degrees: [4],
      topSizeDegrees: [4],
      batchEveryRunUpTo: 100_000,
      chunk: 10_000,
      opsPerRun: 2,
      flatSizes: [1000],
      memberSamples: 10,
      mls: { cases: [{ n: 1000, tree: "blank" }, { n: 16, tree: "filled" }], samples: 1, budgetSeconds: 45 },
      cover: { n: 2048, leaves: 3, densities: COVER_DENSITIES },
    },
  },
  full: {
    name: "full",
    runs: 5,
    concurrency: [1, 2, 4, 8, 16, 32, 64, 128],
    warmupMs: 2000,
    windowMs: 10_000,
    idleWindowMs: 5000,
    globalWarmupMs: 10_000,
    poolSize: 5000,
    probes: 2,
    probeIntervalMs: 25,
    limitTargetMs: 1000,
    limitMeters: 20_000,
    meterCost: { handshakes: 100, warmup: 10 },
    health: { concurrency: 16, windowMs: 5000 },
    pin: true,
    rekey: {
      sizes: [1000, 10_000, 100_000, 1_000_000],
      degrees: [2, 4, 8],
      // 10^6 members take about two minutes to build per degree; the 1 % batch there (10^4 + 10^4) is one sample.
      topSizeDegrees: [2, 4, 8],
      batchEveryRunUpTo: 100_000,
      chunk: 10_000,
      opsPerRun: 5,
      flatSizes: [1000, 10_000],
      memberSamples: 20,
      mls: {
        cases: [
          { n: 1000, tree: "blank" },
          { n: 128, tree: "filled" },
          // Last: ts-mls may not finish it within the budget (the page then says where it stopped).
          { n: 10_000, tree: "blank" },
        ],
        samples: 3,
        budgetSeconds: 480,
      },
      cover: {
        n: 65_536,
        leaves: 5,
        densities: COVER_DENSITIES,
      },
    },
  },
};

const USAGE = "usage: npm run bench [-- --quick | --smoke] [--out DIR] [--runs N] [--no-pin] [--wait-idle[=SECONDS]]";

type Options = { profile: Profile; out: string; command: string; waitIdleSeconds: number };

function options(argv: string[]): Options {
  let name: Profile["name"] = "full";
  let out: string | undefined;
  let runs: number | undefined;
  let noPin = false;
  let waitIdleSeconds = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") name = "quick";
    else if (a === "--smoke") name = "smoke";
    else if (a === "--full") name = "full";
    else if (a === "--no-pin") noPin = true;
    else if (a === "--wait-idle") waitIdleSeconds = 300;
    else if (a.startsWith("--wait-idle=")) waitIdleSeconds = Number(a.slice(12));
    else if (a === "--out") out = argv[++i];
    else if (a.startsWith("--out=")) out = a.slice(6);
    else if (a === "--runs") runs = Number(argv[++i]);
    else if (a.startsWith("--runs=")) runs = Number(a.slice(7));
    else if (a === "--help" || a === "-h") throw new UsageError(USAGE);
    else throw new UsageError(`unknown argument ${a}\n${USAGE}`);
  }
  if (runs !== undefined && (!Number.isInteger(runs) || runs < 1 || runs > 50)) throw new UsageError(`--runs must be 1..50\n${USAGE}`);
  if (out === "") throw new UsageError(`--out needs a folder\n${USAGE}`);
  if (!Number.isFinite(waitIdleSeconds) || waitIdleSeconds < 0 || waitIdleSeconds > 3600) throw new UsageError(`--wait-idle takes 0..3600 seconds\n${USAGE}`);
  const profile = { ...PROFILES[name], ...(runs ? { runs } : {}), ...(noPin ? { pin: false } : {}) };
  const dir = out ? resolve(out) : name === "smoke" ? mkdtempSync(join(tmpdir(), "gridkey-bench-")) : join(ROOT, "docs");
  const command = ["npm run bench", ...(argv.length > 0 ? ["--", ...argv] : [])].join(" ");
  return { profile, out: dir, command, waitIdleSeconds };
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------
// Machine facts
// ---------------------------------------------------------------------------------------

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  return (r.stdout ?? "").trim();
}

/** CPU used over one second by processes other than this one, % of a core. */
async function otherLoad(): Promise<number> {
  const busy0 = machineBusySeconds();
  const self0 = cpuSeconds(process.pid);
  await new Promise((r) => setTimeout(r, 1000));
  return Math.max(0, 100 * (machineBusySeconds() - busy0 - (cpuSeconds(process.pid) - self0)));
}

/** Waits (at most `seconds`) until three one-second samples in a row show under 10 % of a core used by others. */
async function waitIdle(seconds: number, log: (m: string) => void): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  let quiet = 0;
  let said = false;
  while (quiet < 3 && Date.now() < deadline) {
    const load = await otherLoad();
    quiet = load < 10 ? quiet + 1 : 0;
    if (quiet === 0 && !said) {
      log(`waiting (up to ${seconds} s) for other processes to go quiet: ${load.toFixed(0)} % of a core in use`);
      said = true;
    }
  }
  if (quiet < 3) log("the machine did not go quiet: going ahead");
}

async function machine(): Promise<Machine> {
  const busyAtStartPercent = await otherLoad();
  const free = sh("free", ["-b"]);
  const memLine = free.split("\n").find((l) => l.startsWith("Mem:"))?.split(/\s+/) ?? [];
  const memTotalBytes = Number(memLine[1] ?? Number.NaN);
  const cpuModel = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)?.[1]?.trim() ?? "unknown CPU";
  const wrangler = sh("npx", ["wrangler", "--version"]).split("\n").find((l) => /\d+\.\d+\.\d+/.test(l)) ?? "unknown";
  return {
    nproc: Number(sh("nproc", [])),
    cpuModel,
    memTotalBytes,
    free: `${(memTotalBytes / 2 ** 30).toFixed(1)} GiB total, ${(Number(memLine[6] ?? Number.NaN) / 2 ** 30).toFixed(1)} GiB available at start`,
    kernel: sh("uname", ["-sr"]),
    node: process.version,
    wrangler: wrangler.replace(/[^\d.]*(\d+\.\d+\.\d+).*/, "$1"),
    busyAtStartPercent,
  };
}

// ---------------------------------------------------------------------------------------
// Processes: servers, load generator, cleanup
// ---------------------------------------------------------------------------------------

/** Everything the bench started, for cleanup; `serverCpu` once the server side is pinned. */
const started: { servers: Server[]; pids: Set<number>; loadgen?: ChildProcess; serverCpu?: string } = { servers: [], pids: new Set() };

/**
 * gridkey (dir = ROOT) or the limit worker (dir = bench/limit-worker) under `wrangler dev`,
 * through the e2e tests' launcher; it uses the wrangler.toml of the current directory, so
 * the directory is switched for the duration of the start (servers start one at a time).
 */
async function startServer(name: string, dir: string): Promise<Server> {
  // The edge rate limits (docs/protocol.md §6.1) are a policy, not a cost: every simulated
  // meter comes from 127.0.0.1 and the latency probes ask faster than a meter may, so the
  // bench measures gridkey with both off.
  // wrangler dev's local observability (on by default; X_LOCAL_OBSERVABILITY) streams every
  // trace event of the worker (each request, RPC, SQL statement) to a collector worker in the
  // same workerd: under perf (2026-12-07) it was a fifth of workerd's CPU during leaves, and
  // two limit workers side by side put a leave without it at 0.61 of its time with it. It is a
  // dev tool, not part of a deployed gridkey: off here.
  const dev = await startDevServer(BENCH_VARS, dir, { X_LOCAL_OBSERVABILITY: "false" });
  const port = Number(new URL(dev.url).port);
  const server: Server = {
    name,
    url: dev.url,
    port,
    token: dev.token,
    procs: { all: [] },
    reloads: 0,
    refresh() {
      const procs = wranglerDevProcs(port);
      const fresh = procs.all.filter((p) => !started.pids.has(p.pid));
      for (const p of fresh) started.pids.add(p.pid);
      if (started.serverCpu !== undefined && fresh.length > 0) pin(fresh.map((p) => p.pid), started.serverCpu);
      if (server.procs.runtime && procs.runtime && procs.runtime.pid !== server.procs.runtime.pid) server.reloads++;
      server.procs = procs;
      return procs;
    },
    stop: () => dev.stop(),
  };
  server.refresh();
  started.servers.push(server);
  return server;
}

function startLoadgen(): BenchContext["loadgen"] {
  const child = fork(join(BENCH, "loadgen.ts"), [], { cwd: ROOT, execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  started.loadgen = child;
  const request = <T extends LoadgenReply>(cmd: LoadgenCommand): Promise<T> =>
    new Promise<T>((resolvePromise, reject) => {
      const onMessage = (m: LoadgenReply) => {
        done();
        if (m.type === "error") reject(new Error(`load generator: ${m.message}`));
        else resolvePromise(m as T);
      };
      const onExit = (code: number | null) => {
        done();
        reject(new Error(`load generator exited (${code})`));
      };
      const done = () => {
        child.off("message", onMessage);
        child.off("exit", onExit);
      };
      child.on("message", onMessage);
      child.on("exit", onExit);
      child.send(cmd);
    });
  return { pid: child.pid!, request };
}

let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const lg = started.loadgen;
    if (lg && lg.exitCode === null && lg.signalCode === null) {
      const exited = new Promise((r) => lg.once("exit", r));
      if (lg.connected) lg.send({ type: "exit" } satisfies LoadgenCommand);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (lg.exitCode === null && lg.signalCode === null) lg.kill("SIGKILL");
    }
    await Promise.all(started.servers.map((s) => s.stop().catch(() => undefined)));
    // wrangler dev exits on SIGTERM but may take a moment; anything of ours still alive is killed by pid.
    const alive = await waitGone([...started.pids], 15_000);
    for (const pid of alive) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await waitGone(alive, 5000);
  })();
  return cleaning;
}

function shareCores(profile: Profile, servers: Server[], loadgenPid: number): CoreSharing {
  const cpus = affinity(process.pid)
    .split(",")
    .flatMap((part) => {
      const [a, b] = part.split("-").map(Number);
      return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
    })
    .filter((n) => Number.isInteger(n));
  const all = affinity(process.pid);
  if (!profile.pin || cpus.length < 2 || !canPin()) {
    return {
      pinned: false,
      serverCpus: all,
      loadgenCpus: all,
      orchestratorCpus: all,
      description: `not pinned: wrangler dev (its Node process and two workerd processes) and the load generator share CPUs ${all} as the OS schedules them`,
      short: `not pinned (CPUs ${all} shared)`,
    };
  }
  const serverCpu = String(cpus[0]);
  const loadCpu = String(cpus[1]);
  started.serverCpu = serverCpu;
  const ok = pin(servers.flatMap((s) => s.refresh().all.map((p) => p.pid)), serverCpu) && pin([loadgenPid], loadCpu) && pin([process.pid], loadCpu);
  const check = servers.flatMap((s) => [s.procs.runtime, s.procs.proxy, s.procs.wrangler]).filter((p) => p !== undefined).map((p) => affinity(p.pid));
  return {
    pinned: ok,
    serverCpus: [...new Set(check)].join(" "),
    loadgenCpus: affinity(loadgenPid),
    orchestratorCpus: affinity(process.pid),
    description:
      `pinned with taskset: CPU ${serverCpu} runs the server side (gridkey's wrangler dev: wrangler's Node process, its proxy workerd and the runtime workerd; the limit worker's, idle outside its own measurements), ` +
      `CPU ${loadCpu} runs the load generator (Node, the meter SDK) and this orchestrator (idle during windows)${ok ? "" : " (taskset refused some pins: see results.json)"}`,
    short: `server side on CPU ${serverCpu}, load generator on CPU ${loadCpu}`,
  };
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const opts = options(process.argv.slice(2));
  const t0 = performance.now();
  const log = (message: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
  process.chdir(ROOT);
  if (opts.waitIdleSeconds > 0) await waitIdle(opts.waitIdleSeconds, log);
  const benchStarted = performance.now(); // the run's own time, without any wait for quiet
  const facts = await machine();
  log(`${opts.profile.name} run on ${facts.nproc} × ${facts.cpuModel}, node ${facts.node}, wrangler ${facts.wrangler}; output to ${relative(ROOT, opts.out) || "."}`);
  if (facts.busyAtStartPercent > 10) log(`warning: other processes are using ${facts.busyAtStartPercent.toFixed(0)} % of a core: the figures will be disturbed`);

  log("starting gridkey under wrangler dev");
  const gridkey = await startServer("gridkey", ROOT);
  log(`gridkey at ${gridkey.url}; starting the limit worker (bench/limit-worker)`);
  const limit = await startServer("limit", join(BENCH, "limit-worker"));
  log(`limit worker at ${limit.url}`);
  const loadgen = startLoadgen();
  const cores = shareCores(opts.profile, [gridkey, limit], loadgen.pid);
  log(cores.description);
  if (!gridkey.procs.runtime || !gridkey.procs.proxy) log("warning: could not identify wrangler dev's workerd processes; CPU per process will be missing");

  const ctx: BenchContext = { profile: opts.profile, gridkey, limit, loadgen, cores, log };
  const sections = [];
  for (const section of SECTIONS) {
    log(`section ${section.id}: ${section.title}`);
    sections.push(await section.run(ctx));
  }
  const cpuTotal = cpuSeconds(gridkey.refresh().runtime?.pid ?? 0);
  log(`measurements done (gridkey runtime workerd used ${cpuTotal.toFixed(1)} CPU s); stopping servers`);
  await cleanup();

  const results: Results = {
    schema: RESULTS_SCHEMA,
    generatedAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    command: opts.command,
    elapsedSeconds: (performance.now() - benchStarted) / 1000,
    profile: opts.profile,
    machine: facts,
    cores,
    sections: sections.map((s) => ({ ...s, plots: s.plots.map(({ file, alt }) => ({ file, alt })) })),
    pending: PENDING,
  };
  const page = markdown(results);
  mkdirSync(join(opts.out, "bench"), { recursive: true });
  writeFileSync(join(opts.out, "benchmarks.md"), page);
  writeFileSync(join(opts.out, "bench", "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  for (const s of sections) for (const plot of s.plots) writeFileSync(join(opts.out, "bench", plot.file), plot.svg);
  process.stdout.write(`${page}\n`);
  log(`wrote ${join(opts.out, "benchmarks.md")}, ${join(opts.out, "bench", "results.json")} and ${sections.flatMap((s) => s.plots.map((p) => p.file)).join(", ")}`);
  return 0;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping everything the bench started\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    if (cleaning) return; // interrupted: the signal handler is stopping everything and exits
    process.stderr.write(`${e instanceof UsageError ? "" : "bench: "}${e instanceof Error ? (e instanceof UsageError ? e.message : (e.stack ?? e.message)) : String(e)}\n`);
    await cleanup();
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
