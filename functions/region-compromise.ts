import { and, desc, eq, sql } from "drizzle-orm";
import { keys } from "../schema";
import { type AuditContext, commitAudited } from "./audit-log";
import { generateP256KeyPair, generateP384KeyPair } from "./crypto";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { sealNextVersion } from "./key-store";
import { GridkeyError } from "./errors";
import { rotateProgramKey } from "./programs";
import { rotateRegionTree } from "./region-tree";

/**
 * A concentrator or region presumed compromised, handled in one call (DESIGN.md §5): its
 * sessions and caches are dropped, its credentials and the region's broadcast keys are
 * replaced (the old versions destroyed, not merely retired: they may be in other hands),
 * every DR program with members in the region gets a new group key, and so does the
 * region's key tree. Meters run EDHOC
 * again, meet the new credential, and fetch their new keys.
 */
export async function compromiseRegion(db: Db, env: Env, custody: Custody, ctx: AuditContext, region: string) {
  const sessions = await env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(region)).resetAfterCompromise();
  const replaced: string[] = [];
  const generators: Record<string, (() => Promise<Uint8Array>) | undefined> = {
    [`concentrator:${region}`]: async () => (await generateP256KeyPair()).privateKey,
    [`concentrator:${region}:P-384`]: async () => (await generateP384KeyPair()).privateKey,
    [`gbek:${region}:AES-128`]: undefined,
    [`gbek:${region}:AES-256`]: undefined,
  };
  for (const [id, generate] of Object.entries(generators)) {
    if (await replaceKey(db, custody, ctx, id, generate)) replaced.push(id);
  }
  const rows = await db.all<{ program_id: string }>(
    sql`SELECT DISTINCT pm.program_id AS program_id FROM program_members pm JOIN meters m ON m.id = pm.meter_id JOIN programs p ON p.id = pm.program_id WHERE m.region = ${region} AND p.state = 'active'`,
  );
  for (const { program_id } of rows) await rotateProgramKey(db, env, ctx, program_id, `region ${region} compromised`);
  const tree = await rotateRegionTree(db, env, ctx, region);
  if (tree.ok) replaced.push(`region:${region}`);
  else if (tree.code !== "invalid_state") throw new GridkeyError(tree.code, tree.message); // invalid_state: the region has no tree yet
  const report = { sessionsDropped: sessions, keysReplaced: replaced, programsRekeyed: rows.map((r) => r.program_id) };
  await commitAudited(db, ctx, { action: "region.compromise", targetType: "region", targetId: region, details: report });
  return report;
}

/** Version n+1 becomes the active one and version n is destroyed, in one transaction. */
async function replaceKey(db: Db, custody: Custody, ctx: AuditContext, id: string, generate?: () => Promise<Uint8Array>): Promise<boolean> {
  const [current] = await db.select().from(keys).where(and(eq(keys.id, id), eq(keys.state, "active"))).orderBy(desc(keys.version)).limit(1);
  if (!current) return false;
  const now = ctx.now ?? Date.now();
  const material = generate ? await generate() : undefined;
  const next = await sealNextVersion(custody, current, { material, now });
  await commitAudited(db, ctx, { action: "key.replace", targetType: "key", targetId: id, details: { destroyed: current.version, active: next.version, reason: "compromise" } }, [
    db.update(keys).set({ state: "destroyed", wrapped: null, destroyedAt: now, rotatedAt: now }).where(and(eq(keys.id, id), eq(keys.version, current.version))),
    db.insert(keys).values(next),
  ]);
  return true;
}
