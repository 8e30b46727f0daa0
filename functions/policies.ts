import { and, asc, eq, or } from "drizzle-orm";
import { policies, type PolicyClass, type PolicyScope } from "../schema";
import { type AuditContext, commitAudited } from "./audit-log";
import type { Db } from "./db";
import { GridkeyError } from "./errors";

export type PolicyFields = {
  rotationSeconds: number | null;
  maxInvocations: number | null;
  /** Group keys: null means the program's own setting (chosen at creation). */
  rekeyMode: "immediate" | "batched" | null;
  batchWindowSeconds: number | null;
  graceSeconds: number | null;
  sessionLifetimeSeconds: number | null;
};

const DAY = 86_400;
/** DLMS invocation counters are 32 bits: a GCM key's budget can never pass 2^32 − 1 frames. */
export const MAX_INVOCATIONS = 0xffffffff;

/** What applies when no row says otherwise. */
export const BUILT_IN: Record<PolicyClass, PolicyFields> = {
  unicast: { rotationSeconds: 90 * DAY, maxInvocations: MAX_INVOCATIONS, rekeyMode: null, batchWindowSeconds: null, graceSeconds: 7 * DAY, sessionLifetimeSeconds: null },
  authentication: { rotationSeconds: 90 * DAY, maxInvocations: MAX_INVOCATIONS, rekeyMode: null, batchWindowSeconds: null, graceSeconds: 7 * DAY, sessionLifetimeSeconds: null },
  kek: { rotationSeconds: 365 * DAY, maxInvocations: null, rekeyMode: null, batchWindowSeconds: null, graceSeconds: 7 * DAY, sessionLifetimeSeconds: null },
  broadcast: { rotationSeconds: 30 * DAY, maxInvocations: MAX_INVOCATIONS, rekeyMode: null, batchWindowSeconds: null, graceSeconds: DAY, sessionLifetimeSeconds: null },
  group: { rotationSeconds: null, maxInvocations: MAX_INVOCATIONS, rekeyMode: null, batchWindowSeconds: 300, graceSeconds: DAY, sessionLifetimeSeconds: null },
  session: { rotationSeconds: null, maxInvocations: null, rekeyMode: null, batchWindowSeconds: null, graceSeconds: null, sessionLifetimeSeconds: 3600 },
};

/** Which fields mean something for which class; the others are refused. */
const APPLIES: Record<keyof PolicyFields, PolicyClass[]> = {
  rotationSeconds: ["unicast", "authentication", "kek", "broadcast"],
  maxInvocations: ["unicast", "authentication", "broadcast", "group"],
  rekeyMode: ["group"],
  batchWindowSeconds: ["group"],
  graceSeconds: ["unicast", "authentication", "kek", "broadcast", "group"],
  sessionLifetimeSeconds: ["session"],
};

const LIMITS: Record<Exclude<keyof PolicyFields, "rekeyMode">, [number, number, string]> = {
  rotationSeconds: [60, 10 * 365 * DAY, "a rotation period is at least a minute"],
  maxInvocations: [1, MAX_INVOCATIONS, "a counter budget is 1 to 2^32 − 1 (the GCM invocation counter's size)"],
  batchWindowSeconds: [60, DAY, "a batch window is a minute to a day"],
  graceSeconds: [0, 365 * DAY, "a grace period is zero to a year"],
  sessionLifetimeSeconds: [60, DAY, "a session lasts a minute to a day"],
};

export function checkPolicy(keyClass: PolicyClass, fields: Partial<PolicyFields>): void {
  for (const [name, value] of Object.entries(fields) as [keyof PolicyFields, number | string | null | undefined][]) {
    if (value === undefined || value === null) continue;
    if (!APPLIES[name].includes(keyClass)) throw new GridkeyError("bad_parameter", `${name} does not apply to ${keyClass} keys`);
    if (name === "rekeyMode") continue; // its values are checked by the request schema
    const [min, max, rule] = LIMITS[name];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) throw new GridkeyError("bad_parameter", rule);
  }
}

export async function setPolicy(db: Db, ctx: AuditContext, scope: PolicyScope, scopeId: string, keyClass: PolicyClass, fields: Partial<PolicyFields>) {
  if ((scope === "default") !== (scopeId === "")) throw new GridkeyError("bad_parameter", "the default scope has no id; region and program scopes need one");
  checkPolicy(keyClass, fields);
  const row = {
    scope,
    scopeId,
    keyClass,
    rotationSeconds: fields.rotationSeconds ?? null,
    maxInvocations: fields.maxInvocations ?? null,
    rekeyMode: fields.rekeyMode ?? null,
    batchWindowSeconds: fields.batchWindowSeconds ?? null,
    graceSeconds: fields.graceSeconds ?? null,
    sessionLifetimeSeconds: fields.sessionLifetimeSeconds ?? null,
    updatedAt: ctx.now ?? Date.now(),
    updatedBy: ctx.actor.id,
  };
  const { updatedAt: _u, updatedBy: _b, ...set } = row;
  await commitAudited(db, ctx, { action: "policy.set", targetType: "policy", targetId: `${scope}:${scopeId}:${keyClass}`, details: { ...fields } }, [
    db.insert(policies).values(row).onConflictDoUpdate({ target: [policies.scope, policies.scopeId, policies.keyClass], set: { ...set, updatedAt: row.updatedAt, updatedBy: row.updatedBy } }),
  ]);
  return row;
}

export async function listPolicies(db: Db) {
  return db.select().from(policies).orderBy(asc(policies.keyClass), asc(policies.scope), asc(policies.scopeId));
}

/** The policy in force: the program's or region's row, then the default row, then built-in, field by field. */
export async function effectivePolicy(db: Db, keyClass: PolicyClass, where: { region?: string; program?: string } = {}): Promise<PolicyFields> {
  const rows = await db
    .select()
    .from(policies)
    .where(
      and(
        eq(policies.keyClass, keyClass),
        or(
          eq(policies.scope, "default"),
          and(eq(policies.scope, "region"), eq(policies.scopeId, where.region ?? "\u0000")),
          and(eq(policies.scope, "program"), eq(policies.scopeId, where.program ?? "\u0000")),
        ),
      ),
    );
  return resolvePolicy(rows, keyClass, where);
}

type PolicyRow = typeof policies.$inferSelect;

/**
 * The inheritance itself, over rows already read (any superset of the relevant ones): for
 * callers that need the policy of many regions at once without a query each.
 */
export function resolvePolicy(rows: PolicyRow[], keyClass: PolicyClass, where: { region?: string; program?: string } = {}): PolicyFields {
  const rank = { program: 0, region: 1, default: 2 } as const;
  const applicable = rows
    .filter(
      (r) =>
        r.keyClass === keyClass &&
        (r.scope === "default" || (r.scope === "region" && r.scopeId === where.region) || (r.scope === "program" && r.scopeId === where.program)),
    )
    .sort((a, b) => rank[a.scope] - rank[b.scope]);
  const out: Record<string, unknown> = { ...BUILT_IN[keyClass] };
  for (const field of Object.keys(out) as (keyof PolicyFields)[]) {
    const set = applicable.find((r) => r[field] !== null);
    if (set) out[field] = set[field];
  }
  return out as PolicyFields;
}
