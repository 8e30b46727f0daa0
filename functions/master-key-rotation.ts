import { and, count, eq, inArray, isNotNull } from "drizzle-orm";
import { keys, meters, programs } from "../schema";
import { type AuditContext, commitAudited } from "./audit-log";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { keyAad } from "./key-store";
import { regionGraphName } from "./rekey-bundles";
import { rpcValue } from "./rpc";

export const DEFAULT_REWRAP_CHUNK = 200;

/**
 * Where a master-key rotation stands: how many stored keys each master-key version seals
 * (the registry's, and with `env` the key graphs' node keys too),
 * and whether custody holds that version. `unreadable` must stay 0: a version may be
 * removed from MASTER_KEYS only once no key is sealed under it.
 */
export async function rotationStatus(db: Db, custody: Custody, env?: Env) {
  const rows = await db
    .select({ version: keys.mkVersion, keys: count() })
    .from(keys)
    .where(isNotNull(keys.wrapped))
    .groupBy(keys.mkVersion);
  // The key graphs' node keys are sealed under the master key too (in their Durable Objects).
  const counts = new Map(rows.map((r) => [r.version, r.keys]));
  if (env) for (const g of await keyGraphs(db, env)) for (const r of await rpcValue(g.sealedVersions())) counts.set(r.version, (counts.get(r.version) ?? 0) + r.keys);
  const byVersion = [...counts].sort(([a], [b]) => a - b).map(([version, n]) => ({ version, keys: n, held: custody.holds(version) }));
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
export async function rewrapChunk(db: Db, custody: Custody, ctx: AuditContext, limit = DEFAULT_REWRAP_CHUNK, env?: Env) {
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
  const graphs = env && held.length > 0 && updates.length < limit ? await rewrapGraphs(db, env, ctx, limit - updates.length) : 0;
  const status = await rotationStatus(db, custody, env);
  return { rewrapped: updates.length + graphs, remaining: status.pending - status.unreadable };
}

/**
 * The key graphs' share of a rotation: every program's graph and every region's tree
 * re-seals its node keys, up to `limit` in all. Each graph re-seals inside its own queue
 * (graph-object.ts), so this is safe beside epochs; one audit record for the run.
 */
async function rewrapGraphs(db: Db, env: Env, ctx: AuditContext, limit: number): Promise<number> {
  let done = 0;
  for (const g of await keyGraphs(db, env)) {
    if (done >= limit) break;
    done += await rpcValue(g.rewrap(limit - done));
  }
  if (done > 0) await commitAudited(db, ctx, { action: "master_key.rewrap", targetType: "master_key", targetId: "key-graphs", details: { rewrapped: done } });
  return done;
}

/** Every key graph that may hold sealed keys: active programs' (tree or cover) and the regions' trees. */
async function keyGraphs(db: Db, env: Env) {
  const active = await db.select({ id: programs.id, keying: programs.keying }).from(programs).where(eq(programs.state, "active"));
  const regions = await db.selectDistinct({ region: meters.region }).from(meters).where(eq(meters.kind, "meter"));
  return [
    ...active.map((p) => (p.keying === "cover" ? env.COVER_GRAPH.get(env.COVER_GRAPH.idFromName(p.id)) : env.KEY_GRAPH.get(env.KEY_GRAPH.idFromName(p.id)))),
    ...regions.map((r) => env.KEY_GRAPH.get(env.KEY_GRAPH.idFromName(regionGraphName(r.region)))),
  ];
}
