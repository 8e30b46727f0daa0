/**
 * Issue 6 items 3 and 4: session throughput at one concentrator against its physical limit,
 * key-delivery latency under that load, and the meter's cost per handshake.
 *
 *   a. handshakes/s through HTTP against gridkey under `wrangler dev`, N concurrent meters
 *      driven by the SDK in the load generator process;
 *   b. the physical limit: the responder's crypto per handshake in a loop inside workerd
 *      (bench/limit-worker), and gridkey's responder code without I/O; where the time goes;
 *   c. p50/p99 of the `keys` op in live sessions, idle and under each load, and of the `rekey` op
 *      one epoch behind (a DR program's view cut from the concentrator's cached bundle);
 *   d. the meter's (client's) time per handshake with the SDK in Node.
 */
import { randomBytes } from "node:crypto";
import { enroll, makeFleet } from "../lib/fleet.js";
import { type RekeyProbeSetup, setUpRekeyProbe } from "../lib/rekey-program.js";
import type { HealthResult, MeterCostResult, ThroughputResult } from "../lib/loadgen-protocol.js";
import type { BenchContext, Row, Section, SectionResult, Server, Table } from "../lib/model.js";
import { cpuBusySeconds, cpuSeconds, machineBusySeconds } from "../lib/procs.js";
import { type Figure, figure, fmt, fmtFigure, median, percentile, ratioFigure } from "../lib/stats.js";
import { lineChart } from "../lib/svg.js";

const REGION = "bench-1";
const EXPECTED_RATIO = 0.5;

/**
 * What one handshake costs the concentrator besides crypto, counted in workers/edge.ts and
 * workers/concentrator.ts (message1, message3, storeSession, serve): the bench multiplies
 * these counts by per-operation costs measured in workerd.
 */
const PER_HANDSHAKE = { httpRequests: 2, rpcCalls: 2, d1Reads: 2, storageGets: 2, storagePuts: 2 } as const;

type LimitKind = { what: string; parallel: number; msPerIteration: number; cpuMsPerIteration: number; iterations: number };

type LimitRun = {
  cryptoMs: number;
  responderMs: number;
  rpcMs: number;
  storageMs: number;
  d1Ms: number;
  /** CPU ms per iteration of the same loops (the limit worker's workerd, /proc). */
  cpu: { crypto: number; responder: number; rpc: number; storage: number; d1: number };
  /** The Concentrator's whole handshake minus HTTP, in a DO, one at a time and `parallel` at once. */
  concentrator: { serialMs: number; parallel: number; parallelMs: number; parallelCpuMs: number };
  breakdown: Record<string, number>;
};

type ProcCpu = {
  runtime: number;
  proxy: number;
  wrangler: number;
  loadgen: number;
  other: number;
  perCpu: Record<string, number>;
  /** Raw samples behind `other`: the machine's busy seconds and each of our processes' CPU seconds. */
  machine?: number;
  ours?: Record<number, number>;
};

type LevelRun = {
  concurrency: number;
  handshakesPerSecond: number;
  completed: number;
  windowMs: number;
  handshakeMs: { p50: number; p99: number; n: number };
  keysMs: number[];
  rekeyMs: number[];
  /** CPU seconds over the window, by process. */
  cpu: ProcCpu;
  loadgenEventLoopUtilization: number;
  errors: Record<string, number>;
};

type HealthRun = { concurrency: number; requestsPerSecond: number; completed: number; cpu: ProcCpu; windowMs: number; errors: number };

type RunData = { run: number; limit: LimitRun; levels: LevelRun[]; health: HealthRun; replica: HealthRun; meterCost: { clientMs: number; totalMs: number; processCpuMs: number; ecdhMs: number; samples: number } };

export const sessionsSection: Section = {
  id: "sessions",
  title: "Sessions at one concentrator: throughput, the physical limit, edge latency, the meter's cost",
  items: ["3", "4"],
  run,
};

async function run(ctx: BenchContext): Promise<SectionResult> {
  const p = ctx.profile;
  ctx.log(`limit worker: building the fixture (${p.limitMeters} registry rows)`);
  const setup = await limitSetup(ctx);

  // The pool, the keys probes, the rekey probes, the cost meter.
  const fleet = makeFleet(p.poolSize + 2 * p.probes + 1, `BENCH-${randomBytes(3).toString("hex")}`);
  const pool = fleet.slice(0, p.poolSize);
  const rekeyProbes = fleet.slice(p.poolSize + p.probes, p.poolSize + 2 * p.probes);
  ctx.log(`enrolling ${fleet.length} meters in region ${REGION} (bulk NDJSON, manufacturer-wrapped KEKs)`);
  const enrollStarted = performance.now();
  await enroll(ctx.gridkey.url, ctx.gridkey.token, REGION, fleet);
  const enrollSeconds = (performance.now() - enrollStarted) / 1000;
  await ctx.loadgen.request({ type: "init", url: ctx.gridkey.url, region: REGION, pool, probes: fleet.slice(p.poolSize, p.poolSize + p.probes), rekeyProbes, cost: fleet.at(-1)! });
  ctx.log(`rekey probe: a DR program of ${pool.length + rekeyProbes.length} fleet meters, advanced one epoch past the probes' snapshots`);
  const rekey = await setUpRekeyProbe(ctx, pool.map((m) => m.id), rekeyProbes.map((m) => m.id));

  ctx.log(`warm-up: ${p.globalWarmupMs} ms of handshakes, limit loops`);
  await ctx.loadgen.request({ type: "throughput", concurrency: Math.min(8, Math.max(...p.concurrency)), warmupMs: 0, windowMs: p.globalWarmupMs, probeIntervalMs: p.probeIntervalMs });
  await measureLimit(ctx, setup, true);
  await ctx.loadgen.request({ type: "meterCost", handshakes: 1, warmup: p.meterCost.warmup });

  const runs: RunData[] = [];
  for (let r = 0; r < p.runs; r++) {
    ctx.log(`run ${r + 1}/${p.runs}: limit`);
    const limit = await measureLimit(ctx, setup, false);
    const levels: LevelRun[] = [];
    for (const concurrency of [0, ...p.concurrency]) {
      ctx.log(`run ${r + 1}/${p.runs}: ${concurrency === 0 ? "idle (latency probes only)" : `${concurrency} concurrent meters`}`);
      levels.push(await measureLevel(ctx, concurrency));
    }
    ctx.log(`run ${r + 1}/${p.runs}: HTTP-only ceiling (GET /health) and the meter's cost`);
    const health = await measureHealth(ctx);
    ctx.log(`run ${r + 1}/${p.runs}: the Concentrator replica through HTTP (${Math.max(...p.concurrency)} concurrent, no client crypto)`);
    const replica = await measureReplica(ctx);
    const cost = await ctx.loadgen.request<MeterCostResult>({ type: "meterCost", handshakes: p.meterCost.handshakes, warmup: p.meterCost.warmup });
    runs.push({
      run: r + 1,
      limit,
      levels,
      health,
      replica,
      meterCost: { clientMs: median(cost.clientMs), totalMs: median(cost.totalMs), processCpuMs: cost.processCpuMs, ecdhMs: cost.ecdhMs, samples: cost.clientMs.length },
    });
  }
  return summarize(ctx, setup, runs, enrollSeconds, fleet.length, rekey);
}

