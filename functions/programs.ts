import { and, asc, eq, inArray } from "drizzle-orm";
import { meters, programMembers, programs, type RekeyMode } from "../schema";
import { type Keying, signForMeters } from "./rekey-bundles";
import { custodyFor } from "./custody";
import { encodeCommandPayload } from "../wire/rekey";
import { REGION_TREE_DEGREE } from "./region-tree";
import { type AuditContext, type AuditEntry, commitAudited } from "./audit-log";
import { randomBytes, toHex } from "./crypto";
import { type Db, jsonList, type Statement } from "./db";
import { GridkeyError } from "./errors";
import { insertRows } from "./json-rows";
import { effectivePolicy, MAX_INVOCATIONS } from "./policies";
import { type RpcResult, rpcValue } from "./rpc";
import type { EpochRecord, EpochResult, GraphStatus } from "./key-graph";

export type ProgramRow = typeof programs.$inferSelect;
export const MAX_MEMBERSHIP_CHANGES = 10_000;

type GraphRef = Pick<ProgramRow, "id" | "keying" | "degree">;

/**
 * The program's key graph, whichever way it is keyed: a tree of its own (KeyGraph) or a cover
 * over its members' region trees (CoverGraph). Both share GraphObject's membership, batch and
 * history calls; joins name the meter's region: where its bundles must go, and for a cover,
 * which region tree covers it.
 */
function graph(env: Env, p: GraphRef) {
  return p.keying === "cover" ? env.COVER_GRAPH.get(env.COVER_GRAPH.idFromName(p.id)) : env.KEY_GRAPH.get(env.KEY_GRAPH.idFromName(p.id));
}

/** A new program's graph: a tree is made with its degree, a cover keeps the region trees'. */
function initGraph(env: Env, p: GraphRef): Promise<RpcResult<GraphStatus>> {
  return p.keying === "cover" ? env.COVER_GRAPH.get(env.COVER_GRAPH.idFromName(p.id)).init(p.id) : env.KEY_GRAPH.get(env.KEY_GRAPH.idFromName(p.id)).init(p.id, p.degree);
}

export async function createProgram(db: Db, env: Env, ctx: AuditContext, spec: { name: string; degree: number; rekeyMode: RekeyMode; keying: Keying }): Promise<{ row: ProgramRow; status: GraphStatus }> {
  // A cover-keyed program has no tree of its own: it uses its members' region trees.
  const row: ProgramRow = { id: `prg_${toHex(randomBytes(8))}`, ...spec, degree: spec.keying === "cover" ? REGION_TREE_DEGREE : spec.degree, state: "active", createdAt: ctx.now ?? Date.now(), createdBy: ctx.actor.id };
  await commitAudited(db, ctx, { action: "program.create", targetType: "program", targetId: row.id, details: spec }, [db.insert(programs).values(row)]);
  return { row, status: await rpcValue(initGraph(env, row)) };
}

export async function getProgram(db: Db, id: string): Promise<ProgramRow> {
  const [row] = await db.select().from(programs).where(and(eq(programs.id, id), eq(programs.state, "active")));
  if (!row) throw new GridkeyError("program_not_found", `no program ${id}`);
  return row;
}

export async function listPrograms(db: Db): Promise<ProgramRow[]> {
  return db.select().from(programs).where(eq(programs.state, "active")).orderBy(asc(programs.id));
}

export function programStatus(env: Env, program: GraphRef): Promise<GraphStatus> {
  return rpcValue(graph(env, program).status());
}

/** The program's latest epochs, oldest first: when each was applied, and its bundle's wraps and size. */
export async function programEpochs(db: Db, env: Env, id: string, limit: number): Promise<EpochRecord[]> {
  return rpcValue(graph(env, await getProgram(db, id)).history(limit));
}

