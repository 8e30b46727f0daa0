import { and, eq, inArray, sql } from "drizzle-orm";
import { keys, meters, readings, type KeyClass, type PolicyClass } from "../schema";
import type { Db } from "./db";
import { effectivePolicy, MAX_INVOCATIONS } from "./policies";
import { listPrograms, programStatus } from "./programs";

/** A key counts as "due soon" this long before its rotation period ends. */
export const DUE_SOON_SECONDS = 7 * 86_400;
/** Regions reported per call: the view is a summary, not an export. */
export const MAX_REGIONS = 200;

const CLASSES = [
  ["unicast", "guek", "meter"],
  ["authentication", "ak", "meter"],
  ["kek", "kek", "meter"],
  ["broadcast", "gbek", "region"],
] as const satisfies readonly (readonly [PolicyClass, KeyClass, "meter" | "region"])[];

/**
 * Active keys of one class in one region, against the rotation policy in force there. The
 * buckets are disjoint: ok (more than DUE_SOON_SECONDS before its period ends), dueSoon,
 * due (period over: the scheduler starts a rotation at its next run, and the meter has the
 * grace period to take the new version), pastDue (period and grace both over: the rotation is
 * late). `rotating` counts keys whose next version waits for the meter's acknowledgement.
 */
export type KeyAgeRow = {
  keyClass: PolicyClass;
  region: string;
  active: number;
  oldestCreatedAt: number | null;
  rotationSeconds: number | null;
  graceSeconds: number | null;
  ok: number;
  dueSoon: number;
  due: number;
  pastDue: number;
  rotating: number;
  /** Unicast keys only: the highest invocation counter a reading used under an active version. */
  counter: { highest: number; budget: number } | null;
};

export type GroupBudget = { program: string; name: string; epoch: number; invocations: number; budget: number };

export async function keyAges(db: Db, env: Env, now: number): Promise<{ keys: KeyAgeRow[]; groups: GroupBudget[] }> {
  const regions = (await db.selectDistinct({ region: meters.region }).from(meters).where(eq(meters.state, "active")).orderBy(meters.region).limit(MAX_REGIONS)).map((r) => r.region);
  const rows: KeyAgeRow[] = [];
  for (const region of regions) {
    for (const [policyClass, keyClass, owner] of CLASSES) rows.push(await classInRegion(db, policyClass, keyClass, owner, region, now));
  }
  return { keys: rows.filter((r) => r.active > 0), groups: await groupBudgets(db, env) };
}

async function classInRegion(db: Db, policyClass: PolicyClass, keyClass: KeyClass, owner: "meter" | "region", region: string, now: number): Promise<KeyAgeRow> {
  const policy = await effectivePolicy(db, policyClass, { region });
  const rotation = policy.rotationSeconds;
  const grace = policy.graceSeconds ?? 0;
  // Thresholds on created_at: a key created at or before `dueAt` has lived its whole period.
  const dueAt = rotation === null ? -1 : now - rotation * 1000;
  const soonAt = rotation === null ? -1 : dueAt + DUE_SOON_SECONDS * 1000;
  const pastAt = rotation === null ? -1 : dueAt - grace * 1000;
  const ownedHere =
    owner === "region"
      ? and(eq(keys.ownerType, "region"), eq(keys.ownerId, region))
      : and(eq(keys.ownerType, "meter"), inArray(keys.ownerId, db.select({ id: meters.id }).from(meters).where(and(eq(meters.region, region), eq(meters.state, "active")))));
  const [agg] = await db
    .select({
      active: sql<number>`count(*)`,
      oldest: sql<number | null>`min(${keys.createdAt})`,
      pastDue: sql<number>`coalesce(sum(${keys.createdAt} <= ${pastAt}), 0)`,
      due: sql<number>`coalesce(sum(${keys.createdAt} <= ${dueAt} and ${keys.createdAt} > ${pastAt}), 0)`,
      dueSoon: sql<number>`coalesce(sum(${keys.createdAt} <= ${soonAt} and ${keys.createdAt} > ${dueAt}), 0)`,
    })
    .from(keys)
    .where(and(eq(keys.keyClass, keyClass), eq(keys.state, "active"), ownedHere));
  const [pending] = await db.select({ n: sql<number>`count(*)` }).from(keys).where(and(eq(keys.keyClass, keyClass), eq(keys.state, "new"), ownedHere));
  const active = Number(agg?.active ?? 0);
  const [pastDue, due, dueSoon] = [agg?.pastDue, agg?.due, agg?.dueSoon].map((n) => Number(n ?? 0)) as [number, number, number];
  return {
    keyClass: policyClass,
    region,
    active,
    oldestCreatedAt: agg?.oldest ?? null,
    rotationSeconds: rotation,
    graceSeconds: policy.graceSeconds,
    ok: active - pastDue - due - dueSoon,
    dueSoon,
    due,
    pastDue,
    rotating: Number(pending?.n ?? 0),
    counter: policyClass === "unicast" ? { highest: await highestCounter(db, region), budget: policy.maxInvocations ?? MAX_INVOCATIONS } : null,
  };
}

/** The highest invocation counter any reading of the region used under a still-active GUEK version. */
async function highestCounter(db: Db, region: string): Promise<number> {
  const [row] = await db
    .select({ highest: sql<number | null>`max(${readings.invocationCounter})` })
    .from(readings)
    .innerJoin(keys, and(eq(keys.id, readings.keyId), eq(keys.version, readings.keyVersion)))
    .where(and(eq(readings.region, region), eq(keys.state, "active")));
  return Number(row?.highest ?? 0);
}

/** Each program's group key: DR commands sealed under it against its counter budget. */
async function groupBudgets(db: Db, env: Env): Promise<GroupBudget[]> {
  const out: GroupBudget[] = [];
  for (const p of await listPrograms(db)) {
    const status = await programStatus(env, p.id);
    const budget = (await effectivePolicy(db, "group", { program: p.id })).maxInvocations ?? MAX_INVOCATIONS;
    out.push({ program: p.id, name: p.name, epoch: status.epoch, invocations: status.invocations, budget });
  }
  return out;
}
