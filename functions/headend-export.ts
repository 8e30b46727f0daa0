import { DLMS_KEY_ID } from "../wire/key-transfer";
import type { Principal } from "./app-env";
import { type AuditContext, commitAudited } from "./audit-log";
import { toHex, wrap } from "./crypto";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { GridkeyError } from "./errors";
import { activeKeysOfOwner, openKey } from "./key-store";
import { getMeter } from "./meter-registry";
import { openTransportKey } from "./transport-keys";


/**
 * A meter's active keys, each wrapped (RFC 3394) under the calling head-end's transport
 * key: what a DLMS head-end system loads. The plaintext exists only inside this call.
 */
export async function exportMeterKeys(db: Db, custody: Custody, ctx: AuditContext, principal: Principal, meterId: string) {
  if (!principal.transportKeyId) throw new GridkeyError("forbidden", "this token has no head-end transport key");
  const meter = await getMeter(db, meterId);
  if (meter.state === "revoked") throw new GridkeyError("invalid_state", "the meter is revoked; its keys are destroyed");
  const transportKey = await openTransportKey(db, custody, principal.transportKeyId, "headend");
  const exported = [];
  for (const row of await activeKeysOfOwner(db, "meter", meterId)) {
    const material = await openKey(custody, row);
    exported.push({
      class: row.keyClass,
      dlmsKeyId: row.keyClass in DLMS_KEY_ID ? DLMS_KEY_ID[row.keyClass as keyof typeof DLMS_KEY_ID] : null,
      keyId: row.id,
      version: row.version,
      algorithm: row.algorithm,
      wrapped: toHex(await wrap(transportKey, material)),
    });
    material.fill(0);
  }
  transportKey.fill(0);
  await commitAudited(db, ctx, {
    action: "meter.keys.export",
    targetType: "meter",
    targetId: meterId,
    details: { transportKeyId: principal.transportKeyId, keys: exported.map((k) => ({ id: k.keyId, version: k.version })) },
  });
  return { meterId, systemTitle: meter.systemTitle, transportKeyId: principal.transportKeyId, keys: exported };
}
