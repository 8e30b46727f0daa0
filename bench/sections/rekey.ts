/**
 * Issue 6 items 1 and 2: what a group rekey costs gridkey's KeyGraph (wraps and bytes
 * multicast, time in the Durable Object) for joins, leaves and 1 % batches at growing n and
 * degrees 2, 4, 8, against flat rekeying (measured in the same DO as a one-level tree), the
 * LKH bound and MLS (ts-mls, bench/mls); and what processing one rekey costs a member.
 *
 * The KeyGraph is gridkey's class, unchanged, in the limit worker's workerd with its real
 * SQLite storage, D1 (gridkey's schema) and a real Concentrator it pushes bundles to
 * (bench/limit-worker/graph.ts). Member cost runs the SDK's GroupKeys in this process on a
 * snapshot and a view the graph produced for a registered member (the observer, leaf 0).
 */
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { type EpochResult, graphPost, hexBytes, memberUpdate, requestBaseline, type Setup, timedOps, timedPart } from "../lib/graph-client.js";
import { memberCost, heldAfterSnapshot, type MemberCost } from "../lib/member-cost.js";
import { ensureMls, type MlsRun, runMls } from "../lib/mls.js";
import type { BenchContext, Section, SectionResult } from "../lib/model.js";
import { rekeyReport } from "./rekey-report.js";

const BENCH = dirname(dirname(fileURLToPath(import.meta.url)));
/** The observer (registered meter, leaf 0) and its sibling (leaf 1): never picked at random. */
const OBSERVER = "g0";
const SIBLING = "g1";

export type OpRun = { msPerOp: number; cpuMsPerOp: number; wraps: number[]; forwards: number[]; bytes: number[] };
export type BatchRun = { leaving: number; joining: number; ms: number; cpuMs: number; wraps: number; forwards: number; bytes: number; sumOfSingles: number };
export type SizeData = {
  n: number;
  degree: number;
  buildSeconds: number;
  buildJoins: number;
  /** `probe`: the host probe's time, just before this run's operations (PROBE_ITERATIONS). */
  runs: { probe: { ms: number; cpuMs: number }; leave: OpRun; join: OpRun; batch?: BatchRun }[];
  member: MemberCost[];
  heldKeys: number;
  errors: string[];
};
export type FlatData = { n: number; buildSeconds: number; runs: OpRun[]; errors: string[] };
/** Per run, per iteration: the epoch's signing step and its push to the concentrator, measured alone. */
export type PartsData = { sign: { ms: number; cpuMs: number }[]; push: { ms: number; cpuMs: number }[]; iterations: number; pushBytes: number };
export type CoverRow = { label: string; m: number; layout: string; firstEpochWraps: number; coverLeaveWraps: number[]; treeLeaveWraps: number[]; coverLeaveBytes: number[]; treeLeaveBytes: number[] };
export type CoverData = { n: number; degree: number; rows: CoverRow[] } | { error: string };
export type RekeyData = { baselineMs: number; parts: PartsData; graphs: SizeData[]; flat: FlatData[]; mls: MlsRun | { error: string }; cover: CoverData };

export const rekeySection: Section = {
  id: "rekey",
  title: "Group rekeying: cost per join, leave and batch in the KeyGraph DO vs flat, LKH and MLS; the member's cost",
  items: ["1", "2"],
  run,
};

/** The members of one graph, as this process added them: random picks without the protected two. */
class Members {
  private readonly ids: string[] = [];
  private readonly at = new Map<string, number>();
  get size(): number {
    return this.ids.length;
  }
  add(id: string): void {
    this.at.set(id, this.ids.length);
    this.ids.push(id);
  }
  remove(id: string): void {
    const i = this.at.get(id);
    if (i === undefined) throw new Error(`${id} is not a member`);
    const last = this.ids.pop()!;
    if (last !== id) {
      this.ids[i] = last;
      this.at.set(last, i);
    }
    this.at.delete(id);
  }
  pick(k: number): string[] {
    const out = new Set<string>();
    while (out.size < k && out.size < this.ids.length - 2) {
      const id = this.ids[Math.floor(Math.random() * this.ids.length)]!;
      if (id !== OBSERVER && id !== SIBLING) out.add(id);
    }
    return [...out];
  }
}

