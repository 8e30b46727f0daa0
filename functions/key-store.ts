import { and, asc, eq, sql } from "drizzle-orm";
import { keys, type KeyAlgorithm, type KeyClass, type KeyState, type OwnerType } from "../schema";
import { randomBytes, toHex, utf8 } from "./crypto";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { GridkeyError } from "./errors";
import { iso } from "./time";

export type KeyRow = typeof keys.$inferSelect;

/** Public view of a key version: everything but the material. */
export type KeyMetadata = {
  id: string;
  version: number;
  ownerType: OwnerType;
  ownerId: string;
  class: KeyClass;
  state: KeyState;
  algorithm: KeyAlgorithm;
  origin: "generated" | "imported";
  masterKeyVersion: number;
  createdAt: string;
  rotatedAt: string | null;
  expiresAt: string | null;
  destroyedAt: string | null;
};

export const KEY_BYTES: Record<KeyAlgorithm, number> = { "AES-128": 16, "AES-256": 32 };

/** The AAD that binds a sealed blob to exactly one key version and purpose. */
export function keyAad(id: string, version: number, keyClass: KeyClass): Uint8Array {
  return utf8(`gridkey/key/v1|${id}|${version}|${keyClass}`);
}

export function newKeyId(): string {
  return `key_${toHex(randomBytes(12))}`;
}

export type NewKey = {
  id?: string;
  version?: number;
  ownerType: OwnerType;
  ownerId: string;
  keyClass: KeyClass;
  algorithm: KeyAlgorithm;
  /** Imported material; generated fresh when absent. */
  material?: Uint8Array;
  now: number;
};

/** Builds the row for a new key version, its material sealed under the current master key. */
export async function sealNewKey(custody: Custody, spec: NewKey): Promise<KeyRow> {
  const id = spec.id ?? newKeyId();
  const version = spec.version ?? 1;
  const size = KEY_BYTES[spec.algorithm];
  if (spec.material && spec.material.length !== size) {
    throw new GridkeyError("bad_key_size", `${spec.keyClass} must be ${size} bytes for ${spec.algorithm}`);
  }
  const material = spec.material ?? randomBytes(size);
  const { mkVersion, sealed } = await custody.seal(material, keyAad(id, version, spec.keyClass));
  material.fill(0);
  return {
    id,
    version,
    ownerType: spec.ownerType,
    ownerId: spec.ownerId,
    keyClass: spec.keyClass,
    state: "active",
    algorithm: spec.algorithm,
    origin: spec.material ? "imported" : "generated",
    mkVersion,
    wrapped: sealed,
    createdAt: spec.now,
    rotatedAt: null,
    expiresAt: null,
    destroyedAt: null,
  };
}

/** The plaintext of one key version, for the duration of a call. */
export async function openKey(custody: Custody, row: KeyRow): Promise<Uint8Array> {
  if (row.state === "destroyed" || row.wrapped === null) {
    throw new GridkeyError("invalid_state", `key ${row.id} version ${row.version} is destroyed`);
  }
  return custody.open(row.mkVersion, row.wrapped, keyAad(row.id, row.version, row.keyClass));
}

export function keyMetadata(row: KeyRow): KeyMetadata {
  return {
    id: row.id,
    version: row.version,
    ownerType: row.ownerType,
    ownerId: row.ownerId,
    class: row.keyClass,
    state: row.state,
    algorithm: row.algorithm,
    origin: row.origin,
    masterKeyVersion: row.mkVersion,
    createdAt: iso(row.createdAt),
    rotatedAt: iso(row.rotatedAt),
    expiresAt: iso(row.expiresAt),
    destroyedAt: iso(row.destroyedAt),
  };
}

export async function keysOfOwner(db: Db, ownerType: OwnerType, ownerId: string): Promise<KeyRow[]> {
  return db
    .select()
    .from(keys)
    .where(and(eq(keys.ownerType, ownerType), eq(keys.ownerId, ownerId)))
    .orderBy(asc(keys.keyClass), asc(keys.version));
}

/** The version in use for each class an owner has: the active one. */
export async function activeKeysOfOwner(db: Db, ownerType: OwnerType, ownerId: string): Promise<KeyRow[]> {
  return (await keysOfOwner(db, ownerType, ownerId)).filter((k) => k.state === "active");
}

export async function keyVersions(db: Db, id: string): Promise<KeyRow[]> {
  const rows = await db.select().from(keys).where(eq(keys.id, id)).orderBy(asc(keys.version));
  if (rows.length === 0) throw new GridkeyError("key_not_found", `no key ${id}`);
  return rows;
}

/** Destroys every live version an owner has: the material is erased, the rows stay for audit. */
export function destroyOwnerKeys(db: Db, ownerType: OwnerType, ownerId: string, now: number) {
  return db
    .update(keys)
    .set({ state: "destroyed", wrapped: null, destroyedAt: now })
    .where(and(eq(keys.ownerType, ownerType), eq(keys.ownerId, ownerId), sql`${keys.state} != 'destroyed'`));
}
