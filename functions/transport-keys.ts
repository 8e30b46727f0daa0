import { asc, eq } from "drizzle-orm";
import { keys, transportKeys, type TransportPurpose } from "../schema";
import { type AuditContext, commitAudited } from "./audit-log";
import { randomBytes, toHex } from "./crypto";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { GridkeyError } from "./errors";
import { openKey, sealNewKey } from "./key-store";
import { iso } from "./time";

export type TransportKeyRow = typeof transportKeys.$inferSelect;

/**
 * Registers a transport key agreed with an outside system (a manufacturer or a head-end).
 * The material arrives once, over TLS, from an admin, and is stored sealed like every key.
 */
export async function importTransportKey(
  db: Db,
  custody: Custody,
  ctx: AuditContext,
  spec: { name: string; purpose: TransportPurpose; material: Uint8Array },
): Promise<TransportKeyRow> {
  if (spec.material.length !== 16 && spec.material.length !== 32) {
    throw new GridkeyError("bad_key_size", "a transport key is 16 or 32 bytes (AES-128 or AES-256)");
  }
  const now = ctx.now ?? Date.now();
  const id = `tk_${toHex(randomBytes(8))}`;
  const algorithm = spec.material.length === 16 ? "AES-128" : "AES-256";
  const keyRow = await sealNewKey(custody, { ownerType: "transport", ownerId: id, keyClass: "transport", algorithm, material: spec.material, now });
  const row: TransportKeyRow = { id, name: spec.name, purpose: spec.purpose, keyId: keyRow.id, createdAt: now, createdBy: ctx.actor.id };
  await commitAudited(db, ctx, { action: "transport_key.import", targetType: "transport_key", targetId: id, details: { name: spec.name, purpose: spec.purpose, keyId: keyRow.id, algorithm } }, [
    db.insert(keys).values(keyRow),
    db.insert(transportKeys).values(row),
  ]);
  return row;
}

export async function listTransportKeys(db: Db): Promise<TransportKeyRow[]> {
  return db.select().from(transportKeys).orderBy(asc(transportKeys.name));
}

/** The plaintext transport key, checked for the purpose the caller needs it for. */
export async function openTransportKey(db: Db, custody: Custody, id: string, purpose: TransportPurpose): Promise<Uint8Array> {
  const [tk] = await db.select().from(transportKeys).where(eq(transportKeys.id, id));
  if (!tk) throw new GridkeyError("transport_key_not_found", `no transport key ${id}`);
  if (tk.purpose !== purpose) throw new GridkeyError("bad_parameter", `transport key ${id} is not a ${purpose} key`);
  const [row] = await db.select().from(keys).where(eq(keys.id, tk.keyId));
  if (!row) throw new GridkeyError("key_not_found", `transport key ${id} has no material`);
  return openKey(custody, row);
}

export function transportKeyView(row: TransportKeyRow) {
  return { id: row.id, name: row.name, purpose: row.purpose, keyId: row.keyId, createdAt: iso(row.createdAt), createdBy: row.createdBy };
}
