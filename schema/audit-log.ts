import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The audit log: append-only, hash-chained. `seq` is the primary key, so two writers that
 * read the same chain head cannot both append: one batch fails and is retried on the new head.
 */
export const auditLog = sqliteTable("audit_log", {
  seq: integer("seq").primaryKey(),
  at: integer("at").notNull(),
  actor: text("actor").notNull(),
  role: text("role").notNull(),
  action: text("action").notNull(),
  targetType: text("target_type").notNull(),
  targetId: text("target_id").notNull(),
  requestId: text("request_id").notNull(),
  /** JSON object with the change's metadata; never key material. */
  details: text("details").notNull(),
  prevHash: text("prev_hash").notNull(),
  hash: text("hash").notNull(),
});
