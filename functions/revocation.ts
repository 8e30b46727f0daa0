import { eq } from "drizzle-orm";
import { programMembers } from "../schema";
import type { AuditContext } from "./audit-log";
import type { Db } from "./db";
import type { MeterRow } from "./enrollment";
import { changeMembers } from "./programs";

/**
 * What a meter's change of state sets off beyond the registry: a meter that is no longer
 * active loses its sessions at its concentrator at once, and a revoked meter leaves every
 * DR program it was in (one rekey each, or queued for the next flush of a batched
 * program), so the group keys it held stop being current.
 */
export async function enforceMeterState(db: Db, env: Env, ctx: AuditContext, meter: MeterRow): Promise<{ programsLeft: string[] }> {
  if (meter.state === "active") return { programsLeft: [] };
  await env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(meter.region)).dropMeter(meter.id);
  if (meter.state !== "revoked") return { programsLeft: [] };
  const rows = await db.select({ programId: programMembers.programId }).from(programMembers).where(eq(programMembers.meterId, meter.id));
  for (const { programId } of rows) await changeMembers(db, env, ctx, programId, { add: [], remove: [meter.id] });
  return { programsLeft: rows.map((r) => r.programId) };
}