// ---------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------

async function postJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: "POST" });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw Object.assign(new Error(`POST ${url}: HTTP ${res.status} ${JSON.stringify(json)}`), { status: res.status });
  return json;
}

/** Sets the limit worker's fixture up (again: wrangler dev reloads the worker when a source file changes). */
function limitSetup(ctx: BenchContext): Promise<{ ops: Record<string, number>; sessionSteps: string[] }> {
  return postJson(`${ctx.limit.url}/setup?meters=${ctx.profile.limitMeters}`) as Promise<{ ops: Record<string, number>; sessionSteps: string[] }>;
}

/** A limit-worker loop request; if the worker lost its fixture (reloaded), it is set up again once. */
async function limitPost(ctx: BenchContext, path: string): Promise<Record<string, unknown>> {
  try {
    return await postJson(`${ctx.limit.url}${path}`);
  } catch (e) {
    if ((e as { status?: number }).status !== 409) throw e;
    ctx.log("the limit worker was reloaded (a source file changed?): setting its fixture up again");
    limitReloads++;
    await limitSetup(ctx);
    return postJson(`${ctx.limit.url}${path}`);
  }
}

let limitReloads = 0;

/** Wall time of a request that does nothing: subtracted from every loop's outside time. */
async function limitBaseline(ctx: BenchContext): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await limitPost(ctx, "/run?what=rpc&iterations=0");
    times.push(performance.now() - started);
  }
  return median(times);
}

/**
 * One loop of `what` in the limit worker, sized to about `targetMs`, timed from outside (the
 * request's wall time minus an empty request's: workerd's own clock ticks in milliseconds and
 * stops before a Durable Object's output gate opens), with the limit workerd's CPU time.
 */
async function limitKind(ctx: BenchContext, what: string, targetMs: number, baselineMs: number, parallel = 1): Promise<LimitKind> {
  const pid = ctx.limit.procs.runtime?.pid;
  const once = async (iterations: number) => {
    const cpu0 = pid ? cpuSeconds(pid) : Number.NaN;
    const started = performance.now();
    await limitPost(ctx, `/run?what=${encodeURIComponent(what)}&iterations=${iterations}&parallel=${parallel}`);
    const ms = Math.max(0.01, performance.now() - started - baselineMs);
    return { ms, cpuMs: pid ? 1000 * (cpuSeconds(pid) - cpu0) : Number.NaN };
  };
  let iterations = Math.max(2, parallel);
  let probe = await once(iterations);
  while (probe.ms < 25 && iterations * 4 <= 100_000) {
    iterations *= 4;
    probe = await once(iterations);
  }
  const goal = Math.max(50, targetMs);
  const sized = Math.max(10, Math.min(100_000, Math.ceil((goal * iterations) / probe.ms)));
  const final = await once(sized);
  return { what, parallel, msPerIteration: final.ms / sized, cpuMsPerIteration: final.cpuMs / sized, iterations: sized };
}

async function measureLimit(ctx: BenchContext, setup: { ops: Record<string, number>; sessionSteps: string[] }, warmup: boolean): Promise<LimitRun> {
  const target = warmup ? ctx.profile.limitTargetMs / 2 : ctx.profile.limitTargetMs;
  ctx.limit.refresh();
  const base = await limitBaseline(ctx);
  const crypto = await limitKind(ctx, "crypto", target, base);
  const responder = await limitKind(ctx, "responder", target, base);
  const breakdown: Record<string, number> = {};
  for (const kind of [...Object.keys(setup.ops), ...setup.sessionSteps]) {
    breakdown[kind] = (await limitKind(ctx, `crypto:${kind}`, target / 4, base)).msPerIteration;
  }
  // Short loops whose differences are reported: the faster of two, to keep one hiccup out.
  const best = async (what: string) => {
    const [a, b] = [await limitKind(ctx, what, target / 2, base), await limitKind(ctx, what, target / 2, base)];
    return a.msPerIteration <= b.msPerIteration ? a : b;
  };
  const rpc = await best("rpc");
  const storage = await best("storage");
  const d1 = await best("d1");
  const parallel = Math.max(...ctx.profile.concurrency);
  const serial = await limitKind(ctx, "concentrator", target, base);
  const concurrent = await limitKind(ctx, "concentrator", target, base, parallel);
  return {
    cryptoMs: crypto.msPerIteration,
    responderMs: responder.msPerIteration,
    rpcMs: rpc.msPerIteration,
    storageMs: storage.msPerIteration,
    d1Ms: d1.msPerIteration,
    cpu: { crypto: crypto.cpuMsPerIteration, responder: responder.cpuMsPerIteration, rpc: rpc.cpuMsPerIteration, storage: storage.cpuMsPerIteration, d1: d1.cpuMsPerIteration },
    concentrator: { serialMs: serial.msPerIteration, parallel, parallelMs: concurrent.msPerIteration, parallelCpuMs: concurrent.cpuMsPerIteration },
    breakdown,
  };
}

