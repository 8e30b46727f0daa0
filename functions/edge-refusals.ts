import { commitAudited } from "./audit-log";
import type { Db } from "./db";

/**
 * Records a refusal at the edge (docs/protocol.md §6): against the meter or gateway when
 * one is known, else against the region. Every refusal is recorded, including those of
 * requests too malformed to name anyone, so an operator can see an attack as it happens.
 * Rate-limit refusals are sampled by the caller (one record per key and minute, `extra`
 * naming how many went unrecorded): a flood must not become a flood of audit records.
 */
export async function auditEdgeRefusal(db: Db, requestId: string, region: string, code: string, deviceId?: string, extra?: Record<string, string | number>): Promise<void> {
  await commitAudited(db, { actor: { id: deviceId ? `device:${deviceId}` : "edge", role: "meter" }, requestId }, {
    action: "edge.refused",
    targetType: deviceId ? "device" : "region",
    targetId: deviceId ?? region,
    details: { code, region, ...extra },
  });
}
