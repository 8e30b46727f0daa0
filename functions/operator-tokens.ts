import { desc, eq } from "drizzle-orm";
import { operatorTokens, transportKeys, type Role } from "../schema";
import type { Principal } from "./app-env";
import { type AuditContext, commitAudited } from "./audit-log";
import { constantTimeEqual, randomBytes, sha256, toBase64url, toHex, utf8 } from "./crypto";
import type { Db } from "./db";
import { GridkeyError } from "./errors";
import { iso } from "./time";

export type TokenRow = typeof operatorTokens.$inferSelect;

const TOKEN_PREFIX = "gk_";

/** Tokens carry 256 random bits, so one round of SHA-256 is enough to store them (no salt or KDF needed). */
export async function hashToken(token: string): Promise<string> {
  return toHex(await sha256(utf8(token)));
}

export type TokenSpec = { name: string; role: Role; expiresAt?: number; transportKeyId?: string };

export async function createToken(db: Db, ctx: AuditContext, spec: TokenSpec): Promise<{ row: TokenRow; token: string }> {
  await checkTransportBinding(db, spec);
  const token = TOKEN_PREFIX + toBase64url(randomBytes(32));
  const row: TokenRow = {
    id: `tok_${toHex(randomBytes(8))}`,
    name: spec.name,
    role: spec.role,
    tokenHash: await hashToken(token),
    transportKeyId: spec.transportKeyId ?? null,
    createdAt: ctx.now ?? Date.now(),
    createdBy: ctx.actor.id,
    expiresAt: spec.expiresAt ?? null,
    revokedAt: null,
  };
  await commitAudited(db, ctx, { action: "token.create", targetType: "token", targetId: row.id, details: { name: row.name, role: row.role, expiresAt: row.expiresAt, transportKeyId: row.transportKeyId } }, [
    db.insert(operatorTokens).values(row),
  ]);
  return { row, token };
}

/** A head-end token is useless without a head-end transport key to wrap exports under. */
async function checkTransportBinding(db: Db, spec: TokenSpec): Promise<void> {
  if (spec.role !== "headend") {
    if (spec.transportKeyId) throw new GridkeyError("bad_parameter", "only headend tokens take a transportKeyId");
    return;
  }
  if (!spec.transportKeyId) throw new GridkeyError("bad_parameter", "a headend token needs a transportKeyId");
  const [tk] = await db.select().from(transportKeys).where(eq(transportKeys.id, spec.transportKeyId));
  if (!tk) throw new GridkeyError("transport_key_not_found", `no transport key ${spec.transportKeyId}`);
  if (tk.purpose !== "headend") throw new GridkeyError("bad_parameter", "the transport key is not a headend key");
}

export async function listTokens(db: Db): Promise<TokenRow[]> {
  return db.select().from(operatorTokens).orderBy(desc(operatorTokens.createdAt));
}

export async function revokeToken(db: Db, ctx: AuditContext, id: string): Promise<TokenRow> {
  const [row] = await db.select().from(operatorTokens).where(eq(operatorTokens.id, id));
  if (!row) throw new GridkeyError("token_not_found", `no token ${id}`);
  if (row.revokedAt !== null) throw new GridkeyError("invalid_state", "the token is already revoked");
  const now = ctx.now ?? Date.now();
  await commitAudited(db, ctx, { action: "token.revoke", targetType: "token", targetId: id }, [
    db.update(operatorTokens).set({ revokedAt: now }).where(eq(operatorTokens.id, id)),
  ]);
  return { ...row, revokedAt: now };
}

/** Resolves a bearer token to its principal, or says precisely why it cannot. */
export async function authenticate(db: Db, env: Pick<Env, "BOOTSTRAP_TOKEN">, token: string, now = Date.now()): Promise<Principal> {
  const hash = await hashToken(token);
  if (env.BOOTSTRAP_TOKEN && constantTimeEqual(utf8(hash), utf8(await hashToken(env.BOOTSTRAP_TOKEN)))) {
    return { id: "bootstrap", role: "admin", transportKeyId: null };
  }
  const [row] = await db.select().from(operatorTokens).where(eq(operatorTokens.tokenHash, hash));
  if (!row) throw new GridkeyError("unauthorized", "unknown token");
  if (row.revokedAt !== null) throw new GridkeyError("token_revoked", "the token was revoked");
  if (row.expiresAt !== null && row.expiresAt <= now) throw new GridkeyError("token_expired", "the token has expired");
  return { id: row.id, role: row.role, transportKeyId: row.transportKeyId };
}

export function tokenView(row: TokenRow) {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    transportKeyId: row.transportKeyId,
    createdAt: iso(row.createdAt),
    createdBy: row.createdBy,
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
  };
}
