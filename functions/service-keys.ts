import { and, desc, eq, inArray } from "drizzle-orm";
import { keys, type KeyAlgorithm, type KeyClass, type OwnerType } from "../schema";
import { type AuditContext, commitAudited } from "./audit-log";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { type KeyRow, openKey, sealNewKey } from "./key-store";

export type ServiceKeySpec = {
  /** A deterministic id: one key per (purpose, owner), so concurrent first uses converge. */
  id: string;
  ownerType: OwnerType;
  ownerId: string;
  keyClass: KeyClass;
  algorithm: KeyAlgorithm;
  /** Fresh material for version 1; absent for AES keys (random bytes of the right size). */
  generate?: () => Promise<Uint8Array>;
};

export const SYSTEM_ACTOR: AuditContext["actor"] = { id: "system", role: "system" };

/**
 * The current version of a key gridkey makes for itself (central signing key, a region's
 * concentrator and broadcast keys), created on first use. Two callers racing to create it
 * collide on the primary key; the loser's batch rolls back (no audit record either) and it
 * reads the winner's key.
 */
export async function serviceKey(db: Db, custody: Custody, spec: ServiceKeySpec, requestId: string): Promise<{ row: KeyRow; material: Uint8Array }> {
  const existing = await currentVersion(db, spec.id);
  if (existing) return { row: existing, material: await openKey(custody, existing) };
  const now = Date.now();
  const material = spec.generate ? await spec.generate() : undefined;
  const row = await sealNewKey(custody, { ...spec, material: material?.slice(), now });
  try {
    await commitAudited(db, { actor: SYSTEM_ACTOR, requestId, now }, { action: "key.create", targetType: "key", targetId: spec.id, details: { class: spec.keyClass, ownerType: spec.ownerType, ownerId: spec.ownerId, algorithm: spec.algorithm } }, [
      db.insert(keys).values(row),
    ]);
  } catch (err) {
    const winner = await currentVersion(db, spec.id);
    if (!winner) throw err;
    return { row: winner, material: await openKey(custody, winner) };
  }
  return { row, material: await openKey(custody, row) };
}

async function currentVersion(db: Db, id: string): Promise<KeyRow | undefined> {
  const [row] = await db
    .select()
    .from(keys)
    .where(and(eq(keys.id, id), inArray(keys.state, ["active"])))
    .orderBy(desc(keys.version))
    .limit(1);
  return row;
}
