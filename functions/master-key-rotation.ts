import { and, count, eq, inArray, isNotNull } from "drizzle-orm";
import { keys } from "../schema";
import { type AuditContext, commitAudited } from "./audit-log";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { keyAad } from "./key-store";

export const DEFAULT_REWRAP_CHUNK = 200;

/**
 * Where a master-key rotation stands: how many stored keys each master-key version seals,
 * and whether custody holds that version. `unreadable` must stay 0: a version may be
 * removed from MASTER_KEYS only once no key is sealed under it.
 */
export async function rotationStatus(db: Db, custody: Custody) {
  const rows = await db
    .select({ version: keys.mkVersion, keys: count() })
    .from(keys)
    .where(isNotNull(keys.wrapped))
    .groupBy(keys.mkVersion);
  const byVersion = rows.map((r) => ({ version: r.version, keys: r.keys, held: custody.holds(r.version) }));
  const pending = byVersion.filter((v) => v.version !== custody.current).reduce((n, v) => n + v.keys, 0);
  const unreadable = byVersion.filter((v) => !v.held).reduce((n, v) => n + v.keys, 0);
  return { current: custody.current, held: custody.versions, byVersion, pending, unreadable, complete: pending === 0 };
}

/**
 * Re-seals up to `limit` keys from older master-key versions under the current one. Each
 * row is replaced in a single UPDATE guarded by its old version, so at every instant every
 * key is readable (under the old version until the update, the new one after), and two
 * overlapping runs cannot undo each other. Call again until `remaining` is 0.
 */
export async function rewrapChunk(db: Db, custody: Custody, ctx: AuditContext, limit = DEFAULT_REWRAP_CHUNK) {
  const held = custody.versions.filter((v) => v !== custody.current);
  const readable = held.length === 0 ? [] : await db.select().from(keys).where(and(isNotNull(keys.wrapped), inArray(keys.mkVersion, held))).limit(limit);
  const updates = [];
  for (const row of readable) {
    const aad = keyAad(row.id, row.version, row.keyClass);
    const material = await custody.open(row.mkVersion, row.wrapped!, aad);
    const { mkVersion, sealed } = await custody.seal(material, aad);
    material.fill(0);
    updates.push(
      db
        .update(keys)
        .set({ wrapped: sealed, mkVersion })
        .where(and(eq(keys.id, row.id), eq(keys.version, row.version), eq(keys.mkVersion, row.mkVersion), isNotNull(keys.wrapped))),
    );
  }
  if (updates.length > 0) {
    await commitAudited(db, ctx, { action: "master_key.rewrap", targetType: "master_key", targetId: String(custody.current), details: { rewrapped: updates.length } }, updates);
  }
  const status = await rotationStatus(db, custody);
  return { rewrapped: updates.length, remaining: status.pending - status.unreadable };
}
