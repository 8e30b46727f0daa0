import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import type { AuditContext } from "../audit-log";
import { custodyFor } from "../custody";
import { database } from "../db";

/** What every admin handler needs: the database, custody and the audit context of the call. */
export async function services(c: Context<AppEnv>) {
  const principal = c.get("principal");
  const audit: AuditContext = { actor: { id: principal.id, role: principal.role }, requestId: c.get("requestId") };
  return { db: database(c.env.DB), custody: await custodyFor(c.env), audit, principal };
}

export function dbOf(c: Context<AppEnv>) {
  return database(c.env.DB);
}
