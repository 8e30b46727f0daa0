import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const ROLES = ["admin", "operator", "auditor", "headend"] as const;
export type Role = (typeof ROLES)[number];

/** Operator bearer tokens. Only the SHA-256 of a token is stored; the token is shown once. */
export const operatorTokens = sqliteTable(
  "operator_tokens",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    /** For `headend` tokens: the transport key that exported meter keys are wrapped under. */
    transportKeyId: text("transport_key_id"),
    createdAt: integer("created_at").notNull(),
    createdBy: text("created_by").notNull(),
    expiresAt: integer("expires_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("operator_tokens_role").on(t.role)],
);
