import { getTableColumns, getTableName } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Statement } from "./db";

// Each statement binds one JSON parameter; D1 allows 100 bound parameters per statement
// but values up to 2 MB, so many rows per statement is far cheaper than one per row.
const CHUNK_BYTES = 512 * 1024;

/**
 * Inserts many rows with a handful of statements: each statement carries a chunk of rows as
 * one JSON array and unpacks it with json_each. Callers put the statements in one batch.
 */
export function insertRows<T extends SQLiteTable>(table: T, rows: T["$inferInsert"][]): Statement[] {
  const columns = Object.entries(getTableColumns(table));
  const names = columns.map(([, col]) => `"${col.name}"`).join(", ");
  const picks = columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ");
  const sql = `INSERT INTO "${getTableName(table)}" (${names}) SELECT ${picks} FROM json_each(?)`;
  const encoded = rows.map((r) => JSON.stringify(columns.map(([key]) => (r as Record<string, unknown>)[key] ?? null)));
  return [...chunks(encoded)].map((chunk) => ({ toSQL: () => ({ sql, params: [`[${chunk.join(",")}]`] }) }));
}

function* chunks(encoded: string[]): Generator<string[]> {
  let chunk: string[] = [];
  let size = 0;
  for (const row of encoded) {
    if (size + row.length > CHUNK_BYTES && chunk.length > 0) {
      yield chunk;
      chunk = [];
      size = 0;
    }
    chunk.push(row);
    size += row.length + 1;
  }
  if (chunk.length > 0) yield chunk;
}
