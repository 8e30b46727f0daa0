import { and, asc, eq, inArray, isNotNull, lte, sql } from "drizzle-orm";
import { keys, leases, meters, programs, type PolicyClass } from "../schema";
import { type AuditContext, commitAudited } from "./audit-log";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { acknowledgeKeys, rotateMeterKey } from "./key-delivery";
import { type KeyRow, sealNewKey } from "./key-store";
import { rewrapChunk } from "./master-key-rotation";
import { effectivePolicy } from "./policies";
import { programStatus, rekeyNow } from "./programs";

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
    ["rewrap", async () => (await rewrapChunk(db, custody, ctx)).rewrapped],
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
  const batched = await db.select().from(programs).where(and(eq(programs.state, "active"), eq(programs.rekeyMode, "batched"))).limit(STEP_LIMIT);
  let flushed = 0;
  for (const p of batched) {
    const status = await programStatus(env, p.id);
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
  const minimum = await shortest(db, "rotation_seconds", ["unicast", "authentication", "kek"]);
  const candidates = await db
    .select({ key: keys, meter: meters })
    .from(keys)
    .innerJoin(meters, eq(meters.id, keys.ownerId))
    .where(
      and(
        eq(keys.ownerType, "meter"),
        eq(keys.state, "active"),
        inArray(keys.keyClass, ["guek", "ak", "kek"]),
        eq(meters.state, "active"),
        lte(keys.createdAt, now - minimum * 1000),
        sql`NOT EXISTS (SELECT 1 FROM keys k2 WHERE k2.id = ${keys.id} AND k2.state = 'new')`,
      ),
    )
    .orderBy(asc(keys.createdAt))
    .limit(STEP_LIMIT);
  let rotated = 0;
  for (const { key, meter } of candidates) {
    const { rotationSeconds } = await effectivePolicy(db, CLASS_OF[key.keyClass as keyof typeof CLASS_OF], { region: meter.region });
    if (rotationSeconds === null || key.createdAt > now - rotationSeconds * 1000) continue;
    await rotateMeterKey(db, custody, ctx, meter, key.keyClass as "guek" | "ak" | "kek");
    rotated++;
  }
  return rotated;
}

/**
 * A region's broadcast key past its period gets a new version at once (no meter confirms a
 * broadcast key); the old one is retired, readable through the grace period, then destroyed.
 */
async function rotateBroadcastKeys(db: Db, custody: Custody, ctx: AuditContext, now: number): Promise<number> {
  const minimum = await shortest(db, "rotation_seconds", ["broadcast"]);
  const due = await db
    .select()
    .from(keys)
    .where(and(eq(keys.keyClass, "gbek"), eq(keys.state, "active"), lte(keys.createdAt, now - minimum * 1000)))
    .orderBy(asc(keys.createdAt))
    .limit(STEP_LIMIT);
  let rotated = 0;
  for (const key of due) {
    const { rotationSeconds } = await effectivePolicy(db, "broadcast", { region: key.ownerId });
    if (rotationSeconds === null || key.createdAt > now - rotationSeconds * 1000) continue;
    const next = await sealNewKey(custody, { id: key.id, version: key.version + 1, ownerType: key.ownerType, ownerId: key.ownerId, keyClass: "gbek", algorithm: key.algorithm, now });
    await commitAudited(db, ctx, { action: "key.rotate", targetType: "key", targetId: key.id, details: { retired: key.version, active: next.version } }, [
      db.update(keys).set({ state: "retired", rotatedAt: now }).where(and(eq(keys.id, key.id), eq(keys.version, key.version), eq(keys.state, "active"))),
      db.insert(keys).values(next),
    ]);
    rotated++;
  }
  return rotated;
}

/** A new version the meter has not acknowledged within the grace period becomes active anyway. */
async function activateUnacknowledged(db: Db, ctx: AuditContext, now: number): Promise<number> {
  const minimum = await shortest(db, "grace_seconds", ["unicast", "authentication", "kek"]);
  const pending = await db
    .select({ key: keys, meter: meters })
    .from(keys)
    .innerJoin(meters, eq(meters.id, keys.ownerId))
    .where(and(eq(keys.ownerType, "meter"), eq(keys.state, "new"), lte(keys.createdAt, now - minimum * 1000)))
    .orderBy(asc(keys.createdAt))
    .limit(STEP_LIMIT);
  let activated = 0;
  for (const { key, meter } of pending) {
    const { graceSeconds } = await effectivePolicy(db, CLASS_OF[key.keyClass as keyof typeof CLASS_OF], { region: meter.region });
    if (key.createdAt > now - (graceSeconds ?? 0) * 1000) continue;
    activated += await acknowledgeKeys(db, ctx, meter, [{ keyId: key.id, version: key.version }]);
  }
  return activated;
}

/** Retired versions past their grace period are destroyed: material erased, record kept. */
async function destroyRetired(db: Db, ctx: AuditContext, now: number): Promise<number> {
  const minimum = await shortest(db, "grace_seconds", ["unicast", "authentication", "kek", "broadcast"]);
  const old = and(eq(keys.state, "retired"), isNotNull(keys.rotatedAt), lte(keys.rotatedAt, now - minimum * 1000));
  const retired = await db
    .select({ key: keys, meter: meters })
    .from(keys)
    .innerJoin(meters, eq(meters.id, keys.ownerId))
    .where(and(eq(keys.ownerType, "meter"), old))
    .orderBy(asc(keys.rotatedAt))
    .limit(STEP_LIMIT);
  const broadcast = await db.select().from(keys).where(and(eq(keys.keyClass, "gbek"), old)).orderBy(asc(keys.rotatedAt)).limit(STEP_LIMIT);
  let destroyed = 0;
  for (const key of broadcast) {
    const { graceSeconds } = await effectivePolicy(db, "broadcast", { region: key.ownerId });
    if (key.rotatedAt! > now - (graceSeconds ?? 0) * 1000) continue;
    await destroyVersion(db, ctx, key, now, key.ownerId);
    destroyed++;
  }
  for (const { key, meter } of retired) {
    const { graceSeconds } = await effectivePolicy(db, CLASS_OF[key.keyClass as keyof typeof CLASS_OF], { region: meter.region });
    if (key.rotatedAt! > now - (graceSeconds ?? 0) * 1000) continue;
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

/**
 * The shortest value any policy (or built-in default) gives a field for some classes: the
 * queries take only rows old enough for it, oldest first, so rows not yet due under their
 * own policy cannot crowd due ones out of a bounded step.
 */
async function shortest(db: Db, field: "rotation_seconds" | "grace_seconds", classes: PolicyClass[]): Promise<number> {
  const key = field === "rotation_seconds" ? "rotationSeconds" : "graceSeconds";
  const built = await Promise.all(classes.map((c) => effectivePolicy(db, c)));
  const rows = await db.all<{ s: number | null }>(sql.raw(`SELECT MIN(${field}) AS s FROM policies WHERE ${field} IS NOT NULL`));
  return Math.min(...built.map((p) => p[key] ?? Infinity), rows[0]?.s ?? Infinity);
}