async function run(ctx: BenchContext): Promise<SectionResult> {
  const p = ctx.profile.rekey;
  ctx.limit.refresh();
  const baselineMs = await requestBaseline(ctx.limit);
  const parts = await measureParts(ctx, baselineMs);
  const graphs = await measureGraphs(ctx, baselineMs);
  const flat: FlatData[] = [];
  for (const n of p.flatSizes) flat.push(await measureFlat(ctx, n, baselineMs));
  let cover: CoverData;
  try {
    ctx.log(`cover-keyed against tree-keyed programs over a region of ${p.cover.n} meters`);
    cover = await graphPost<CoverData>(ctx.limit, "/graph/cover", { program: `bench-cov-${tag()}`, n: p.cover.n, leaves: p.cover.leaves, densities: p.cover.densities });
  } catch (e) {
    cover = { error: e instanceof Error ? e.message : String(e) };
    ctx.log(`cover rows failed: ${cover.error}`);
  }
  let mls: MlsRun | { error: string };
  try {
    const dir = ensureMls(BENCH, ctx.log);
    ctx.log(`MLS baseline (ts-mls) in a child process: ${p.mls.cases.map((c) => `n=${c.n} ${c.tree}`).join(", ")}; budget ${p.mls.budgetSeconds} s`);
    mls = await runMls(dir, p.mls, ctx.log);
  } catch (e) {
    mls = { error: e instanceof Error ? e.message : String(e) };
    ctx.log(`MLS baseline failed: ${mls.error}`);
  }
  return rekeyReport(ctx, { baselineMs, parts, graphs, flat, mls, cover });
}

/** Two steps every epoch takes whatever n is: signing the header, pushing the bundle (one warm-up, then one loop per run). */
async function measureParts(ctx: BenchContext, baselineMs: number): Promise<PartsData> {
  const program = `bench-parts-${tag()}`;
  const iterations = 10;
  const pushBytes = 1000; // about a leave's entries at n = 10^4, degree 4
  const out: PartsData = { sign: [], push: [], iterations, pushBytes };
  for (let r = -1; r < ctx.profile.runs; r++) {
    const sign = await timedPart(ctx.limit, program, "sign", iterations, 0, baselineMs);
    const push = await timedPart(ctx.limit, program, "push", iterations, pushBytes, baselineMs);
    if (r >= 0) {
      out.sign.push(sign);
      out.push.push(push);
    }
  }
  return out;
}

/** The host probe (limit worker /graph/parts "probe"): 20,000 SHA-256 of 64 bytes, some 55–130 ms on this host. */
export const PROBE_ITERATIONS = 20;

const tag = () => randomBytes(3).toString("hex");
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Grows `members` to n through `change()` calls of at most `chunk` joins; answers the seconds taken. */
async function build(ctx: BenchContext, program: string, members: Members, n: number, next: { id: number }, baselineMs: number): Promise<{ seconds: number; joins: number }> {
  const started = performance.now();
  let joins = 0;
  while (members.size < n) {
    const count = Math.min(ctx.profile.rekey.chunk, n - members.size);
    await timedOps(ctx.limit, program, [{ join: { prefix: "g", from: next.id, count } }], baselineMs);
    for (let i = 0; i < count; i++) members.add(`g${next.id + i}`);
    next.id += count;
    joins += count;
  }
  return { seconds: (performance.now() - started) / 1000, joins };
}

function opRun(t: { results: EpochResult[]; wallMs: number; cpuMs: number }): OpRun {
  const k = t.results.length;
  return { msPerOp: t.wallMs / k, cpuMsPerOp: t.cpuMs / k, wraps: t.results.map((r) => r.wraps), forwards: t.results.map((r) => r.forwards), bytes: t.results.map((r) => r.bundleBytes) };
}

async function singleLeaves(ctx: BenchContext, program: string, members: Members, k: number, baselineMs: number): Promise<OpRun> {
  const leaving = members.pick(k);
  const t = await timedOps(ctx.limit, program, leaving.map((m) => ({ leave: [m] })), baselineMs);
  for (const m of leaving) members.remove(m);
  return opRun(t);
}

async function singleJoins(ctx: BenchContext, program: string, members: Members, ids: string[], baselineMs: number): Promise<OpRun> {
  const t = await timedOps(ctx.limit, program, ids.map((m) => ({ join: [m] })), baselineMs);
  for (const m of ids) members.add(m);
  return opRun(t);
}

