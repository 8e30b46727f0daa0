import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const TRANSPORT_PURPOSES = ["manufacturer", "headend"] as const;
export type TransportPurpose = (typeof TRANSPORT_PURPOSES)[number];

/**
 * Transport keys shared with outside systems. A `manufacturer` key only unwraps keys
 * imported at enrollment; a `headend` key only wraps keys exported to a head-end system.
 * The material itself is a row of `keys` (owner_type 'transport').
 */
export const transportKeys = sqliteTable("transport_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  purpose: text("purpose", { enum: TRANSPORT_PURPOSES }).notNull(),
  keyId: text("key_id").notNull(),
  createdAt: integer("created_at").notNull(),
  createdBy: text("created_by").notNull(),
});
