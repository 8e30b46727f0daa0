import { commitAudited } from "./audit-log";
import type { Db } from "./db";
import { RefusalSampler } from "./rate-limits";

/**
 * Records a refusal at the edge (docs/protocol.md §6): against the meter or gateway when
 * one is known, else against the region, so an operator can see an attack as it happens.
 * Rate-limit refusals and requests too malformed to reach a concentrator are sampled (one
 * record per key and minute, `extra` naming how many went unrecorded): a flood must not
 * become a flood of audit records.
 */
export async function auditEdgeRefusal(db: Db, requestId: string, region: string, code: string, deviceId?: string, extra?: Record<string, string | number>): Promise<void> {
  await commitAudited(db, { actor: { id: deviceId ? `device:${deviceId}` : "edge", role: "meter" }, requestId }, {
    action: "edge.refused",
    targetType: deviceId ? "device" : "region",
    targetId: deviceId ?? region,
    details: { code, region, ...extra },
  });
}

/**
 * Requests the edge refuses before any concentrator sees them (no region, wrong media type,
 * too large) cost nothing but their audit record, so a flood of them would be a flood of D1
 * writes on the audit chain. They are sampled per client address and code: the first in
 * each minute is recorded, naming how many went unrecorded before it. Kept per isolate (no
 * shared state to ask first), so each isolate records at most one per address, code and minute.
 */
const malformed = new RefusalSampler();

export async function auditMalformedRequest(db: Db, requestId: string, region: string, code: string, address: string): Promise<void> {
  const unrecorded = malformed.record(`${address}|${code}`);
  if (unrecorded === undefined) return;
  await auditEdgeRefusal(db, requestId, region, code, undefined, { address, unrecorded });
}
