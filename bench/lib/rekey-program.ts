/**
 * The DR program behind the sessions section's rekey fetch probe (issue 6 item 4), set up
 * through gridkey's admin API like an operator would: created, filled with fleet meters, the
 * rekey probes' snapshots taken (load generator), then advanced one epoch by one departure
 * while listening on the region's subscription WebSocket, whose announcement shows that the
 * concentrator holds the new bundle (so the probes' fetches are cache hits).
 */
import type { BenchContext } from "./model.js";

export type RekeyProbeSetup = {
  program: string;
  members: number;
  heldEpoch: number;
  epoch: number;
  wraps: number;
  leaves: number[];
  announced: boolean;
  announcedMs?: number;
};

const REGION = "bench-1";
const MAX_CHANGES = 10_000;

async function admin(ctx: BenchContext, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${ctx.gridkey.url}/v1/admin${path}`, { method: "POST", headers: { authorization: `Bearer ${ctx.gridkey.token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new Error(`POST /v1/admin${path}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

/** Resolves once the concentrator announces `epoch` of `program` (true), or after `timeoutMs` (false). */
async function listen(ctx: BenchContext, program: string): Promise<{ heard(epoch: number, timeoutMs: number): Promise<boolean>; close(): void }> {
  const ws = new WebSocket(`${ctx.gridkey.url.replace(/^http/, "ws")}/v1/edge/subscribe?region=${REGION}&programs=${program}`);
  const seen = new Set<number>();
  const waiters: (() => void)[] = [];
  ws.addEventListener("message", (e) => {
    const note = JSON.parse(String(e.data)) as { program: string; epoch: number };
    if (note.program === program) seen.add(note.epoch);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error("the subscription WebSocket did not open")), { once: true });
  });
  return {
    async heard(epoch, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!seen.has(epoch) && Date.now() < deadline) await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 100)));
      return seen.has(epoch);
    },
    close: () => ws.close(),
  };
}

export async function setUpRekeyProbe(ctx: BenchContext, pool: string[], probes: string[]): Promise<RekeyProbeSetup> {
  const created = await admin(ctx, "/programs", { name: "bench rekey fetch probe", degree: 4, rekeyMode: "immediate" });
  const program = String(created.id);
  const members = [...probes, ...pool];
  for (let at = 0; at < members.length; at += MAX_CHANGES) await admin(ctx, `/programs/${program}/members`, { add: members.slice(at, at + MAX_CHANGES) });
  const ready = await ctx.loadgen.request<{ type: "rekeyReady"; epochs: number[]; leaves: number[] }>({ type: "rekeyPrepare", program });
  const heldEpoch = ready.epochs[0]!;
  if (ready.epochs.some((e) => e !== heldEpoch)) throw new Error(`the rekey probes hold different epochs: ${ready.epochs.join(", ")}`);
  const subscription = await listen(ctx, program);
  try {
    const started = performance.now();
    const changed = await admin(ctx, `/programs/${program}/members`, { remove: [pool[0]!] });
    const epoch = changed.epoch as { epoch: number; wraps: number } | null;
    if (!epoch || epoch.epoch !== heldEpoch + 1) throw new Error(`expected epoch ${heldEpoch + 1} after one departure, got ${JSON.stringify(epoch)}`);
    const announced = await subscription.heard(epoch.epoch, 10_000);
    return { program, members: members.length - 1, heldEpoch, epoch: epoch.epoch, wraps: epoch.wraps, leaves: ready.leaves, announced, ...(announced ? { announcedMs: performance.now() - started } : {}) };
  } finally {
    subscription.close();
  }
}
