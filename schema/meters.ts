import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const METER_STATES = ["active", "suspended", "revoked"] as const;
export type MeterState = (typeof METER_STATES)[number];
export const CURVES = ["P-256", "P-384"] as const;
/** A gateway is enrolled like a meter (identity, system title, region) but holds no meter keys. */
export const DEVICE_KINDS = ["meter", "gateway"] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];
export type Curve = (typeof CURVES)[number];

/** The registry: one row per enrolled meter or gateway. */
export const meters = sqliteTable(
  "meters",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: DEVICE_KINDS }).notNull().default("meter"),
    /** DLMS system title: 8 bytes, upper-case hex. */
    systemTitle: text("system_title").notNull().unique(),
    region: text("region").notNull(),
    /** DLMS/COSEM security suite 0, 1 or 2. */
    suite: integer("suite").notNull(),
    identityCurve: text("identity_curve", { enum: CURVES }).notNull(),
    /** Uncompressed SEC1 point, lower-case hex. */
    identityPublicKey: text("identity_public_key").notNull(),
    state: text("state", { enum: METER_STATES }).notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("meters_region").on(t.region, t.id), index("meters_state").on(t.state, t.id)],
);
