import { asc, desc, gt } from "drizzle-orm";
import { auditLog } from "../schema";
import { constantTimeEqual, sha256, toHex, utf8 } from "./crypto";
import { type Db, runBatch, type Statement } from "./db";
import { GridkeyError } from "./errors";
import { insertRows } from "./json-rows";

/** Who did a thing: an operator token (or the bootstrap token, or the scheduler). */
export type Actor = { id: string; role: string };

export type AuditEntry = {
  action: string;
  targetType: string;
  targetId: string;
  /** Metadata of the change. Never key material. */
  details?: Record<string, unknown>;
};

export type AuditContext = { actor: Actor; requestId: string; now?: number };

type AuditRow = typeof auditLog.$inferSelect;

const GENESIS = "0".repeat(64);
const MAX_ATTEMPTS = 25;

/** The hash of a record covers every field but the hash itself, in a fixed order. */
export async function recordHash(row: Omit<AuditRow, "hash">): Promise<string> {
  const fields = [row.seq, row.at, row.actor, row.role, row.action, row.targetType, row.targetId, row.requestId, row.details, row.prevHash];
  return toHex(await sha256(utf8(JSON.stringify(fields))));
}

/**
 * Applies `changes` and appends the audit records in one D1 batch (one transaction), so a
 * change never lands without its record and a record never exists for a change that did
 * not land (fail closed). Concurrent writers race for the next `seq`: the loser's whole
 * batch rolls back on the primary key and is tried again on the new chain head.
 */
export async function commitAudited(
  db: Db,
  ctx: AuditContext,
  entries: AuditEntry | AuditEntry[],
  changes: Statement[] = [],
): Promise<void> {
  const list = Array.isArray(entries) ? entries : [entries];
  for (let attempt = 1; ; attempt++) {
    const records = await chainRecords(db, ctx, list);
    try {
      await runBatch(db, [...changes, ...insertRows(auditLog, records)]);
      return;
    } catch (err) {
      if (isSeqConflict(err) && attempt < MAX_ATTEMPTS) {
        // Random backoff so that writers who lost together do not collide again together.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
        continue;
      }
      if (isSeqConflict(err) || isStorageFailure(err)) {
        throw new GridkeyError("storage_unavailable", "the change and its audit record could not be written; nothing was changed");
      }
      throw err;
    }
  }
}

/** Links `entries` onto the current chain head, one record each. */
async function chainRecords(db: Db, ctx: AuditContext, entries: AuditEntry[]): Promise<AuditRow[]> {
  const [head] = await db.select({ seq: auditLog.seq, hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1);
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS;
  const at = ctx.now ?? Date.now();
  const records: AuditRow[] = [];
  for (const entry of entries) {
    const record = {
      seq: ++seq,
      at,
      actor: ctx.actor.id,
      role: ctx.actor.role,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId,
      requestId: ctx.requestId,
      details: JSON.stringify(entry.details ?? {}),
      prevHash,
    };
    prevHash = await recordHash(record);
    records.push({ ...record, hash: prevHash });
  }
  return records;
}

function isSeqConflict(err: unknown): boolean {
  return /UNIQUE constraint failed: audit_log\.seq|PRIMARY KEY/.test(causeMessage(err));
}

/** A failing store, as opposed to a caller's mistake (a constraint) or a bug of ours. */
function isStorageFailure(err: unknown): boolean {
  if (err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError) return false;
  return !/constraint failed/i.test(causeMessage(err));
}

function causeMessage(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(" | ");
}

export type AuditRecord = AuditRow;

export async function readAudit(db: Db, afterSeq: number, limit: number): Promise<AuditRow[]> {
  return db.select().from(auditLog).where(gt(auditLog.seq, afterSeq)).orderBy(asc(auditLog.seq)).limit(limit);
}

export type ChainReport = { ok: boolean; records: number; head: string; firstBroken?: { seq: number; reason: string } };

/** Recomputes the whole chain, page by page, and names the first record that does not fit. */
export async function verifyChain(db: Db, pageSize = 1000): Promise<ChainReport> {
  let prev = GENESIS;
  let expectedSeq = 1;
  for (;;) {
    const page = await readAudit(db, expectedSeq - 1, pageSize);
    for (const row of page) {
      const reason = await brokenReason(row, expectedSeq, prev);
      if (reason) return { ok: false, records: expectedSeq - 1, head: prev, firstBroken: { seq: row.seq, reason } };
      prev = row.hash;
      expectedSeq++;
    }
    if (page.length < pageSize) return { ok: true, records: expectedSeq - 1, head: prev };
  }
}

async function brokenReason(row: AuditRow, expectedSeq: number, prev: string): Promise<string | undefined> {
  if (row.seq !== expectedSeq) return `record ${expectedSeq} is missing`;
  if (!sameHash(row.prevHash, prev)) return "prev_hash does not match the previous record";
  const { hash, ...rest } = row;
  if (!sameHash(await recordHash(rest), hash)) return "hash does not match the record's contents";
  return undefined;
}

/** Chain hashes are compared like every other authenticator: in constant time. */
function sameHash(a: string, b: string): boolean {
  return constantTimeEqual(utf8(a), utf8(b));
}
