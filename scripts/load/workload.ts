/**
 * The load itself: every meter comes online (EDHOC, its keys, their acknowledgement, a
 * reading, its DR programs' keys), then for a bounded time a mixed workload runs on the
 * online fleet while a DR controller churns memberships and checks sealed commands.
 */
import { SdkError } from "../../sdk/index.js";
import type { AdminApi } from "./admin.js";
import type { Checks } from "./checks.js";
import { opensCommand, sealCommand } from "./dr-commands.js";
import { dataNotification } from "./dlms-reading.js";
import { keyFingerprints, type LoadMeter } from "./fleet.js";
import { forEachLimited, loopUntil, pick, sleep } from "./pool.js";
import { churn, type DrProgram } from "./programs.js";
import { codeOf, type Tally } from "./tally.js";

export type Run = { api: AdminApi; fleet: LoadMeter[]; programs: DrProgram[]; tally: Tally; checks: Checks; concurrency: number; log: (line: string) => void };

/** Accepted counters per meter, to check that each is above the last (no invocation counter reused). */
const lastAccepted = new Map<number, number>();

/** Operations whose failures are counted as errors but do not stop the meter's other work. */
async function attempt(task: () => Promise<unknown>): Promise<void> {
  try {
    await task();
  } catch (e) {
    if (!(e instanceof SdkError) && !(e instanceof Error && "code" in e)) throw e;
  }
}

export async function bringOnline(run: Run): Promise<void> {
  let done = 0;
  const progress = setInterval(() => run.log(`online ${done}/${run.fleet.length}`), 10_000);
  try {
    await forEachLimited(run.fleet, run.concurrency, async (m) => {
      await attempt(async () => {
        // The first request rides on EDHOC message_3 (no separate ping): "edhoc+keys".
        await installKeys(run, m, "edhoc+keys");
        await reading(run, m);
        m.online = true;
        for (const p of run.programs) if (p.members.has(m.index)) await attempt(() => rekey(run, m, p));
      });
      done++;
    });
  } finally {
    clearInterval(progress);
  }
}

/** Fetches the meter's keys, acknowledges the new ones, and remembers what it installed. */
async function installKeys(run: Run, m: LoadMeter, op: string): Promise<void> {
  const keys = await run.tally.time(op, () => m.client.fetchKeys());
  const fresh = keys.all.filter((k) => k.state === "new");
  if (fresh.length > 0) await run.tally.time("ack", () => m.client.acknowledge(fresh));
  m.held = keyFingerprints(keys);
  for (const k of keys.all) k.key.fill(0);
}

async function reading(run: Run, m: LoadMeter): Promise<void> {
  const n = (lastAccepted.get(m.index) ?? 0) + 1;
  const { invocationCounter } = await run.tally.time("reading", () => m.client.uploadReading(dataNotification(n, 1_000 * n, new Date())));
  const previous = lastAccepted.get(m.index) ?? 0;
  run.checks.expect("reading counters strictly increase", invocationCounter > previous, () => `${m.id}: accepted ${invocationCounter} after ${previous}`);
  lastAccepted.set(m.index, invocationCounter);
}

/** A member brings its group key up to date; a rekey racing the meter's own removal is not an error. */
async function rekey(run: Run, m: LoadMeter, p: DrProgram): Promise<void> {
  const op = `rekey.${p.keying}`;
  const started = performance.now();
  try {
    await m.client.rekey(p.id);
    run.tally.sample(op, performance.now() - started);
  } catch (e) {
    // Counted apart (not an error): the service rightly refused a meter that left meanwhile.
    if (e instanceof SdkError && e.code === "not_a_member" && !p.members.has(m.index)) return run.tally.sample(`${op}.left-meanwhile`, performance.now() - started);
    run.tally.error(op, codeOf(e));
    throw e;
  }
}

/** One random operation on a random online meter, weighted like a fleet's day compressed. */
async function mixedStep(run: Run): Promise<void> {
  const roll = Math.random();
  if (roll < 0.3) {
    const p = pick(run.programs)!;
    const m = run.fleet[pick(p.memberList) ?? 0]!;
    if (m.online) return attempt(() => rekey(run, m, p));
    return;
  }
  const m = pick(run.fleet)!;
  if (!m.online) return;
  if (roll < 0.75) return attempt(() => reading(run, m));
  if (roll < 0.9) return attempt(() => recheckKeys(run, m));
  return attempt(async () => {
    await m.client.close();
    await run.tally.time("edhoc", () => m.client.connect());
  });
}

/** The keys the service delivers now are still those the meter installed. */
async function recheckKeys(run: Run, m: LoadMeter): Promise<void> {
  const keys = await run.tally.time("keys", () => m.client.fetchKeys());
  const now = keyFingerprints(keys);
  for (const k of keys.all) k.key.fill(0);
  run.checks.expect("unicast keys unchanged under load", sameMap(now, m.held), () => `${m.id}: delivered keys differ from those installed`);
}

export function sameMap(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

/**
 * The DR controller, running from the first meter online to the end of the mixed workload,
 * one step at a time so a command is never sealed across a membership change: a program's
 * members change (leaves and joins in one call), the joiners online rekey, then a command
 * is sealed and a sample of members must open it. Resolves `stop` once its step is done.
 */
export function startDrController(run: Run, intervalMs: number): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    for (let step = 0; !stopped; step++) {
      const p = run.programs[step % run.programs.length]!;
      await attempt(async () => {
        const size = Math.max(1, Math.min(10, Math.floor(p.members.size / 100)));
        const joined = await run.tally.time("dr.churn", () => churn(run.api, run.fleet, p, size));
        await Promise.all(joined.filter((m) => m.online).map((m) => attempt(() => rekey(run, m, p))));
        await commandSample(run, p, 10);
      });
      if (!stopped) await sleep(intervalMs);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

async function commandSample(run: Run, p: DrProgram, n: number): Promise<void> {
  const command = await run.tally.time("dr.seal", () => sealCommand(run.api, p.id));
  // Distinct members: a second open of the same command is (rightly) a replayed_command.
  const sample = new Set<number>();
  for (let tries = 0; sample.size < Math.min(n, p.members.size) && tries < n * 10; tries++) sample.add(pick(p.memberList)!);
  const online = [...sample].map((i) => run.fleet[i]!).filter((m) => m.online);
  await forEachLimited(online, online.length, (m) =>
    attempt(async () => {
      await rekey(run, m, p);
      const started = performance.now();
      const outcome = openAsMember(m, command);
      run.tally.sample("dr.open", performance.now() - started);
      run.checks.expect("members open DR commands (under load)", outcome === "opened", () => `${m.id}: ${p.keying} command of epoch ${command.epoch}: ${outcome}`);
    }),
  );
}

function openAsMember(m: LoadMeter, command: Parameters<typeof opensCommand>[1]): string {
  try {
    return opensCommand(m.client, command) ? "opened" : "opened to another plaintext";
  } catch (e) {
    return e instanceof SdkError ? e.code : String(e);
  }
}

export async function mixedWorkload(run: Run, seconds: number): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  const progress = setInterval(() => run.log(`mixed workload: ${Math.max(0, Math.round((deadline - performance.now()) / 1000))} s left`), 10_000);
  try {
    await loopUntil(deadline, run.concurrency, () => mixedStep(run));
  } finally {
    clearInterval(progress);
  }
}

export { lastAccepted };
