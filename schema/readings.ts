import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * The readings sink: what meters uploaded, after the concentrator checked the DLMS frame's
 * invocation counter and tag. One row per frame; a counter value is accepted once per key.
 */
export const readings = sqliteTable(
  "readings",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    meterId: text("meter_id").notNull(),
    region: text("region").notNull(),
    /** The GUEK version the frame was protected under. */
    keyId: text("key_id").notNull(),
    keyVersion: integer("key_version").notNull(),
    invocationCounter: integer("invocation_counter").notNull(),
    securityControl: integer("security_control").notNull(),
    /** The decrypted xDLMS APDU, hex. */
    payload: text("payload").notNull(),
    /** The device whose session carried it: the meter itself or a gateway. */
    via: text("via").notNull(),
    receivedAt: integer("received_at").notNull(),
  },
  (t) => [uniqueIndex("readings_counter").on(t.meterId, t.keyId, t.keyVersion, t.invocationCounter)],
);
