import { and, eq, inArray } from "drizzle-orm";
import { keys, type KeyAlgorithm, type KeyClass } from "../schema";
import { DLMS_KEY_ID, encodeKeyData, type KeyTransferEntry } from "../wire/key-transfer";
import { type AuditContext, commitAudited } from "./audit-log";
import { wrap } from "./crypto";
import type { Custody } from "./custody";
import type { Db } from "./db";
import type { MeterRow } from "./enrollment";
import { GridkeyError } from "./errors";
import { type KeyRow, keysOfOwner, openKey, sealNextVersion } from "./key-store";
import { serviceKey } from "./service-keys";

export type DeliveredKey = { class: KeyClass; dlmsKeyId: number; keyId: string; version: number; state: string };

/**
 * What a meter receives when it asks for its keys (docs/protocol.md §5): its unicast
 * encryption and authentication keys and its region's broadcast key, plus a new KEK while a
 * KEK change is pending, each wrapped (RFC 3394) under its current KEK and laid out as DLMS
 * global key transfer key_data. A version waiting for acknowledgement is sent instead of
 * the active one it will replace.
 */
export async function keyDelivery(db: Db, custody: Custody, meter: MeterRow, requestId: string): Promise<{ keyData: Uint8Array; keys: DeliveredKey[] }> {
  const rows = (await keysOfOwner(db, "meter", meter.id)).filter((k) => k.state === "new" || k.state === "active");
  const kekRow = rows.find((k) => k.keyClass === "kek" && k.state === "active");
  if (!kekRow) throw new GridkeyError("invalid_state", "the meter has no active KEK");
  const kek = await openKey(custody, kekRow);
  const outgoing: KeyRow[] = [];
  for (const keyClass of ["guek", "ak"] as const) {
    const candidates = rows.filter((k) => k.keyClass === keyClass);
    const chosen = candidates.find((k) => k.state === "new") ?? candidates.find((k) => k.state === "active");
    if (chosen) outgoing.push(chosen);
  }
  const pendingKek = rows.find((k) => k.keyClass === "kek" && k.state === "new");
  if (pendingKek) outgoing.push(pendingKek);
  const entries: KeyTransferEntry[] = [];
  const delivered: DeliveredKey[] = [];
  for (const row of outgoing) {
    const material = await openKey(custody, row);
    entries.push({ keyId: DLMS_KEY_ID[row.keyClass as keyof typeof DLMS_KEY_ID], wrapped: await wrap(kek, material) });
    delivered.push(describe(row));
    material.fill(0);
  }
  const gbek = await broadcastKey(db, custody, meter.region, kekRow.algorithm, requestId);
  entries.push({ keyId: DLMS_KEY_ID.gbek, wrapped: await wrap(kek, gbek.material) });
  delivered.push(describe(gbek.row));
  gbek.material.fill(0);
  kek.fill(0);
  return { keyData: encodeKeyData(entries), keys: delivered };
}

function describe(row: KeyRow): DeliveredKey {
  return { class: row.keyClass, dlmsKeyId: DLMS_KEY_ID[row.keyClass as keyof typeof DLMS_KEY_ID], keyId: row.id, version: row.version, state: row.state };
}

/** A region's broadcast key (GBEK) of the size its meters' suite uses, created on first use. */
export function broadcastKey(db: Db, custody: Custody, region: string, algorithm: KeyAlgorithm, requestId: string) {
  return serviceKey(db, custody, { id: `gbek:${region}:${algorithm}`, ownerType: "region", ownerId: region, keyClass: "gbek", algorithm }, requestId);
}

/**
 * Starts a two-phase change of one of a meter's keys: version n+1 is made in state "new",
 * delivered through the meter's sessions, and becomes active when the meter acknowledges it.
 */
export async function rotateMeterKey(db: Db, custody: Custody, ctx: AuditContext, meter: MeterRow, keyClass: "kek" | "guek" | "ak"): Promise<KeyRow> {
  if (meter.state === "revoked") throw new GridkeyError("invalid_state", "the meter is revoked");
  const versions = (await keysOfOwner(db, "meter", meter.id)).filter((k) => k.keyClass === keyClass);
  const active = versions.find((k) => k.state === "active");
  if (!active) throw new GridkeyError("invalid_state", `the meter has no active ${keyClass}`);
  if (versions.some((k) => k.state === "new")) throw new GridkeyError("invalid_state", `a ${keyClass} change is already waiting for the meter`);
  const now = ctx.now ?? Date.now();
  const next = await sealNextVersion(custody, active, { version: Math.max(...versions.map((k) => k.version)) + 1, state: "new", now });
  await commitAudited(db, ctx, { action: "meter.key.rotate", targetType: "key", targetId: active.id, details: { meterId: meter.id, class: keyClass, version: next.version } }, [
    db.insert(keys).values(next),
  ]);
  return next;
}

/**
 * The meter confirms new versions: each becomes active and the version it replaces retired
 * (still readable for frames protected before the switch, until destroyed by policy).
 */
export async function acknowledgeKeys(db: Db, ctx: AuditContext, meter: MeterRow, acked: Array<{ keyId: string; version: number }>): Promise<number> {
  const rows = await keysOfOwner(db, "meter", meter.id);
  const pending = acked.map(({ keyId, version }) => rows.find((k) => k.id === keyId && k.version === version && k.state === "new"));
  if (pending.some((row) => !row)) throw new GridkeyError("bad_parameter", "only versions waiting for acknowledgement can be acknowledged");
  if (pending.length === 0) return 0;
  const now = ctx.now ?? Date.now();
  const changes = pending.flatMap((row) => [
    db.update(keys).set({ state: "retired", rotatedAt: now }).where(and(eq(keys.id, row!.id), eq(keys.state, "active"))),
    db.update(keys).set({ state: "active" }).where(and(eq(keys.id, row!.id), eq(keys.version, row!.version), inArray(keys.state, ["new"]))),
  ]);
  const entries = pending.map((row) => ({ action: "meter.key.acknowledge", targetType: "key", targetId: row!.id, details: { meterId: meter.id, class: row!.keyClass, version: row!.version } }));
  await commitAudited(db, ctx, entries, changes);
  return pending.length;
}

