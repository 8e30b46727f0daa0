import { and, asc, eq, inArray, isNotNull, lte, notInArray, sql } from "drizzle-orm";
import { keys, leases, meters, policies, programs, type PolicyClass } from "../schema";
import { type AuditContext, commitAudited } from "./audit-log";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { acknowledgeKeys, rotateMeterKey } from "./key-delivery";
import type { MeterRow } from "./enrollment";
import { type KeyRow, sealNextVersion } from "./key-store";
import { rewrapChunk } from "./master-key-rotation";
import { effectivePolicy } from "./policies";
import { programStatus, rekeyNow } from "./programs";
import { rotateBroadcastKey } from "./broadcast-keys";

/** How much one run may do per step: a run with a million due items makes progress and leaves the rest. */
export const STEP_LIMIT = 200;
const LEASE_MS = 5 * 60_000;

const CLASS_OF = { guek: "unicast", ak: "authentication", kek: "kek" } as const satisfies Record<string, PolicyClass>;

export type RunReport = Record<string, number | "skipped (lease held)">;

/**
 * One scheduled run (DESIGN.md §5): each step takes a lease so overlapping runs do not do
 * the same work twice, is bounded, and leaves the store consistent after every item, so a
 * run that dies half way is simply continued by the next one.
 */
export async function runScheduled(db: Db, env: Env, custody: Custody, now: number, runId: string): Promise<RunReport> {
  const ctx: AuditContext = { actor: { id: "cron", role: "system" }, requestId: runId, now };
  const steps: [string, () => Promise<number>][] = [
    // The key graphs are visited only while custody holds an older version (a rotation is on).
    ["rewrap", async () => (await rewrapChunk(db, custody, ctx, undefined, custody.versions.length > 1 ? env : undefined)).rewrapped],
    ["flush-programs", () => flushDuePrograms(db, env, ctx, now)],
    ["rotate-keys", () => rotateDueKeys(db, custody, ctx, now)],
    ["rotate-broadcast", () => rotateBroadcastKeys(db, custody, ctx, now)],
    ["activate-pending", () => activateUnacknowledged(db, ctx, now)],
    ["destroy-retired", () => destroyRetired(db, ctx, now)],
  ];
  const report: RunReport = {};
  for (const [name, step] of steps) {
    if (!(await acquireLease(db, name, runId, now))) {
      report[name] = "skipped (lease held)";
      continue;
    }
    try {
      report[name] = await step();
    } finally {
      await db.delete(leases).where(and(eq(leases.name, name), eq(leases.holder, runId)));
    }
  }
  return report;
}

async function acquireLease(db: Db, name: string, holder: string, now: number): Promise<boolean> {
  await db
    .insert(leases)
    .values({ name, holder, expiresAt: now + LEASE_MS })
    .onConflictDoUpdate({ target: leases.name, set: { holder, expiresAt: now + LEASE_MS }, setWhere: lte(leases.expiresAt, now) });
  const [row] = await db.select().from(leases).where(eq(leases.name, name));
  return row?.holder === holder;
}

/** Batched programs whose oldest queued change has waited a whole window: one bundle each. */
async function flushDuePrograms(db: Db, env: Env, ctx: AuditContext, now: number): Promise<number> {
  // Every program: a policy may have made an immediate one batched (or the reverse, leaving a queue to flush).
  const active = await db.select().from(programs).where(eq(programs.state, "active")).limit(STEP_LIMIT);
  let flushed = 0;
  for (const p of active) {
    const status = await programStatus(env, p);
    const { batchWindowSeconds } = await effectivePolicy(db, "group", { program: p.id });
    if (status.oldestPending !== null && now - status.oldestPending >= (batchWindowSeconds ?? 0) * 1000) {
      await rekeyNow(db, env, ctx, p.id);
      flushed++;
    }
  }
  return flushed;
}

/** Meter keys older than their rotation period start a two-phase change (delivered, then acknowledged). */
async function rotateDueKeys(db: Db, custody: Custody, ctx: AuditContext, now: number): Promise<number> {
  const due = await dueMeterKeys(db, now, "active", "rotationSeconds", sql`${meters.state} = 'active' AND NOT EXISTS (SELECT 1 FROM keys k2 WHERE k2.id = ${keys.id} AND k2.state = 'new')`);
  for (const { key, meter } of due) await rotateMeterKey(db, custody, ctx, meter, key.keyClass as "guek" | "ak" | "kek");
  return due.length;
}

type Due = { key: KeyRow; meter: MeterRow };
type Threshold = { regions: string[] | null; except: string[]; seconds: number };

/**
 * Per policy class, the thresholds in force: one per region with its own value, and the
 * default for every other region. Queries then ask each group only for rows past its own
 * threshold, so rows not yet due can never crowd due ones out of a bounded step.
 */
