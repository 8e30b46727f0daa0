import { and, asc, eq, gt, type SQL } from "drizzle-orm";
import { type DeviceKind, meters, type MeterState } from "../schema";
import { type AuditContext, commitAudited } from "./audit-log";
import type { Db } from "./db";
import type { MeterRow } from "./enrollment";
import { GridkeyError } from "./errors";
import { destroyOwnerKeys } from "./key-store";
import { iso } from "./time";

export type MeterFilter = { region?: string; state?: MeterState; suite?: number; kind?: DeviceKind; after?: string; limit: number };

/** A page of meters in id order; `next` is the cursor for the page after, if any. */
export async function listMeters(db: Db, filter: MeterFilter): Promise<{ meters: MeterRow[]; next: string | null }> {
  const where: SQL[] = [];
  if (filter.region) where.push(eq(meters.region, filter.region));
  if (filter.state) where.push(eq(meters.state, filter.state));
  if (filter.suite !== undefined) where.push(eq(meters.suite, filter.suite));
  if (filter.kind) where.push(eq(meters.kind, filter.kind));
  if (filter.after) where.push(gt(meters.id, filter.after));
  const rows = await db
    .select()
    .from(meters)
    .where(and(...where))
    .orderBy(asc(meters.id))
    .limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  return { meters: page, next: rows.length > filter.limit ? page[page.length - 1]!.id : null };
}

export async function getMeter(db: Db, id: string): Promise<MeterRow> {
  const [row] = await db.select().from(meters).where(eq(meters.id, id));
  if (!row) throw new GridkeyError("meter_not_found", `no meter or gateway ${id}`);
  return row;
}

/** Which states each operation may start from, and where it leads. */
const TRANSITIONS = {
  suspend: { from: ["active"], to: "suspended" },
  resume: { from: ["suspended"], to: "active" },
  revoke: { from: ["active", "suspended"], to: "revoked" },
} as const satisfies Record<string, { from: readonly MeterState[]; to: MeterState }>;

export type MeterTransition = keyof typeof TRANSITIONS;

/**
 * Moves a meter between states. Revocation is final: the meter's keys are destroyed in the
 * same transaction, so a revoked meter has no key left to use or export. Moving a meter to
 * the state it is already in changes nothing and succeeds, so a failed transition can be repeated.
 */
export async function transitionMeter(db: Db, ctx: AuditContext, id: string, op: MeterTransition, reason?: string): Promise<MeterRow> {
  const meter = await getMeter(db, id);
  const { from, to } = TRANSITIONS[op];
  // Already there: nothing to write or audit, but the caller enforces the state again
  // (revocation.ts), which completes a transition whose enforcement failed part way.
  if (meter.state === to) return meter;
  if (!(from as readonly MeterState[]).includes(meter.state)) {
    throw new GridkeyError("invalid_state", `cannot ${op} a meter that is ${meter.state}`);
  }
  const now = ctx.now ?? Date.now();
  const update = db
    .update(meters)
    .set({ state: to, updatedAt: now })
    .where(and(eq(meters.id, id), eq(meters.state, meter.state)));
  const changes = op === "revoke" ? [update, destroyOwnerKeys(db, "meter", id, now)] : [update];
  await commitAudited(db, ctx, { action: `meter.${op}`, targetType: "meter", targetId: id, details: { from: meter.state, to, ...(reason ? { reason } : {}) } }, changes);
  return { ...meter, state: to, updatedAt: now };
}

export function meterView(row: MeterRow) {
  return {
    id: row.id,
    kind: row.kind,
    systemTitle: row.systemTitle,
    region: row.region,
    suite: row.suite,
    identityCurve: row.identityCurve,
    identityPublicKey: row.identityPublicKey,
    state: row.state,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}
