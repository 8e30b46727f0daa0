import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** What a policy row applies to: everything, one region, or one DR program. */
export const POLICY_SCOPES = ["default", "region", "program"] as const;
export type PolicyScope = (typeof POLICY_SCOPES)[number];

/** The key classes policies speak of (DESIGN.md §5), named as operators know them. */
export const POLICY_CLASSES = ["unicast", "authentication", "kek", "broadcast", "group", "session"] as const;
export type PolicyClass = (typeof POLICY_CLASSES)[number];

/**
 * Refresh policies (DESIGN.md §5). A NULL field inherits: program or region row, then the
 * default row, then the built-in default (functions/policies.ts). Times in seconds.
 */
export const policies = sqliteTable(
  "policies",
  {
    scope: text("scope", { enum: POLICY_SCOPES }).notNull(),
    /** Region or program id; "" for the default scope. */
    scopeId: text("scope_id").notNull(),
    keyClass: text("key_class", { enum: POLICY_CLASSES }).notNull(),
    rotationSeconds: integer("rotation_seconds"),
    maxInvocations: integer("max_invocations"),
    /** Group keys only: rekey on each membership change, or batch changes over the window. */
    rekeyMode: text("rekey_mode", { enum: ["immediate", "batched"] }),
    batchWindowSeconds: integer("batch_window_seconds"),
    graceSeconds: integer("grace_seconds"),
    sessionLifetimeSeconds: integer("session_lifetime_seconds"),
    updatedAt: integer("updated_at").notNull(),
    updatedBy: text("updated_by").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.scopeId, t.keyClass] })],
);

/** Leases keep two overlapping scheduled runs from doing the same step at once. */
export const leases = sqliteTable("leases", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  expiresAt: integer("expires_at").notNull(),
});