/** Deletes a program: its graph's keys are erased; the registry keeps the record, marked deleted. */
export async function deleteProgram(db: Db, env: Env, ctx: AuditContext, id: string): Promise<void> {
  const program = await getProgram(db, id);
  await commitAudited(db, ctx, { action: "program.delete", targetType: "program", targetId: id }, [
    db.update(programs).set({ state: "deleted" }).where(eq(programs.id, id)),
    db.delete(programMembers).where(eq(programMembers.programId, id)),
  ]);
  await rpcValue(graph(env, program).destroy());
}

/**
 * Adds and removes members. The registry and the audit records are written first, in one
 * transaction; then the key graph applies the change (at once, or at the next flush for a
 * batched program). If the graph step fails in between, the caller gets `change_incomplete`
 * and repeating the same request completes it: the registry step is a no-op the second time,
 * the graph is given the whole requested change (it drops what it already holds), and a
 * removal of a meter that left the registry but is still in the graph is taken out of it.
 */
export async function changeMembers(
  db: Db,
  env: Env,
  ctx: AuditContext,
  id: string,
  change: { add: string[]; remove: string[] },
): Promise<{ status: GraphStatus; epoch?: EpochResult }> {
  const program = await getProgram(db, id);
  if (change.add.length + change.remove.length > MAX_MEMBERSHIP_CHANGES) {
    throw new GridkeyError("bad_parameter", `at most ${MAX_MEMBERSHIP_CHANGES} membership changes per call`);
  }
  const regions = await checkEligible(db, change.add);
  // A concurrent change to the same registrations between our read and our write fails our
  // write whole (a key conflict, or the removal guard): read again and decide again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await changeMembersOnce(db, env, ctx, program, regions, change);
    } catch (err) {
      if (attempt >= 5 || !/constraint failed: program_members/.test(causeText(err))) throw err;
    }
  }
}

async function changeMembersOnce(
  db: Db,
  env: Env,
  ctx: AuditContext,
  program: ProgramRow,
  regions: Map<string, string>,
  change: { add: string[]; remove: string[] },
): Promise<{ status: GraphStatus; epoch?: EpochResult }> {
  const id = program.id;
  const current = await membersAmong(db, id, [...change.add, ...change.remove]);
  const add = change.add.filter((m) => !current.has(m));
  const remove = change.remove.filter((m) => current.has(m));
  const unregistered = change.remove.filter((m) => !current.has(m));
  const g = graph(env, program);
  const stale = new Set(unregistered.length > 0 ? await rpcValue(g.holding(unregistered)) : []);
  const missing = unregistered.filter((m) => !stale.has(m));
  if (missing.length > 0) throw new GridkeyError("not_a_member", `not members of ${id}: ${missing.slice(0, 10).join(", ")}`);
  const now = ctx.now ?? Date.now();
  const entries: AuditEntry[] = [
    ...add.map((m) => ({ action: "program.member.add", targetType: "program", targetId: id, details: { meterId: m } })),
    ...remove.map((m) => ({ action: "program.member.remove", targetType: "program", targetId: id, details: { meterId: m } })),
  ];
  const statements: Statement[] = [...insertRows(programMembers, add.map((m) => ({ programId: id, meterId: m, joinedAt: now, suspended: 0 })))];
  if (remove.length > 0) {
    statements.push(stillRegistered(id, remove));
    statements.push(db.delete(programMembers).where(and(eq(programMembers.programId, id), inArray(programMembers.meterId, jsonList(remove)))));
  }
  if (entries.length > 0) await commitAudited(db, { ...ctx, now }, entries, statements);
  // A suspended member is already out of the key graph: adding it again or removing it only
  // touches the registration.
  const join = change.add.filter((m) => current.get(m) !== true).map((m) => ({ id: m, region: regions.get(m)! }));
  const leave = [...remove.filter((m) => !current.get(m)), ...stale];
  return graphStep(g.change(join, leave, (await rekeyModeOf(db, program)) === "batched", ctx.requestId));
}

/**
 * Guards a removal inside its batch: fails it (NOT NULL on joined_at) if any of `meterIds`
 * is no longer registered, so two removals of the same meter at once do not both write an
 * audit record; the loser reads again (changeMembers). Inserts nothing when all are there.
 */