async function thresholds(db: Db, policyClass: PolicyClass, field: "rotationSeconds" | "graceSeconds"): Promise<Threshold[]> {
  const column = field === "rotationSeconds" ? policies.rotationSeconds : policies.graceSeconds;
  const overrides = (
    await db
      .selectDistinct({ region: policies.scopeId })
      .from(policies)
      .where(and(eq(policies.scope, "region"), eq(policies.keyClass, policyClass), isNotNull(column)))
  ).map((r) => r.region);
  const out: Threshold[] = [];
  for (const region of overrides) {
    const seconds = (await effectivePolicy(db, policyClass, { region }))[field];
    if (seconds !== null) out.push({ regions: [region], except: [], seconds });
  }
  const fallback = (await effectivePolicy(db, policyClass))[field];
  if (fallback !== null) out.push({ regions: null, except: overrides, seconds: fallback });
  return out;
}

/** Meter keys of the given classes and state whose `since` time is past their policy's threshold, oldest first. */
async function dueMeterKeys(db: Db, now: number, state: "active" | "new" | "retired", field: "rotationSeconds" | "graceSeconds", extra = sql`1 = 1`): Promise<Due[]> {
  const out: Due[] = [];
  for (const [keyClass, policyClass] of Object.entries(CLASS_OF) as ["guek" | "ak" | "kek", PolicyClass][]) {
    for (const t of await thresholds(db, policyClass, field)) {
      if (out.length >= STEP_LIMIT) return out;
      const since = state === "retired" ? keys.rotatedAt : keys.createdAt;
      const rows = await db
        .select({ key: keys, meter: meters })
        .from(keys)
        .innerJoin(meters, eq(meters.id, keys.ownerId))
        .where(
          and(
            eq(keys.ownerType, "meter"),
            eq(keys.keyClass, keyClass),
            eq(keys.state, state),
            lte(since, now - t.seconds * 1000),
            t.regions ? inArray(meters.region, t.regions) : t.except.length > 0 ? notInArray(meters.region, t.except) : undefined,
            extra,
          ),
        )
        .orderBy(asc(since))
        .limit(STEP_LIMIT - out.length);
      out.push(...rows);
    }
  }
  return out;
}

/** Each region's broadcast keys past their period (broadcast-keys.ts). */
async function rotateBroadcastKeys(db: Db, custody: Custody, ctx: AuditContext, now: number): Promise<number> {
  let rotated = 0;
  for (const region of await db.selectDistinct({ id: keys.ownerId }).from(keys).where(and(eq(keys.keyClass, "gbek"), eq(keys.state, "active")))) {
    const { rotationSeconds } = await effectivePolicy(db, "broadcast", { region: region.id });
    if (rotationSeconds === null) continue;
    const due = await db
      .select()
      .from(keys)
      .where(and(eq(keys.keyClass, "gbek"), eq(keys.ownerId, region.id), eq(keys.state, "active"), lte(keys.createdAt, now - rotationSeconds * 1000)))
      .limit(STEP_LIMIT);
    for (const key of due) await rotateBroadcastKey(db, custody, ctx, key, now);
    rotated += due.length;
  }
  return rotated;
}

/** A new version the meter has not acknowledged within the grace period becomes active anyway. */
async function activateUnacknowledged(db: Db, ctx: AuditContext, now: number): Promise<number> {
  let activated = 0;
  for (const { key, meter } of await dueMeterKeys(db, now, "new", "graceSeconds")) {
    activated += await acknowledgeKeys(db, ctx, meter, [{ keyId: key.id, version: key.version }]);
  }
  return activated;
}

/** Retired versions past their grace period are destroyed: material erased, record kept. */
async function destroyRetired(db: Db, ctx: AuditContext, now: number): Promise<number> {
  let destroyed = 0;
  for (const region of await db.selectDistinct({ id: keys.ownerId }).from(keys).where(and(eq(keys.keyClass, "gbek"), eq(keys.state, "retired")))) {
    const { graceSeconds } = await effectivePolicy(db, "broadcast", { region: region.id });
    const old = await db
      .select()
      .from(keys)
      .where(and(eq(keys.keyClass, "gbek"), eq(keys.ownerId, region.id), eq(keys.state, "retired"), lte(keys.rotatedAt, now - (graceSeconds ?? 0) * 1000)))
      .limit(STEP_LIMIT);
    for (const key of old) await destroyVersion(db, ctx, key, now, region.id);
    destroyed += old.length;
  }
  for (const { key, meter } of await dueMeterKeys(db, now, "retired", "graceSeconds")) {
    await destroyVersion(db, ctx, key, now, meter.id);
    destroyed++;
  }
  return destroyed;
}

async function destroyVersion(db: Db, ctx: AuditContext, key: KeyRow, now: number, owner: string): Promise<void> {
  await commitAudited(db, ctx, { action: "key.destroy", targetType: "key", targetId: key.id, details: { version: key.version, owner, reason: "grace period over" } }, [
    db.update(keys).set({ state: "destroyed", wrapped: null, destroyedAt: now }).where(and(eq(keys.id, key.id), eq(keys.version, key.version), eq(keys.state, "retired"))),
  ]);
}
