/**
 * The rekey section's client of the limit worker's /graph/* routes (bench/limit-worker/graph.ts):
 * gridkey's real KeyGraph Durable Object under `wrangler dev`, timed from outside.
 */
import type { Server } from "./model.js";
import { cpuSeconds } from "./procs.js";
import { median } from "./stats.js";

/** functions/key-graph.ts's EpochResult as it arrives in JSON (that module is workerd code, not importable here). */
export type EpochResult = { epoch: number; joined: number; left: number; wraps: number; forwards: number; bundleBytes: number };
export type Join = string[] | { prefix: string; from: number; count: number };
export type GraphOp = { join?: Join; leave?: string[] };
export type Timed<T> = T & { wallMs: number; cpuMs: number };
export type Setup = { observerKek: string; anchor: { kid: string; publicKey: string } };
export type MemberUpdate = { kind: "current" } | { kind: "view" | "snapshot"; bytes: string };

export async function graphPost<T>(server: Server, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${server.url}${path}`, { method: "POST", body: JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`POST ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
  }
  if (!res.ok) throw new Error(`POST ${path}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 500)}`);
  return json as T;
}

/** Wall time of a request that reaches the worker and no Durable Object: subtracted from every timed request. */
export async function requestBaseline(server: Server): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const started = performance.now();
    await (await fetch(`${server.url}/health`)).arrayBuffer();
    times.push(performance.now() - started);
  }
  return median(times);
}

/**
 * One request of `ops` (each a `change()`, one epoch), timed from outside: its wall time minus
 * an empty request's, and the CPU time the limit worker's workerd used meanwhile (/proc).
 */
export async function timedOps(server: Server, program: string, ops: GraphOp[], baselineMs: number, batched = false): Promise<Timed<{ results: EpochResult[] }>> {
  const pid = server.procs.runtime?.pid;
  const cpu0 = pid ? cpuSeconds(pid) : Number.NaN;
  const started = performance.now();
  const { results } = await graphPost<{ results: (EpochResult | null)[] }>(server, "/graph/ops", { program, ops, batched });
  const wallMs = Math.max(0.001, performance.now() - started - baselineMs);
  const cpuMs = pid ? 1000 * (cpuSeconds(pid) - cpu0) : Number.NaN;
  if (results.some((r) => r === null)) throw new Error("a change produced no epoch");
  return { results: results as EpochResult[], wallMs, cpuMs };
}

/** One step of every epoch repeated `iterations` times (limit worker /graph/parts), per iteration: wall ms from outside, workerd CPU ms. */
export async function timedPart(server: Server, program: string, what: "sign" | "push" | "probe", iterations: number, bytes: number, baselineMs: number): Promise<{ ms: number; cpuMs: number }> {
  const pid = server.procs.runtime?.pid;
  const cpu0 = pid ? cpuSeconds(pid) : Number.NaN;
  const started = performance.now();
  await graphPost(server, "/graph/parts", { program, what, iterations, bytes });
  const wallMs = Math.max(0.001, performance.now() - started - baselineMs);
  return { ms: wallMs / iterations, cpuMs: pid ? (1000 * (cpuSeconds(pid) - cpu0)) / iterations : Number.NaN };
}

export const memberUpdate = (server: Server, program: string, meter: string, held: number) => graphPost<MemberUpdate>(server, "/graph/member", { program, meter, held });

export const hexBytes = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));