function cpuNow(ctx: BenchContext, server: Server): ProcCpu {
  const s = server.procs;
  // Every process the bench started (both servers re-scanned: wrangler dev may have replaced one).
  const ours = [...ctx.gridkey.refresh().all, ...ctx.limit.refresh().all].map((p) => p.pid).concat(ctx.loadgen.pid, process.pid);
  return {
    runtime: s.runtime ? cpuSeconds(s.runtime.pid) : Number.NaN,
    proxy: s.proxy ? cpuSeconds(s.proxy.pid) : Number.NaN,
    wrangler: s.wrangler ? cpuSeconds(s.wrangler.pid) : Number.NaN,
    loadgen: cpuSeconds(ctx.loadgen.pid),
    other: 0,
    machine: machineBusySeconds(),
    ours: Object.fromEntries(ours.map((pid) => [pid, cpuSeconds(pid)])),
    perCpu: cpuBusySeconds(),
  };
}

const cpuDelta = (a: ProcCpu, b: ProcCpu): ProcCpu => ({
  runtime: b.runtime - a.runtime,
  proxy: b.proxy - a.proxy,
  wrangler: b.wrangler - a.wrangler,
  loadgen: b.loadgen - a.loadgen,
  // Ours over the window: per process, a process seen only at the end counted from 0, one seen only at the start left out.
  other: Math.max(0, (b.machine ?? 0) - (a.machine ?? 0) - Object.entries(b.ours ?? {}).reduce((sum, [pid, v]) => sum + v - ((a.ours ?? {})[Number(pid)] ?? 0), 0)),
  perCpu: Object.fromEntries(Object.entries(b.perCpu).map(([cpu, v]) => [cpu, v - (a.perCpu[cpu] ?? 0)])),
});

/** Runs a load command while sampling every process's CPU time at the window's edges. */
async function withCpu<T>(ctx: BenchContext, warmupMs: number, windowMs: number, load: () => Promise<T>, server = ctx.gridkey): Promise<{ result: T; cpu: ProcCpu }> {
  server.refresh();
  let start: ProcCpu | undefined;
  let end: ProcCpu | undefined;
  const t1 = setTimeout(() => (start = cpuNow(ctx, server)), warmupMs);
  const t2 = setTimeout(() => (end = cpuNow(ctx, server)), warmupMs + windowMs);
  const result = await load();
  clearTimeout(t1);
  clearTimeout(t2);
  start ??= cpuNow(ctx, server);
  end ??= cpuNow(ctx, server);
  return { result, cpu: cpuDelta(start, end) };
}

async function measureLevel(ctx: BenchContext, concurrency: number): Promise<LevelRun> {
  const p = ctx.profile;
  const warmupMs = concurrency === 0 ? Math.min(300, p.warmupMs) : p.warmupMs;
  const windowMs = concurrency === 0 ? p.idleWindowMs : p.windowMs;
  const { result, cpu } = await withCpu(ctx, warmupMs, windowMs, () =>
    ctx.loadgen.request<ThroughputResult>({ type: "throughput", concurrency, warmupMs, windowMs, probeIntervalMs: p.probeIntervalMs }),
  );
  return {
    concurrency,
    handshakesPerSecond: result.completed / (windowMs / 1000),
    completed: result.completed,
    windowMs,
    handshakeMs: { p50: percentile(result.handshakeMs, 50), p99: percentile(result.handshakeMs, 99), n: result.handshakeMs.length },
    keysMs: result.keysMs,
    rekeyMs: result.rekeyMs,
    cpu,
    loadgenEventLoopUtilization: result.eventLoopUtilization,
    errors: result.errors,
  };
}

/** The limit worker's Concentrator replica through wrangler dev's HTTP, by a client without crypto. */
async function measureReplica(ctx: BenchContext): Promise<HealthRun> {
  const concurrency = Math.max(...ctx.profile.concurrency);
  const { warmupMs, windowMs } = ctx.profile;
  const { result, cpu } = await withCpu(ctx, warmupMs, windowMs, () => ctx.loadgen.request<HealthResult>({ type: "replica", url: ctx.limit.url, concurrency, warmupMs, windowMs }), ctx.limit);
  return { concurrency, requestsPerSecond: result.completed / (windowMs / 1000), completed: result.completed, cpu, windowMs, errors: result.errors };
}

async function measureHealth(ctx: BenchContext): Promise<HealthRun> {
  const { concurrency, windowMs } = ctx.profile.health;
  const warmupMs = 300;
  const { result, cpu } = await withCpu(ctx, warmupMs, windowMs, () => ctx.loadgen.request<HealthResult>({ type: "health", concurrency, warmupMs, windowMs }));
  return { concurrency, requestsPerSecond: result.completed / (windowMs / 1000), completed: result.completed, cpu, windowMs, errors: result.errors };
}

// ---------------------------------------------------------------------------------------
// Summary: rows, tables, plot, notes
// ---------------------------------------------------------------------------------------

const pct = (cpuSec: number, windowMs: number) => (100 * cpuSec) / (windowMs / 1000);

