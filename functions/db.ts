import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "../schema";

export type Db = ReturnType<typeof database>;

export function database(d1: D1Database) {
  return drizzle(d1, { schema });
}

/** A write ready for a batch: a drizzle query builder, or SQL we built ourselves. */
export type Statement = { toSQL(): { sql: string; params: unknown[] } };

/**
 * Runs statements as one D1 batch, which D1 executes as a single transaction. (drizzle's own
 * batch cannot carry raw SQL with parameters, so statements are prepared here.)
 */
export async function runBatch(db: Db, statements: Statement[]): Promise<void> {
  const d1 = db.$client;
  await d1.batch(statements.map((s) => {
    const { sql, params } = s.toSQL();
    return d1.prepare(sql).bind(...params);
  }));
}

/** `x IN (SELECT value FROM json_each(?))`: one bound parameter however long the list. */
export function jsonList(values: string[]) {
  return sql`(SELECT value FROM json_each(${JSON.stringify(values)}))`;
}