function stillRegistered(programId: string, meterIds: string[]): Statement {
  return {
    toSQL: () => ({
      sql: "INSERT INTO program_members (program_id, meter_id, joined_at, suspended) SELECT ?, j.value, NULL, 0 FROM json_each(?) j WHERE NOT EXISTS (SELECT 1 FROM program_members p WHERE p.program_id = ? AND p.meter_id = j.value)",
      params: [programId, JSON.stringify(meterIds), programId],
    }),
  };
}

function causeText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(" | ");
}

/**
 * The key graph's half of a registry change, after the registry's half is committed. A
 * failing graph (its storage, or the object restarting) is reported as `change_incomplete`:
 * the registry and audit log hold the change, and repeating the request completes it.
 */
async function graphStep<T>(step: Promise<RpcResult<T>>): Promise<T> {
  try {
    return await rpcValue(step);
  } catch (err) {
    if (err instanceof GridkeyError) throw err;
    console.warn("key graph step failed after the registry write", String(err));
    throw new GridkeyError("change_incomplete", "the registry change is recorded but the key graph has not applied it yet: repeat the same request to complete it");
  }
}

/**
 * Suspension is the reversible revocation: a suspended meter leaves the key graph of each of
 * its programs (rekeyed, or queued for a batched one) but stays registered, and rejoins them
 * all on resume (a join: no multicast wraps, a snapshot for the meter). Registrations already
 * in the wanted state are not written again, but their graphs are still told (they drop what
 * they already hold), so a repeat completes what a failed earlier attempt left undone.
 */
export async function setMembershipsSuspended(db: Db, env: Env, ctx: AuditContext, meterId: string, suspended: boolean): Promise<string[]> {
  const rows = await registrationsOf(db, meterId);
  for (const { programId, rekeyMode, keying, degree, region, ...row } of rows) {
    if ((row.suspended === 1) !== suspended) {
      await commitAudited(db, ctx, { action: suspended ? "program.member.suspend" : "program.member.resume", targetType: "program", targetId: programId, details: { meterId } }, [
        db.update(programMembers).set({ suspended: suspended ? 1 : 0 }).where(and(eq(programMembers.programId, programId), eq(programMembers.meterId, meterId))),
      ]);
    }
    const [join, leave] = suspended ? [[], [meterId]] : [[{ id: meterId, region }], []];
    await graphStep(graph(env, { id: programId, keying, degree }).change(join, leave, (await rekeyModeOf(db, { id: programId, rekeyMode })) === "batched", ctx.requestId));
  }
  return rows.map((r) => r.programId);
}

/**
 * Takes a meter out of the key graph of every active program it is registered in, leaving
 * the registry as it is. Revocation does this before it ends the registrations, so that a
 * registration is never gone while its graph still holds the meter. Idempotent.
 */
export async function leaveAllGraphs(db: Db, env: Env, ctx: AuditContext, meterId: string): Promise<void> {
  for (const { programId, rekeyMode, keying, degree } of await registrationsOf(db, meterId)) {
    await graphStep(graph(env, { id: programId, keying, degree }).change([], [meterId], (await rekeyModeOf(db, { id: programId, rekeyMode })) === "batched", ctx.requestId));
  }
}

function registrationsOf(db: Db, meterId: string) {
  return db
    .select({ programId: programMembers.programId, suspended: programMembers.suspended, rekeyMode: programs.rekeyMode, keying: programs.keying, degree: programs.degree, region: meters.region })
    .from(programMembers)
    .innerJoin(programs, eq(programs.id, programMembers.programId))
    .innerJoin(meters, eq(meters.id, programMembers.meterId))
    .where(and(eq(programMembers.meterId, meterId), eq(programs.state, "active")));
}

/** The membership rekey mode in force: a group policy for the program or the default, else the program's own. */
export async function rekeyModeOf(db: Db, program: Pick<ProgramRow, "id" | "rekeyMode">): Promise<RekeyMode> {
  return (await effectivePolicy(db, "group", { program: program.id })).rekeyMode ?? program.rekeyMode;
}