function summarize(ctx: BenchContext, setup: { ops: Record<string, number>; sessionSteps: string[] }, runs: RunData[], enrollSeconds: number, enrolled: number, rekey: RekeyProbeSetup): SectionResult {
  const p = ctx.profile;
  const limitHps = runs.map((r) => 1000 / r.limit.cryptoMs);
  const responderHps = runs.map((r) => 1000 / r.limit.responderMs);
  const levelsOf = (n: number) => runs.map((r) => r.levels.find((l) => l.concurrency === n)!);
  const concurrencies = p.concurrency;

  const perLevel = [0, ...concurrencies].map((n) => {
    const ls = levelsOf(n);
    const hps = ls.map((l) => l.handshakesPerSecond);
    const keysAll = ls.flatMap((l) => l.keysMs);
    const rekeyAll = ls.flatMap((l) => l.rekeyMs);
    const errors: Record<string, number> = {};
    for (const l of ls) for (const [k, v] of Object.entries(l.errors)) errors[k] = (errors[k] ?? 0) + v;
    const perHandshake = (sel: (c: ProcCpu) => number) => figure(ls.map((l) => (l.completed > 0 ? (1000 * sel(l.cpu)) / l.completed : Number.NaN)), "ms");
    return {
      concurrency: n,
      handshakesPerSecond: figure(hps, "handshakes/s"),
      ratioToLimit: ratioFigure(hps, limitHps),
      ratioToResponder: ratioFigure(hps, responderHps),
      handshakeP50: figure(ls.map((l) => l.handshakeMs.p50), "ms"),
      handshakeP99: figure(ls.map((l) => l.handshakeMs.p99), "ms"),
      keysP50: figure(ls.map((l) => percentile(l.keysMs, 50)), "ms"),
      keysP99: figure(ls.map((l) => percentile(l.keysMs, 99)), "ms"),
      keysPooled: { p50: percentile(keysAll, 50), p99: percentile(keysAll, 99), samples: keysAll.length },
      rekeyP50: figure(ls.map((l) => percentile(l.rekeyMs, 50)), "ms"),
      rekeyP99: figure(ls.map((l) => percentile(l.rekeyMs, 99)), "ms"),
      rekeyPooled: { p50: percentile(rekeyAll, 50), p99: percentile(rekeyAll, 99), samples: rekeyAll.length },
      cpuPercent: {
        runtime: figure(ls.map((l) => pct(l.cpu.runtime, l.windowMs)), "%"),
        proxy: figure(ls.map((l) => pct(l.cpu.proxy, l.windowMs)), "%"),
        wrangler: figure(ls.map((l) => pct(l.cpu.wrangler, l.windowMs)), "%"),
        loadgen: figure(ls.map((l) => pct(l.cpu.loadgen, l.windowMs)), "%"),
        other: figure(ls.map((l) => pct(l.cpu.other, l.windowMs)), "%"),
      },
      /** How busy each CPU was (all processes, /proc/stat), % of that CPU. */
      cpuBusyPercent: Object.fromEntries(Object.keys(ls[0]!.cpu.perCpu).map((cpu) => [cpu, figure(ls.map((l) => pct(l.cpu.perCpu[cpu] ?? Number.NaN, l.windowMs)), "%")])),
      cpuMsPerHandshake: { runtime: perHandshake((c) => c.runtime), proxy: perHandshake((c) => c.proxy), wrangler: perHandshake((c) => c.wrangler), loadgen: perHandshake((c) => c.loadgen) },
      loadgenEventLoopUtilization: figure(ls.map((l) => l.loadgenEventLoopUtilization), "ratio"),
      errors,
    };
  });
  const loaded = perLevel.filter((l) => l.concurrency > 0);
  const best = loaded.reduce((a, b) => (b.handshakesPerSecond.median > a.handshakesPerSecond.median ? b : a));
  const idle = perLevel[0]!;
  const bestRuns = levelsOf(best.concurrency).map((l) => l.handshakesPerSecond);

  const limit = figure(limitHps, "handshakes/s");
  const responder = figure(responderHps, "handshakes/s");
  const ratio = ratioFigure(bestRuns, limitHps);
  const cryptoMs = figure(runs.map((r) => r.limit.cryptoMs), "ms");
  const clientMs = figure(runs.map((r) => r.meterCost.clientMs), "ms");

  const rows: Row[] = [
    {
      item: "3",
      measure: `Session throughput at one concentrator, best of N (N=${best.concurrency} concurrent meters), complete handshakes/s`,
      gridkey: best.handshakesPerSecond,
      comparison: { label: "physical limit: the responder's crypto per handshake, in a loop in workerd (1 core)", value: limit },
      ratio,
      expected: `ratio ≥ ${EXPECTED_RATIO}`,
      verdict: ratio.median >= EXPECTED_RATIO ? "meets" : "misses",
    },
    {
      item: "3",
      measure: `Same throughput (N=${best.concurrency}) vs gridkey's own responder code without I/O`,
      gridkey: best.handshakesPerSecond,
      comparison: { label: "EdhocResponder + session layer + custody seal, in a loop in workerd (1 core)", value: responder },
      ratio: ratioFigure(bestRuns, responderHps),
    },
    {
      item: "3",
      measure: `Same throughput (N=${best.concurrency}) vs the Concentrator's whole handshake minus HTTP (RPC, storage, D1, crypto in a DO, ${Math.max(...concurrencies)} at once)`,
      gridkey: best.handshakesPerSecond,
      comparison: { label: "the same work in the limit worker's DO, no HTTP", value: figure(runs.map((r) => 1000 / r.limit.concentrator.parallelMs), "handshakes/s") },
      ratio: ratioFigure(bestRuns, runs.map((r) => 1000 / r.limit.concentrator.parallelMs)),
    },
    {
      item: "3",
      measure: `Same throughput (N=${best.concurrency}) vs that Concentrator work reached through wrangler dev's HTTP by clients without crypto (${Math.max(...concurrencies)} at once)`,
      gridkey: best.handshakesPerSecond,
      comparison: { label: "limit worker replica, two POSTs per handshake", value: figure(runs.map((r) => r.replica.requestsPerSecond), "handshakes/s") },
      ratio: ratioFigure(bestRuns, runs.map((r) => r.replica.requestsPerSecond)),
    },
    {
      item: "4",
      measure: `Key delivery (keys op in a live session) p50 under load (N=${best.concurrency}), ms`,
      gridkey: best.keysP50,
      comparison: { label: "same, idle (no handshake load)", value: idle.keysP50 },
      ratio: ratioFigure(best.keysP50.runs, idle.keysP50.runs),
    },
    {
      item: "4",
      measure: `Key delivery p99 under load (N=${best.concurrency}), ms`,
      gridkey: best.keysP99,
      comparison: { label: "same, idle", value: idle.keysP99 },
      ratio: ratioFigure(best.keysP99.runs, idle.keysP99.runs),
    },
    {
      item: "4",
      measure: `Rekey fetch one epoch behind (rekey op in a live session, view cut from the concentrator's cached bundle, applied by the SDK) p50 under load (N=${best.concurrency}), ms`,
      gridkey: best.rekeyP50,
      comparison: { label: "same, idle (no handshake load)", value: idle.rekeyP50 },
      ratio: ratioFigure(best.rekeyP50.runs, idle.rekeyP50.runs),
    },
    {
      item: "4",
      measure: `Rekey fetch p99 under load (N=${best.concurrency}), ms`,
      gridkey: best.rekeyP99,
      comparison: { label: "same, idle", value: idle.rekeyP99 },
      ratio: ratioFigure(best.rekeyP99.runs, idle.rekeyP99.runs),
    },
    {
      item: "3",
      measure: "Meter's cost per handshake: the SDK (noble) in Node, client side only, ms",
      gridkey: clientMs,
      comparison: { label: "the concentrator's crypto per handshake (WebCrypto in workerd), ms", value: cryptoMs },
      ratio: ratioFigure(clientMs.runs, cryptoMs.runs),
    },
  ];

  const tables: Table[] = [];
  tables.push({
    title: "Throughput and latency vs concurrency (one concentrator, region bench-1)",
    columns: ["N meters", "handshakes/s", "÷ limit", "handshake p50 / p99 (ms)", "keys p50 / p99 (ms)", "rekey p50 / p99 (ms)", "CPU % of a core: runtime · proxy · wrangler · loadgen · other", "busy % per CPU", "errors"],
    rows: perLevel.map((l) => [
      l.concurrency === 0 ? "0 (idle)" : String(l.concurrency),
      l.concurrency === 0 ? "–" : fmtFigure(l.handshakesPerSecond, ""),
      l.concurrency === 0 ? "–" : fmtFigure(l.ratioToLimit),
      l.concurrency === 0 ? "–" : `${fmtFigure(l.handshakeP50, "")} / ${fmtFigure(l.handshakeP99, "")}`,
      `${fmtFigure(l.keysP50, "")} / ${fmtFigure(l.keysP99, "")} (n=${l.keysPooled.samples})`,
      `${fmtFigure(l.rekeyP50, "")} / ${fmtFigure(l.rekeyP99, "")} (n=${l.rekeyPooled.samples})`,
      [l.cpuPercent.runtime, l.cpuPercent.proxy, l.cpuPercent.wrangler, l.cpuPercent.loadgen, l.cpuPercent.other].map((f) => fmt(f.median, 2)).join(" · "),
      Object.entries(l.cpuBusyPercent).map(([cpu, f]) => `${cpu}: ${fmt(f.median, 2)}`).join(" · "),
      Object.keys(l.errors).length === 0 ? "0" : Object.entries(l.errors).map(([k, v]) => `${k} ×${v}`).join(", "),
    ]),
    note:
      "Cells are median [min–max] over runs; keys latencies are per-run percentiles (n = samples over all runs). CPU columns are medians: runtime = the workerd running gridkey " +
      "(worker, Concentrator DO, D1), proxy = wrangler dev's proxy workerd, wrangler = its Node process, loadgen = the load generator, other = every process the bench did not start.",
  });

  const kinds = [...Object.keys(setup.ops), ...setup.sessionSteps];
  const breakdownUs = Object.fromEntries(kinds.map((k) => [k, figure(runs.map((r) => 1000 * r.limit.breakdown[k]!), "µs")]));
  const sumParts = figure(runs.map((r) => 1000 * kinds.reduce((s, k) => s + r.limit.breakdown[k]!, 0)), "µs");
  const label: Record<string, string> = {
    generateKeyPair: "ephemeral key pair (P-256)",
    ecdh: "ECDH P-256 (G_XY, G_RX, G_IY)",
    hash: "SHA-256 (H(message_1), TH_2, TH_3, TH_4)",
    hkdfExtract: "HKDF-Extract",
    hkdfExpand: "HKDF-Expand (keystream, MACs, K_3/IV_3, PRK_out, exporter ×4)",
    "aeadDecrypt-ccm": "AES-CCM-16-64-128 open of message_3",
    randomBytes: "random bytes (C_R)",
    "gcm-open": "AES-128-GCM open of the request on message_3",
    "gcm-seal": "AES-128-GCM seal of its response",
    "custody-seal": "custody seal of the session keys (AES-256-GCM)",
  };
  tables.push({
    title: "The physical limit: the responder's crypto per handshake, in workerd",
    columns: ["operation", "calls per handshake", "µs per handshake"],
    rows: [
      ...kinds.map((k) => [label[k] ?? k, String(setup.ops[k] ?? 1), fmtFigure(breakdownUs[k]!, "")]),
      ["sum of the parts (each timed alone)", "", fmtFigure(sumParts, "")],
      ["all of it in one loop: the limit", "", `${fmtFigure(figure(cryptoMs.runs.map((v) => v * 1000), "µs"), "")} → ${fmtFigure(limit, "handshakes/s")}`],
      ["gridkey's responder code, no I/O", "", `${fmtFigure(figure(runs.map((r) => r.limit.responderMs * 1000), "µs"), "")} → ${fmtFigure(responder, "handshakes/s")}`],
    ],
    note: "Calls per handshake are what gridkey's responder actually made in one recorded handshake (the replayed calls), plus the session layer's three steps.",
  });

  // Where the time goes at the best N: measured CPU by process, and a cost model from workerd.
  const ms = (f: Figure) => fmtFigure(f, "");
  const each = (sel: (r: RunData, i: number) => number) => figure(runs.map(sel), "ms");
  const times = (f: Figure, n: number) => figure(f.runs.map((v) => v * n), f.unit);
  const healthCpuPerReq = (sel: (c: ProcCpu) => number) => each((r) => (r.health.completed > 0 ? (1000 * sel(r.health.cpu)) / r.health.completed : Number.NaN));
  const httpCpu = healthCpuPerReq((c) => c.runtime + c.proxy);
  const part = {
    responder: { wall: each((r) => r.limit.responderMs), cpu: each((r) => r.limit.cpu.responder) },
    rpc: { wall: each((r) => r.limit.rpcMs / 2), cpu: each((r) => r.limit.cpu.rpc / 2) },
    // Differences of two loops, floored at 0 (noise can make a small difference negative).
    storage: { wall: each((r) => Math.max(0, r.limit.storageMs - r.limit.rpcMs)), cpu: each((r) => Math.max(0, r.limit.cpu.storage - r.limit.cpu.rpc)) },
    d1: { wall: each((r) => Math.max(0, r.limit.d1Ms - r.limit.rpcMs / 2)), cpu: each((r) => Math.max(0, r.limit.cpu.d1 - r.limit.cpu.rpc / 2)) },
  };
  const modelCpu = figure(
    runs.map(
      (_, i) =>
        part.responder.cpu.runs[i]! +
        PER_HANDSHAKE.rpcCalls * part.rpc.cpu.runs[i]! +
        part.storage.cpu.runs[i]! +
        PER_HANDSHAKE.d1Reads * part.d1.cpu.runs[i]! +
        PER_HANDSHAKE.httpRequests * httpCpu.runs[i]!,
    ),
    "ms",
  );
  const measuredServer = figure(
    levelsOf(best.concurrency).map((l) => (l.completed > 0 ? (1000 * (l.cpu.runtime + l.cpu.proxy)) / l.completed : Number.NaN)),
    "ms",
  );
  const parallel = runs[0]!.limit.concentrator.parallel;
  const doSerial = each((r) => r.limit.concentrator.serialMs);
  const doParallel = each((r) => r.limit.concentrator.parallelMs);
  const doParallelCpu = each((r) => r.limit.concentrator.parallelCpuMs);
  const doHps = figure(runs.map((r) => 1000 / r.limit.concentrator.parallelMs), "handshakes/s");
  const replicaHps = figure(runs.map((r) => r.replica.requestsPerSecond), "handshakes/s");
  const busy = Object.entries(best.cpuBusyPercent).map(([cpu, f]) => `CPU ${cpu} ${fmt(f.median, 2)} %`).join(", ");
  tables.push({
    title: `Where the time goes: one handshake, ms (under load: N=${best.concurrency})`,
    columns: ["part", "per handshake", "wall ms each", "CPU ms each", "CPU ms per handshake"],
    rows: [
      ["responder code + crypto (workerd, no I/O)", "1", ms(part.responder.wall), ms(part.responder.cpu), ms(part.responder.cpu)],
      ["edge → Concentrator Durable Object RPC", String(PER_HANDSHAKE.rpcCalls), ms(part.rpc.wall), ms(part.rpc.cpu), ms(times(part.rpc.cpu, PER_HANDSHAKE.rpcCalls))],
      [`DO storage (${PER_HANDSHAKE.storageGets} gets, ${PER_HANDSHAKE.storagePuts} puts)`, "1 set", ms(part.storage.wall), ms(part.storage.cpu), ms(part.storage.cpu)],
      ["D1 registry read (drizzle, by system title / by id)", String(PER_HANDSHAKE.d1Reads), ms(part.d1.wall), ms(part.d1.cpu), ms(times(part.d1.cpu, PER_HANDSHAKE.d1Reads))],
      [`HTTP request through wrangler dev (proxy + runtime CPU per GET /health at ${p.health.concurrency} concurrent)`, String(PER_HANDSHAKE.httpRequests), "", ms(httpCpu), ms(times(httpCpu, PER_HANDSHAKE.httpRequests))],
      ["**model: sum of the parts**", "", "", "", ms(modelCpu)],
      [`the Concentrator's handshake minus HTTP, in a DO, one at a time`, "", ms(doSerial), "", ""],
      [`the same, ${parallel} at once → ${fmtFigure(doHps, "handshakes/s")}`, "", ms(doParallel), "", ms(doParallelCpu)],
      [
        `the same two requests through wrangler dev's HTTP (limit worker, ${runs[0]!.replica.concurrency} clients without crypto) → ${fmtFigure(replicaHps, "handshakes/s")}`,
        "",
        ms(figure(replicaHps.runs.map((v) => 1000 / v), "ms")),
        "",
        ms(each((r) => (r.replica.completed > 0 ? (1000 * (r.replica.cpu.runtime + r.replica.cpu.proxy)) / r.replica.completed : Number.NaN))),
      ],
      [`**measured under load**: runtime + proxy workerd CPU per handshake (${busy})`, "", "", "", ms(measuredServer)],
      ["  of which the runtime workerd (gridkey, its DO, D1)", "", "", "", ms(best.cpuMsPerHandshake.runtime)],
      ["  of which wrangler's proxy workerd", "", "", "", ms(best.cpuMsPerHandshake.proxy)],
      ["the meter side: load generator CPU per handshake (SDK + Node HTTP)", "", "", "", ms(best.cpuMsPerHandshake.loadgen)],
      ["the physical limit (crypto only)", "", ms(cryptoMs), "", ms(each((r) => r.limit.cpu.crypto))],
    ],
    note:
      "Per-handshake counts are read from workers/edge.ts and workers/concentrator.ts (message_1: C_R uniqueness get; message_3: registry read, session-index get, " +
      "session + index put, counter put, meter read in serve). Per-operation costs are measured in the limit worker's own workerd (its DO, its D1 with gridkey's " +
      "schema, local storage as wrangler dev keeps it), wall time from outside and CPU time of that workerd from /proc; the HTTP cost is the server CPU per " +
      `GET /health under ${p.health.concurrency} concurrent clients (${ms(figure(runs.map((r) => r.health.requestsPerSecond), "req/s"))} req/s).`,
  });

  tables.push({
    title: "The meter's cost per handshake (SDK in Node, sequential handshakes by one meter)",
    columns: ["figure", "ms per handshake"],
    rows: [
      ["client side only: connect() minus time waiting on fetch (noble EDHOC, CBOR, AES-GCM)", ms(clientMs)],
      ["whole connect() including both HTTP round trips", ms(figure(runs.map((r) => r.meterCost.totalMs), "ms"))],
      ["process CPU (SDK + Node's HTTP client)", ms(figure(runs.map((r) => r.meterCost.processCpuMs), "ms"))],
      ["one P-256 ECDH with the SDK's provider (noble; a handshake makes three)", ms(figure(runs.map((r) => r.meterCost.ecdhMs), "ms"))],
    ],
    note: `${p.meterCost.handshakes} handshakes per run after ${p.meterCost.warmup} warm-up handshakes; the concentrator credential is cached (its ES256 check is once per credential, not per handshake).`,
  });

  const svg = lineChart({
    title: "gridkey: EDHOC handshakes/s at one concentrator vs concurrent meters",
    subtitle: `wrangler dev, ${ctx.cores.short}; ${p.runs} run(s), median with min–max`,
    xLabel: "concurrent meters (N)",
    yLabel: "complete handshakes per second (log scale)",
    xLog: true,
    yLog: true,
    series: [
      { name: "gridkey under wrangler dev", points: loaded.map((l) => ({ x: l.concurrency, y: l.handshakesPerSecond.median, yMin: l.handshakesPerSecond.min, yMax: l.handshakesPerSecond.max })) },
      { name: `HTTP-only ceiling: ½ × GET /health req/s (N=${p.health.concurrency})`, dashed: true, points: [{ x: p.health.concurrency, y: median(runs.map((r) => r.health.requestsPerSecond)) / 2 }] },
      {
        name: "Concentrator work in a DO, no HTTP",
        points: [{ x: Math.max(...concurrencies), y: median(runs.map((r) => 1000 / r.limit.concentrator.parallelMs)), yMin: Math.min(...runs.map((r) => 1000 / r.limit.concentrator.parallelMs)), yMax: Math.max(...runs.map((r) => 1000 / r.limit.concentrator.parallelMs)) }],
      },
      {
        name: "same via wrangler dev HTTP, no client crypto",
        points: [{ x: Math.max(...concurrencies), y: median(runs.map((r) => r.replica.requestsPerSecond)), yMin: Math.min(...runs.map((r) => r.replica.requestsPerSecond)), yMax: Math.max(...runs.map((r) => r.replica.requestsPerSecond)) }],
      },
    ],
    refLines: [
      { y: limit.median, label: `physical limit (crypto only): ${fmt(limit.median)}/s`, color: "#222222" },
      { y: responder.median, label: `responder code, no I/O: ${fmt(responder.median)}/s`, color: "#8c564b" },
      { y: EXPECTED_RATIO * limit.median, label: `expected ≥ ${EXPECTED_RATIO} × limit: ${fmt(EXPECTED_RATIO * limit.median)}/s`, color: "#ff7f0e" },
    ],
  });

  const totalErrors = perLevel.reduce((s, l) => s + Object.values(l.errors).reduce((a, b) => a + b, 0), 0);
  const notes: string[] = [];
  if (ratio.median < EXPECTED_RATIO) {
    notes.push(
      `Throughput misses the expected ${EXPECTED_RATIO} × limit: ${fmt(ratio.median, 2)} × (${fmt(best.handshakesPerSecond.median)} of ${fmt(limit.median)} handshakes/s, ` +
        `${fmt(EXPECTED_RATIO / ratio.median, 2)}× short). The server side spends ${fmt(measuredServer.median)} ms of CPU per handshake under load against ` +
        `${fmt(cryptoMs.median)} ms of crypto: see "Where the time goes".`,
    );
    const needed = 1000 / (EXPECTED_RATIO * limit.median);
    const d1Share = 100 * (PER_HANDSHAKE.d1Reads * part.d1.cpu.median) / modelCpu.median;
    const httpShare = 100 * (PER_HANDSHAKE.httpRequests * httpCpu.median) / modelCpu.median;
    notes.push(
      `To reach ${EXPECTED_RATIO} × the limit (${fmt(EXPECTED_RATIO * limit.median)} handshakes/s on one server core) the server side could spend at most ${fmt(needed)} ms of CPU per handshake, ` +
        `crypto included. Under wrangler dev the two HTTP requests alone cost ${fmt(PER_HANDSHAKE.httpRequests * httpCpu.median)} ms (${fmt(httpShare, 2)} % of the model) and the two D1 ` +
        `registry reads ${fmt(PER_HANDSHAKE.d1Reads * part.d1.cpu.median)} ms (${fmt(d1Share, 2)} %); the same Concentrator work without HTTP reaches ${fmt(doHps.median)} handshakes/s ` +
        `with ${parallel} at once, and ${fmt(replicaHps.median)}/s through wrangler dev's HTTP with clients that do no crypto.`,
    );
  } else {
    notes.push(`Throughput reaches ${fmt(ratio.median, 2)} × the physical limit (expected ≥ ${EXPECTED_RATIO}).`);
  }
  const loadgenMs = best.cpuMsPerHandshake.loadgen.median;
  const ecdhMs = median(runs.map((r) => r.meterCost.ecdhMs));
  notes.push(
    `The load generator is a ceiling too: the SDK costs the meter side ${fmt(loadgenMs)} ms of CPU per handshake under load (three noble P-256 ECDH at ${fmt(ecdhMs)} ms each ` +
      `in Node on this CPU, against ${fmt(median(runs.map((r) => r.limit.breakdown.ecdh!)) * 1000 / 3)} µs each in workerd's native WebCrypto), so its one core can drive at most ` +
      `~${fmt(1000 / loadgenMs)} handshakes/s; the server side, at ${fmt(measuredServer.median)} ms per handshake, at most ~${fmt(1000 / measuredServer.median)}/s on its core.`,
  );
  const busyAtBest = Object.values(best.cpuBusyPercent).map((f) => f.median);
  if (ctx.cores.pinned && busyAtBest.every((b) => b < 85)) {
    const serial = 1000 / (loadgenMs + measuredServer.median);
    const overlapped = 1000 / Math.max(loadgenMs, measuredServer.median);
    notes.push(
      `At N=${best.concurrency} neither CPU is saturated (${Object.entries(best.cpuBusyPercent).map(([c, f]) => `CPU ${c} ${fmt(f.median, 2)} %`).join(", ")}) while handshakes wait ` +
        `${fmt(best.handshakeP50.median)} ms (p50): the meter side and the server side overlap only partly. Taking strict turns, ${fmt(loadgenMs)} + ${fmt(measuredServer.median)} ms ` +
        `per handshake would give ${fmt(serial)} handshakes/s; overlapping fully, the busier side would allow ${fmt(overlapped)}/s; measured ${fmt(best.handshakesPerSecond.median)}. ` +
        `The bench does not isolate why.`,
    );
  }
  const otherMax = Math.max(...perLevel.map((l) => l.cpuPercent.other.max));
  if (otherMax > 5) notes.push(`Processes the bench did not start used up to ${fmt(otherMax, 2)} % of a core during some windows (column "other"): those figures are disturbed by that much.`);
  ctx.gridkey.refresh();
  if (limitReloads > 0) notes.push(`The limit worker was reloaded ${limitReloads} time(s) during the run (a source file changed) and set up again.`);
  if (ctx.gridkey.reloads > 0) notes.push(`wrangler dev reloaded gridkey ${ctx.gridkey.reloads} time(s) during the run (a source file changed): windows spanning a reload are disturbed.`);
  if (totalErrors > 0) notes.push(`Errors during the windows: ${totalErrors} (see the errors column).`);

  const method = [
    `**Server**: gridkey under \`wrangler dev\` (test/e2e/wrangler-dev.ts: own port, state directory and fresh secrets), region \`${REGION}\`, one Concentrator Durable Object. ${enrolled} meters enrolled first with one bulk NDJSON upload (KEKs wrapped under an imported manufacturer transport key; ${fmt(enrollSeconds, 2)} s).`,
    `**Load generator**: a separate Node process (bench/loadgen.ts) running the SDK's \`MeterClient\`: each of N workers takes the next free meter of a pool of ${p.poolSize}, runs \`close()\` + \`connect()\` (EDHOC message_1/2/3 with a ping riding on message_3, verified response) and repeats. All clients share one verified concentrator credential.`,
    `**Throughput (a)**: handshakes completed inside a ${p.windowMs / 1000} s window after ${p.warmupMs / 1000} s of warm-up at the same N, per N in ${p.concurrency.join(", ")}; ${p.runs} run(s) after a global warm-up of ${p.globalWarmupMs / 1000} s; median [min–max] over runs.`,
    `**Physical limit (b)**: bench/limit-worker (its own \`wrangler dev\`, a bench-only config; the production worker has no bench route). One real handshake (noble initiator, gridkey's WebCrypto responder) is recorded call by call; the loop replays the responder's calls with their inputs (ephemeral key pair, 3 × ECDH, hashes, HKDF, AES-CCM), then the session layer's exporter, AES-GCM open and seal and the custody seal. Iterations sized to ~${p.limitTargetMs} ms, once per run, with gridkey idle; timed from outside (the request's wall time minus an empty request's). The ratio is computed per run (same run) and reported as median [min–max].`,
    `**Edge latency (c)**: ${p.probes} probe meter(s) with live sessions call \`fetchKeys()\` (the \`keys\` op: D1 key rows, unseal, RFC 3394 wraps under the KEK) every ${p.probeIntervalMs} ms during each window, on top of the handshake load; round trip as the meter sees it. Idle = the same with no handshake load (${p.idleWindowMs / 1000} s window).`,
    `**Rekey fetch (c)**: a DR program (degree 4, immediate) of ${rekey.members} fleet meters (the handshake pool and ${p.probes} rekey probe meter(s)); each probe took a signed snapshot of its path at epoch ${rekey.heldEpoch}, then one pool member was removed (epoch ${rekey.epoch}: ${rekey.wraps} wraps). ${rekey.announced ? `The concentrator announced epoch ${rekey.epoch} on its WebSocket ${fmt(rekey.announcedMs ?? Number.NaN)} ms after the change: it holds that bundle, so every fetch one epoch behind with the leaf is cut from its cache without asking the key graph.` : "The concentrator's announcement of the new epoch was not heard within 10 s: the cache hit is not confirmed."} During each window each probe restores its keys from the snapshot (not timed), then times \`request("rekey", {program, epoch, leaf})\` and \`GroupKeys.apply\` of the view (ES256 header check, Merkle proofs, unwraps), and checks it reaches the new group key; every ${p.probeIntervalMs} ms, beside the keys probes.`,
    `**Meter cost (d)**: one meter runs ${p.meterCost.handshakes} sequential \`connect()\` per run with a fetch wrapper that times each request until its body is read; client ms = connect() time minus time inside fetch.`,
    `**Where the time goes**: CPU seconds per process from /proc over each window; per-operation costs of DO RPC, DO storage and D1 reads measured in the limit worker's own Durable Object and D1 (gridkey's schema, ${p.limitMeters} rows).`,
  ];

  return {
    id: "sessions",
    title: sessionsSection.title,
    items: sessionsSection.items,
    rows,
    tables,
    plots: [{ file: "throughput.svg", alt: "handshakes per second vs concurrent meters, with the physical limit", svg }],
    method,
    notes,
    raw: {
      region: REGION,
      enrolledMeters: enrolled,
      rekeyProbe: rekey,
      enrollSeconds,
      perHandshakeCounts: PER_HANDSHAKE,
      recordedResponderOps: setup.ops,
      sessionSteps: setup.sessionSteps,
      bestConcurrency: best.concurrency,
      summary: {
        limitHandshakesPerSecond: limit,
        responderHandshakesPerSecond: responder,
        ratioAtBest: ratio,
        cryptoMsPerHandshake: cryptoMs,
        meterClientMsPerHandshake: clientMs,
        modelServerCpuMsPerHandshake: modelCpu,
        concentratorMinusHttpHandshakesPerSecond: figure(runs.map((r) => 1000 / r.limit.concentrator.parallelMs), "handshakes/s"),
        measuredServerCpuMsPerHandshake: measuredServer,
      },
      levels: perLevel.map((l) => ({ ...l })),
      runs: runs.map((r) => ({
        ...r,
        levels: r.levels.map(({ keysMs, rekeyMs, ...rest }) => ({
          ...rest,
          keys: { p50: percentile(keysMs, 50), p99: percentile(keysMs, 99), samples: keysMs.length },
          rekey: { p50: percentile(rekeyMs, 50), p99: percentile(rekeyMs, 99), samples: rekeyMs.length },
        })),
      })),
    },
  };
}