/** The observer's snapshot (held epoch 0 always gets one), a change, then its view of that one epoch. */
async function observe(ctx: BenchContext, label: string, program: string, setup: Setup, change: () => Promise<unknown>, after?: () => Promise<unknown>): Promise<MemberCost> {
  const snap = await memberUpdate(ctx.limit, program, OBSERVER, 0);
  if (snap.kind !== "snapshot") throw new Error(`expected a snapshot for the observer, got ${snap.kind}`);
  const kek = hexBytes(setup.observerKek);
  const held = heldAfterSnapshot(program, setup.anchor, kek, hexBytes(snap.bytes));
  await change();
  const view = await memberUpdate(ctx.limit, program, OBSERVER, held.epoch);
  if (view.kind !== "view") throw new Error(`expected a view of epoch ${held.epoch + 1}, got ${view.kind}`);
  await after?.();
  return memberCost(label, program, setup.anchor, kek, hexBytes(snap.bytes), hexBytes(view.bytes), ctx.profile.rekey.memberSamples);
}

/** One degree's graph, alive for the whole section; `stopped` once an n failed (larger n are not tried). */
type Graph = { degree: number; program: string; setup: Setup; members: Members; next: { id: number }; stopped: boolean };

/**
 * Every degree's graph lives side by side. At each n, each graph is grown and warmed up, then
 * the runs go round the degrees (run 1 of d = 2, 4, 8, run 2, …), so a slow spell of this
 * host falls on every degree alike instead of on whichever came last.
 */
async function measureGraphs(ctx: BenchContext, baselineMs: number): Promise<SizeData[]> {
  const { sizes, topSizeDegrees, degrees } = ctx.profile.rekey;
  const graphs: Graph[] = [];
  for (const degree of degrees) {
    const program = `bench-rk-d${degree}-${tag()}`;
    graphs.push({ degree, program, setup: await graphPost<Setup>(ctx.limit, "/graph/setup", { program, degree }), members: new Members(), next: { id: 0 }, stopped: false });
  }
  const out: SizeData[] = [];
  try {
    for (const n of sizes) {
      const here = graphs.filter((g) => !g.stopped && (n < Math.max(...sizes) || topSizeDegrees.includes(g.degree)));
      if (here.length === 0) break;
      const at = new Map<Graph, SizeData>();
      for (const g of here) {
        ctx.log(`rekey: degree ${g.degree}, growing the graph to n = ${n.toLocaleString("en-US")}`);
        const size: SizeData = { n, degree: g.degree, buildSeconds: Number.NaN, buildJoins: 0, runs: [], member: [], heldKeys: Number.NaN, errors: [] };
        at.set(g, size);
        await attempt(g, size, () => prepareSize(ctx, g, size, baselineMs));
      }
      ctx.log(`rekey: n = ${n.toLocaleString("en-US")}, ${ctx.profile.runs} run(s) round degrees ${here.map((g) => g.degree).join(", ")}`);
      for (let r = 0; r < ctx.profile.runs; r++) {
        for (const g of here) if (!g.stopped) await attempt(g, at.get(g)!, () => measureRun(ctx, g, at.get(g)!, r, baselineMs));
      }
      for (const [g, size] of at) {
        size.heldKeys = size.member[0]?.heldKeys ?? Number.NaN;
        out.push(size);
        for (const e of size.errors) ctx.log(`rekey: degree ${g.degree}, n = ${n}: ${e}`);
      }
    }
  } finally {
    for (const g of graphs) await graphPost(ctx.limit, "/graph/destroy", { program: g.program });
  }
  return out.sort((a, b) => a.degree - b.degree || a.n - b.n);
}

/** A failure (a limit of the DO, say) is reported with this n, and the graph goes no further. */
async function attempt(g: Graph, size: SizeData, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (e) {
    size.errors.push(`stopped at this n: ${e instanceof Error ? e.message : String(e)}`);
    g.stopped = true;
  }
}

