import { and, eq } from "drizzle-orm";
import { keys } from "../schema";
import { type AuditContext, commitAudited } from "./audit-log";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { sealNextVersion } from "./key-store";

type KeyRow = typeof keys.$inferSelect;

/**
 * A region's DLMS broadcast key (GBEK) gets a new version at once (no meter confirms a
 * broadcast key); the old one is retired, readable through the grace period, then destroyed.
 */
export async function rotateBroadcastKey(db: Db, custody: Custody, ctx: AuditContext, key: KeyRow, now: number, reason?: string): Promise<void> {
  const next = await sealNextVersion(custody, key, { now });
  await commitAudited(db, ctx, { action: "key.rotate", targetType: "key", targetId: key.id, details: { retired: key.version, active: next.version, ...(reason ? { reason } : {}) } }, [
    db.update(keys).set({ state: "retired", rotatedAt: now }).where(and(eq(keys.id, key.id), eq(keys.version, key.version), eq(keys.state, "active"))),
    db.insert(keys).values(next),
  ]);
}

/** Every active broadcast key of a region, rotated now: a meter of the region was revoked or suspended. */
export async function rotateRegionBroadcastKeys(db: Db, custody: Custody, ctx: AuditContext, region: string, reason: string): Promise<string[]> {
  const now = ctx.now ?? Date.now();
  const active = await db.select().from(keys).where(and(eq(keys.keyClass, "gbek"), eq(keys.ownerType, "region"), eq(keys.ownerId, region), eq(keys.state, "active")));
  for (const key of active) await rotateBroadcastKey(db, custody, ctx, key, now, reason);
  return active.map((k) => k.id);
}
