import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const REKEY_MODES = ["immediate", "batched"] as const;
export type RekeyMode = (typeof REKEY_MODES)[number];
/** How a program is keyed: a tree of its own, or a cover over its members' region trees (docs/groups.md §7). */
export const KEYINGS = ["tree", "cover"] as const;

/**
 * Demand-response programs. Each is a key graph (one Durable Object named by the program id:
 * a KeyGraph for a tree-keyed program, a CoverGraph for a cover-keyed one) that holds the
 * program's group key; this table is the registry.
 */
export const programs = sqliteTable("programs", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** Tree degree d: each node has at most d children (a cover-keyed program uses its region trees'). */
  degree: integer("degree").notNull(),
  keying: text("keying", { enum: KEYINGS }).notNull().default("tree"),
  /** Membership changes rekey at once, or wait for the next flush (rekey now, or the cron). */
  rekeyMode: text("rekey_mode", { enum: REKEY_MODES }).notNull(),
  state: text("state", { enum: ["active", "deleted"] }).notNull(),
  createdAt: integer("created_at").notNull(),
  createdBy: text("created_by").notNull(),
});

/** Who is in which program: the registry's view, so "every program of meter X" is one query. */
export const programMembers = sqliteTable(
  "program_members",
  {
    programId: text("program_id").notNull(),
    meterId: text("meter_id").notNull(),
    joinedAt: integer("joined_at").notNull(),
    /** 1 while the meter is suspended: out of the key graph, back in on resume. */
    suspended: integer("suspended").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.programId, t.meterId] }), index("program_members_meter").on(t.meterId)],
);
