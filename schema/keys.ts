import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Lifecycle of one key version (DESIGN.md §3). */
export const KEY_STATES = ["new", "active", "retired", "destroyed"] as const;
export type KeyState = (typeof KEY_STATES)[number];

/** What a key is for; the DLMS/COSEM names are in DESIGN.md §3. */
export const KEY_CLASSES = ["kek", "guek", "ak", "gbek", "transport", "signing", "concentrator"] as const;
export type KeyClass = (typeof KEY_CLASSES)[number];

export const OWNER_TYPES = ["meter", "region", "transport", "deployment"] as const;
export type OwnerType = (typeof OWNER_TYPES)[number];

/** AES keys, or an elliptic-curve private scalar (signing and static Diffie-Hellman keys). */
export const KEY_ALGORITHMS = ["AES-128", "AES-256", "P-256", "P-384"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/**
 * The key store: one row per key version. `wrapped` is the material sealed under master key
 * version `mk_version` (AES-256-GCM, AAD binds id, version and class); it is NULL once the
 * version is destroyed, and the row stays for the audit trail.
 */
export const keys = sqliteTable(
  "keys",
  {
    id: text("id").notNull(),
    version: integer("version").notNull(),
    ownerType: text("owner_type", { enum: OWNER_TYPES }).notNull(),
    ownerId: text("owner_id").notNull(),
    keyClass: text("class", { enum: KEY_CLASSES }).notNull(),
    state: text("state", { enum: KEY_STATES }).notNull(),
    algorithm: text("algorithm", { enum: KEY_ALGORITHMS }).notNull(),
    /** How the material came to be: generated here, or imported wrapped. */
    origin: text("origin", { enum: ["generated", "imported"] }).notNull(),
    mkVersion: integer("mk_version").notNull(),
    wrapped: text("wrapped"),
    createdAt: integer("created_at").notNull(),
    rotatedAt: integer("rotated_at"),
    expiresAt: integer("expires_at"),
    destroyedAt: integer("destroyed_at"),
  },
  (t) => [
    primaryKey({ columns: [t.id, t.version] }),
    index("keys_owner").on(t.ownerType, t.ownerId, t.keyClass),
    index("keys_mk_version").on(t.mkVersion),
  ],
);