/** Grows the graph to `size.n`, measures the observer's worst case there, and warms up. */
async function prepareSize(ctx: BenchContext, g: Graph, size: SizeData, baselineMs: number): Promise<void> {
  const { program, setup, members } = g;
  const built = await build(ctx, program, members, size.n, g.next, baselineMs);
  size.buildSeconds = built.seconds;
  size.buildJoins = built.joins;
  // Worst case for the observer: its sibling leaves (it unwraps every key of its path).
  try {
    size.member.push(
      await observe(
        ctx,
        "its sibling leaves (worst case: the whole path is new)",
        program,
        setup,
        () => timedOps(ctx.limit, program, [{ leave: [SIBLING] }], baselineMs),
        () => timedOps(ctx.limit, program, [{ join: [SIBLING] }], baselineMs), // takes leaf 1 back: the lowest free leaf
      ),
    );
  } catch (e) {
    size.errors.push(`member cost (sibling leave): ${e instanceof Error ? e.message : String(e)}`);
  }
  // Warm-up: one leave and one join, not counted.
  await singleLeaves(ctx, program, members, 1, baselineMs);
  await singleJoins(ctx, program, members, [`w${size.n}-${tag()}`], baselineMs);
}

/** Run `r` at this n: the host probe, single leaves, single joins, and (see batchEveryRunUpTo) a 1 % batch. */
async function measureRun(ctx: BenchContext, g: Graph, size: SizeData, r: number, baselineMs: number): Promise<void> {
  const { program, setup, members } = g;
  const { n } = size;
  const p = ctx.profile.rekey;
  const probe = await timedPart(ctx.limit, program, "probe", PROBE_ITERATIONS, 0, baselineMs);
  const leave = await singleLeaves(ctx, program, members, p.opsPerRun, baselineMs);
  const join = await singleJoins(ctx, program, members, Array.from({ length: p.opsPerRun }, (_, k) => `j${n}r${r}k${k}`), baselineMs);
  const last = r === ctx.profile.runs - 1;
  if (!last && n > p.batchEveryRunUpTo) {
    size.runs.push({ probe, leave, join });
    return;
  }
  const l = Math.max(1, Math.round(n / 100));
  const leaving = members.pick(l);
  const joining = Array.from({ length: l }, (_, k) => `b${n}r${r}k${k}`);
  let batch: BatchRun | undefined;
  try {
    const doBatch = async () => {
      const t = await timedOps(ctx.limit, program, [{ join: joining, leave: leaving }], baselineMs, true);
      const e = t.results[0]!;
      // The same changes one by one, estimated from this run's single operations (other
      // random members): L × their mean leave wraps + J × their mean join wraps.
      const sumOfSingles = l * mean(leave.wraps) + l * mean(join.wraps);
      batch = { leaving: l, joining: l, ms: t.wallMs, cpuMs: t.cpuMs, wraps: e.wraps, forwards: e.forwards, bytes: e.bundleBytes, sumOfSingles };
    };
    if (last) size.member.push(await observe(ctx, `a 1 % batch (${l} leave, ${l} join)`, program, setup, doBatch));
    else await doBatch();
    for (const m of leaving) members.remove(m);
    for (const m of joining) members.add(m);
  } catch (e) {
    size.errors.push(`batch of ${l} + ${l}: ${e instanceof Error ? e.message : String(e)}`);
  }
  size.runs.push({ probe, leave, join, batch });
}

/**
 * Flat rekeying in the same DO: a graph whose degree is at least n has one level, so a leave
 * refreshes the group key and wraps it under every remaining member's own key (n − 1 wraps).
 */
async function measureFlat(ctx: BenchContext, n: number, baselineMs: number): Promise<FlatData> {
  const program = `bench-rk-flat${n}-${tag()}`;
  const errors: string[] = [];
  await graphPost<Setup>(ctx.limit, "/graph/setup", { program, degree: n + Math.max(1, Math.round(n / 100)) });
  const members = new Members();
  ctx.log(`rekey: flat (one level), n = ${n.toLocaleString("en-US")}`);
  const built = await build(ctx, program, members, n, { id: 0 }, baselineMs);
  const runs: OpRun[] = [];
  try {
    for (let r = -1; r < ctx.profile.runs; r++) {
      const leave = await singleLeaves(ctx, program, members, 1, baselineMs);
      await singleJoins(ctx, program, members, [`f${r}-${tag()}`], baselineMs);
      if (r >= 0) runs.push(leave); // r = −1: warm-up
    }
  } catch (e) {
    errors.push(`flat leave: ${e instanceof Error ? e.message : String(e)}`);
  }
  await graphPost(ctx.limit, "/graph/destroy", { program });
  return { n, buildSeconds: built.seconds, runs, errors };
}
