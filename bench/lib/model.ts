/**
 * The shape every bench section produces, so that bench/run.ts can print, save and plot any
 * of them the same way. Issue 6's items 3–4 (sessions) are one section today; the group
 * rekey items 1–2 become another section with the same shape (see bench/run.ts SECTIONS).
 */
import type { Figure } from "./stats.js";
import type { LoadgenCommand, LoadgenReply } from "./loadgen-protocol.js";
import type { ServerProcs } from "./procs.js";

/** One line of the summary table: gridkey, the comparison, their ratio (per run, then median). */
export type Row = {
  /** The issue item it answers, e.g. "3" or "4". */
  item: string;
  measure: string;
  gridkey: Figure;
  comparison?: { label: string; value: Figure };
  /** gridkey ÷ comparison, computed run by run (same run), then median [min–max]. */
  ratio?: Figure;
  /** The expectation, as text (e.g. "ratio ≥ 0.5"), and whether this run met it. */
  expected?: string;
  verdict?: "meets" | "misses";
  note?: string;
};

/** A detail table, already formatted. */
export type Table = { title: string; columns: string[]; rows: string[][]; note?: string };

export type Plot = { file: string; alt: string; svg: string };

export type SectionResult = {
  id: string;
  title: string;
  /** Issue 6 items this section answers. */
  items: string[];
  rows: Row[];
  tables: Table[];
  plots: Plot[];
  /** How each figure was measured, one bullet each. */
  method: string[];
  /** What surprised, what missed and why. */
  notes: string[];
  /** Raw numbers for docs/bench/results.json. */
  raw: unknown;
};

/** A benchmark item the harness does not measure yet. */
export type Pending = { items: string[]; title: string; reason: string };

export type Profile = {
  name: "smoke" | "quick" | "full";
  runs: number;
  /** Concurrent meters for the throughput levels (0, probes only, is always added first). */
  concurrency: number[];
  warmupMs: number;
  windowMs: number;
  idleWindowMs: number;
  globalWarmupMs: number;
  /** Meters enrolled for the handshake load (each handshake takes the next free one). */
  poolSize: number;
  /** Meters holding live sessions that fetch keys during every window (latency). */
  probes: number;
  probeIntervalMs: number;
  /** Time per limit measurement inside workerd (iterations are sized to it). */
  limitTargetMs: number;
  /** Registry rows in the limit worker's D1 (same schema as gridkey's). */
  limitMeters: number;
  meterCost: { handshakes: number; warmup: number };
  health: { concurrency: number; windowMs: number };
  /** Pin the server side and the load generator to different CPUs (taskset). */
  pin: boolean;
  /** The rekey section (items 1–2): sizes and degrees of the real KeyGraph, and the MLS cases. */
  rekey: RekeyProfile;
};

export type RekeyProfile = {
  /** Member counts n, each reached by growing the same graph (one per degree). */
  sizes: number[];
  degrees: number[];
  /** Degrees that also go on to the largest size (building it is the longest part of the run). */
  topSizeDegrees: number[];
  /** Above this n the 1 % batch (the slowest operation) is measured in the last run only. */
  batchEveryRunUpTo: number;
  /** Joins per `change()` call while building. */
  chunk: number;
  /** Single leaves (and joins) timed per run, one request each. */
  opsPerRun: number;
  /** Flat rekeying measured in the same DO (degree ≥ n: one level) at these n. */
  flatSizes: number[];
  /** Repetitions of the SDK's processing of one view (member cost). */
  memberSamples: number;
  mls: { cases: { n: number; tree: "blank" | "filled" }[]; samples: number; budgetSeconds: number };
  /** Cover-keyed against tree-keyed programs over one region of n meters (degree 4): k leaves at each density. */
  cover: { n: number; leaves: number; densities: { label: string; fraction: number; layout: "contiguous" | "random" }[] };
};

export type Server = {
  name: string;
  url: string;
  port: number;
  token: string;
  /** Its processes as last seen; `refresh()` looks again (wrangler dev may replace its workerd) and pins new ones. */
  procs: ServerProcs;
  refresh(): ServerProcs;
  /** How often its runtime workerd was seen replaced (wrangler dev reloads when a source file changes). */
  reloads: number;
  stop(): Promise<void>;
};

export type CoreSharing = { pinned: boolean; serverCpus: string; loadgenCpus: string; orchestratorCpus: string; description: string; short: string };

export type BenchContext = {
  profile: Profile;
  gridkey: Server;
  limit: Server;
  loadgen: { pid: number; request<T extends LoadgenReply>(cmd: LoadgenCommand): Promise<T> };
  cores: CoreSharing;
  log(message: string): void;
};

export interface Section {
  id: string;
  title: string;
  items: string[];
  run(ctx: BenchContext): Promise<SectionResult>;
}