/** Applies a batched program's queued changes now, as one bundle. */
export async function rekeyNow(db: Db, env: Env, ctx: AuditContext, id: string) {
  const program = await getProgram(db, id);
  const epoch = await rpcValue(graph(env, program).flush(ctx.requestId)).catch((err: unknown) => {
    if (err instanceof GridkeyError) throw err;
    // The flush's epoch and the emptying of its queue are one transaction (key-graph.ts).
    console.warn("key graph flush failed", String(err));
    throw new GridkeyError("storage_unavailable", "the key graph could not apply the queued changes; nothing was changed and they stay queued");
  });
  if (epoch) await commitAudited(db, ctx, { action: "program.rekey", targetType: "program", targetId: id, details: { ...epoch } });
  return { epoch: epoch ?? null, status: await programStatus(env, program) };
}

/** Each id must be an active meter (not a gateway); answers their regions. */
async function checkEligible(db: Db, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const found = await db.select({ id: meters.id, kind: meters.kind, state: meters.state, region: meters.region }).from(meters).where(inArray(meters.id, jsonList(ids)));
  const ok = new Map(found.filter((m) => m.kind === "meter" && m.state === "active").map((m) => [m.id, m.region]));
  const bad = ids.filter((m) => !ok.has(m));
  if (bad.length > 0) throw new GridkeyError("meter_not_found", `not active enrolled meters: ${bad.slice(0, 10).join(", ")}${bad.length > 10 ? ", ..." : ""}`);
  return ok;
}

/** Registered members among `ids`, each mapped to whether it is suspended. */
async function membersAmong(db: Db, id: string, ids: string[]): Promise<Map<string, boolean>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ meterId: programMembers.meterId, suspended: programMembers.suspended })
    .from(programMembers)
    .where(and(eq(programMembers.programId, id), inArray(programMembers.meterId, jsonList(ids))));
  return new Map(rows.map((r) => [r.meterId, r.suspended === 1]));
}

export function programView(row: ProgramRow, status: GraphStatus) {
  return {
    id: row.id,
    name: row.name,
    degree: row.degree,
    keying: row.keying,
    rekeyMode: row.rekeyMode,
    createdAt: new Date(row.createdAt).toISOString(),
    members: status.members,
    epoch: status.epoch,
    height: status.height,
    pending: status.pending,
  };
}

/** Share of a key's counter budget after which gridkey rotates it, so a budget never runs out. */
export const BUDGET_ROTATION_SHARE = 0.9;

/**
 * Seals a DR command under the program's group key, for the edge to multicast, and has
 * central sign the sealed APDU (members verify it, so no member can forge a command to the
 * others). Audited. The group key's counter budget (policy) is never exceeded: past 90 % of
 * it the key is rotated.
 */
export async function sealProgramCommand(db: Db, env: Env, ctx: AuditContext, id: string, command: Uint8Array) {
  const program = await getProgram(db, id);
  const budget = (await effectivePolicy(db, "group", { program: id })).maxInvocations ?? MAX_INVOCATIONS;
  const sealed = await rpcValue(graph(env, program).sealCommand(command, budget));
  const signed = await signForMeters(env, await custodyFor(env), encodeCommandPayload({ program: id, apdu: sealed.apdu }), ctx.requestId);
  await commitAudited(db, ctx, { action: "program.command.seal", targetType: "program", targetId: id, details: { epoch: sealed.epoch, invocationCounter: sealed.invocationCounter, bytes: command.length } });
  if (sealed.invocationCounter >= budget * BUDGET_ROTATION_SHARE) await rotateProgramKey(db, env, ctx, id, "counter budget");
  return { ...sealed, signed };
}

/** A new group key for a program without a membership change. Audited. */
export async function rotateProgramKey(db: Db, env: Env, ctx: AuditContext, id: string, reason: string): Promise<EpochResult> {
  const epoch = await rpcValue(graph(env, await getProgram(db, id)).rotate(ctx.requestId));
  await commitAudited(db, ctx, { action: "program.rotate", targetType: "program", targetId: id, details: { reason, ...epoch } });
  return epoch;
}
