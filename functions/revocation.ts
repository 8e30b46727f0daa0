import { eq } from "drizzle-orm";
import { programMembers } from "../schema";
import type { AuditContext } from "./audit-log";
import type { Db } from "./db";
import type { MeterRow } from "./enrollment";
import { changeMembers, leaveAllGraphs, setMembershipsSuspended } from "./programs";
import { adjustRegionTrees } from "./region-tree";
import { rotateRegionBroadcastKeys } from "./broadcast-keys";
import { custodyFor } from "./custody";

/**
 * What a meter's change of state sets off beyond the registry: a meter that is no longer
 * active loses its sessions at its concentrator at once and leaves the key graph of every
 * DR program it is in (one rekey each, or queued for the next flush of a batched program),
 * so the group keys it held stop being current, then its region's key tree (a new
 * broadcast group key), and its region's DLMS broadcast keys are rotated. Suspension keeps the registrations and a resume rejoins them all;
 * revocation ends them. Every step is idempotent, so repeating the transition after a
 * failure part way (meter-registry.ts lets a meter be moved to the state it is in) completes it.
 */
export async function enforceMeterState(db: Db, env: Env, ctx: AuditContext, meter: MeterRow): Promise<{ programsLeft: string[]; broadcastKeysRotated: string[] }> {
  if (meter.state === "active") {
    await adjustRegionTrees(db, env, ctx, { join: [meter] });
    await setMembershipsSuspended(db, env, ctx, meter.id, false);
    return { programsLeft: [], broadcastKeysRotated: [] };
  }
  await env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(meter.region)).dropMeter(meter.id);
  let programsLeft: string[];
  if (meter.state === "suspended") programsLeft = await setMembershipsSuspended(db, env, ctx, meter.id, true);
  else {
    await leaveAllGraphs(db, env, ctx, meter.id);
    const rows = await db.select({ programId: programMembers.programId }).from(programMembers).where(eq(programMembers.meterId, meter.id));
    for (const { programId } of rows) await changeMembers(db, env, ctx, programId, { add: [], remove: [meter.id] });
    programsLeft = rows.map((r) => r.programId);
  }
  // After the programs: a cover-keyed program's new key must be wrapped while the meter's
  // leaf is still occupied, so no cover subtree includes it.
  await adjustRegionTrees(db, env, ctx, { leave: [meter] });
  // The meter holds its region's DLMS broadcast key too: head-ends get a new one at once.
  const broadcastKeysRotated = meter.kind === "meter" ? await rotateRegionBroadcastKeys(db, await custodyFor(env), ctx, meter.region, `meter ${meter.id} ${meter.state}`) : [];
  return { programsLeft, broadcastKeysRotated };
}
