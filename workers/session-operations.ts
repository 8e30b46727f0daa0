import { CborMap, type CborValue } from "../edhoc/cbor";
import type { AuditContext } from "../functions/audit-log";
import type { Custody } from "../functions/custody";
import type { Db } from "../functions/db";
import type { MeterRow } from "../functions/enrollment";
import { GridkeyError } from "../functions/errors";
import { rpcValue } from "../functions/rpc";
import type { MemberUpdate } from "../functions/key-graph";
import { memberView, onRegionPath, onTreePath, unpackEntries } from "../functions/member-view";
import { REGION_GRAPH_PREFIX, regionGraphName } from "../functions/rekey-bundles";
import { adjustRegionTrees, regionTree } from "../functions/region-tree";
import type { CachedBundle } from "./concentrator";
import { acknowledgeKeys, keyDelivery, rotateMeterKey } from "../functions/key-delivery";
import { effectivePolicy, MAX_INVOCATIONS } from "../functions/policies";
import { BUDGET_ROTATION_SHARE } from "../functions/programs";
import { openReading, storeReading } from "../functions/readings";
import { toHex } from "../functions/crypto";
import { decodeGloCiphering, isAuthenticated } from "../wire/glo-ciphering";
import { meters, programs } from "../schema";
import { and, eq } from "drizzle-orm";
import type { SessionRequest } from "../wire/session-record";

export type OperationContext = {
  db: Db;
  custody: Custody;
  /** The concentrator's storage: invocation counters live here, with its single writer. */
  storage: DurableObjectStorage;
  audit: AuditContext;
  env: Env;
  region: string;
  /** The session's device: a meter, or a gateway relaying for the meters of its region. */
  device: MeterRow;
  /** The newest bundle of a program the key graph pushed to this concentrator, if any. */
  cachedBundle: (program: string) => Promise<CachedBundle | undefined>;
};

type Operation = (ctx: OperationContext, args: CborMap) => Promise<CborMap>;

/** What a meter may ask inside its session (docs/protocol.md §5). */
const OPERATIONS: Record<string, Operation> = {
  ping: async () => new CborMap(),
  keys: deliverKeys,
  ack: acknowledge,
  reading: uploadReading,
  rekey: groupRekey,
};

export async function runOperation(ctx: OperationContext, request: SessionRequest): Promise<CborMap> {
  const operation = OPERATIONS[request.op];
  if (!operation) throw new GridkeyError("bad_parameter", `unknown operation ${JSON.stringify(request.op.slice(0, 32))}`);
  return operation(ctx, request.args);
}

async function deliverKeys(ctx: OperationContext): Promise<CborMap> {
  const { keyData, keys } = await keyDelivery(ctx.db, ctx.custody, ownMeter(ctx), ctx.audit.requestId);
  return new CborMap([
    ["keyData", keyData],
    ["keys", keys.map((k): CborValue => [k.class, k.dlmsKeyId, k.keyId, k.version, k.state])],
  ]);
}

/**
 * A meter catching up with a DR program's group key: the program's key graph answers with
 * nothing, the meter's view of the epoch it missed, or a snapshot of its path.
 */
async function groupRekey(ctx: OperationContext, args: CborMap): Promise<CborMap> {
  const meter = ownMeter(ctx);
  const program = args.get("program");
  const epoch = args.get("epoch");
  const leaf = args.get("leaf");
  if (typeof program !== "string" || program.length > 80 || !isUint(epoch) || (leaf !== undefined && !isUint(leaf))) {
    throw new GridkeyError("bad_parameter", "rekey takes {program: text, epoch: uint, leaf?: uint}");
  }
  // One epoch behind and the bundle is here: the member's part is cut from the cache.
  const cached = await ctx.cachedBundle(program);
  if (cached && typeof leaf === "number" && epoch === cached.epoch - 1) {
    const wanted = cached.keying === "cover" ? onRegionPath(ctx.region, leaf, cached.degree) : onTreePath(leaf, cached.degree);
    return new CborMap([["kind", "view"], ["view", memberView(cached.header, unpackEntries(cached.entries), wanted)]]);
  }
  const update = await memberUpdate(ctx, meter, program, epoch, leaf);
  if (update.kind === "current") return new CborMap([["kind", "current"]]);
  if (update.kind === "view") return new CborMap([["kind", "view"], ["view", update.view]]);
  return new CborMap([["kind", "snapshot"], ["snapshot", update.signed]]);
}

/**
 * Asks the graph that keys `program`: the meter's own region tree (`region:<its region>`),
 * or a DR program's tree or cover graph. Any other region's tree, or an unknown program,
 * is not the meter's to ask about.
 */
async function memberUpdate(ctx: OperationContext, meter: MeterRow, program: string, epoch: number, leaf: number | undefined): Promise<MemberUpdate> {
  if (program.startsWith(REGION_GRAPH_PREFIX)) {
    if (program !== regionGraphName(meter.region)) throw new GridkeyError("not_a_member", "a meter holds only its own region's tree");
    const tree = regionTree(ctx.env, meter.region);
    const first = await tree.memberUpdate(meter.id, epoch, ctx.audit.requestId);
    if (first.ok || first.code !== "not_a_member") return rpcValue(Promise.resolve(first));
    // Enrolled while its region's tree was out of reach: the active meter joins it now.
    await adjustRegionTrees(ctx.db, ctx.env, ctx.audit, { join: [meter] });
    return rpcValue(tree.memberUpdate(meter.id, epoch, ctx.audit.requestId));
  }
  const [row] = await ctx.db.select({ keying: programs.keying }).from(programs).where(and(eq(programs.id, program), eq(programs.state, "active")));
  if (!row) throw new GridkeyError("not_a_member", "the meter is not a member of this program");
  if (row.keying === "cover") return rpcValue(ctx.env.COVER_GRAPH.get(ctx.env.COVER_GRAPH.idFromName(program)).memberUpdate(meter.id, epoch, ctx.audit.requestId, leaf));
  return rpcValue(ctx.env.KEY_GRAPH.get(ctx.env.KEY_GRAPH.idFromName(program)).memberUpdate(meter.id, epoch, ctx.audit.requestId));
}

function isUint(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Keys go to a meter only, inside its own session: never to a gateway. */
function ownMeter(ctx: OperationContext): MeterRow {
  if (ctx.device.kind !== "meter") throw new GridkeyError("gateway_forbidden", "a gateway never receives meter keys");
  return ctx.device;
}

async function acknowledge(ctx: OperationContext, args: CborMap): Promise<CborMap> {
  const list = args.get("keys");
  if (!Array.isArray(list) || list.length > 16) throw new GridkeyError("bad_parameter", "keys is an array of [keyId, version]");
  const acked = list.map((item) => {
    if (!Array.isArray(item) || typeof item[0] !== "string" || typeof item[1] !== "number") {
      throw new GridkeyError("bad_parameter", "each acknowledged key is [keyId, version]");
    }
    return { keyId: item[0], version: item[1] };
  });
  return new CborMap([["acknowledged", await acknowledgeKeys(ctx.db, ctx.audit, ownMeter(ctx), acked)]]);
}

/**
 * A DLMS general-glo-ciphering frame from the meter: authenticated and decrypted with its
 * GUEK/AK, its invocation counter strictly above the last one accepted under that key, then
 * handed to the readings sink. The counter is stored after the reading, and the sink's
 * unique index refuses a counter twice, so no crash between the two lets a frame in twice.
 * A meter uploads its own frames; a gateway relays frames of any active meter of its region.
 */
async function uploadReading(ctx: OperationContext, args: CborMap): Promise<CborMap> {
  const apdu = args.get("apdu");
  if (!(apdu instanceof Uint8Array)) throw new GridkeyError("bad_parameter", "apdu is a byte string");
  const frame = decodeGloCiphering(apdu);
  // Counter mode alone "opens" under any key: an unauthenticated frame proves nothing.
  if (!isAuthenticated(frame.securityControl)) throw new GridkeyError("reading_rejected", "readings must be authenticated (security control bit 4)");
  const meter = await frameOwner(ctx, toHex(frame.systemTitle).toUpperCase());
  const opened = await openReading(ctx.db, ctx.custody, meter, frame);
  const counterKey = `ic:${meter.id}:${opened.guek.id}:${opened.guek.version}`;
  const last = (await ctx.storage.get<number>(counterKey)) ?? 0;
  if (frame.invocationCounter <= last) {
    throw new GridkeyError("reading_replayed", `invocation counter ${frame.invocationCounter} is not above ${last}`);
  }
  const budget = (await effectivePolicy(ctx.db, "unicast", { region: meter.region })).maxInvocations ?? MAX_INVOCATIONS;
  if (frame.invocationCounter > budget) throw new GridkeyError("reading_rejected", "the GUEK's counter budget is used up: the meter must fetch its new key");
  try {
    await storeReading(ctx.db, meter, frame, opened, ctx.device.id);
  } catch (err) {
    if (/UNIQUE constraint failed: readings/.test(String((err as Error)?.message) + String((err as Error)?.cause))) {
      throw new GridkeyError("reading_replayed", "this invocation counter was already accepted");
    }
    throw err;
  }
  // Readings of one meter can be in flight at once (two sessions, or a gateway): the stored
  // counter only ever moves up, whichever finishes last.
  if (frame.invocationCounter > ((await ctx.storage.get<number>(counterKey)) ?? 0)) await ctx.storage.put(counterKey, frame.invocationCounter);
  if (frame.invocationCounter >= budget * BUDGET_ROTATION_SHARE) await rotateBeforeBudget(ctx, meter);
  return new CborMap([["invocationCounter", frame.invocationCounter]]);
}

async function frameOwner(ctx: OperationContext, systemTitle: string): Promise<MeterRow> {
  if (ctx.device.kind === "meter") {
    if (systemTitle !== ctx.device.systemTitle) throw new GridkeyError("bad_frame", "the frame's system title is not the session's meter");
    return ctx.device;
  }
  const [meter] = await ctx.db.select().from(meters).where(eq(meters.systemTitle, systemTitle));
  if (!meter || meter.kind !== "meter") throw new GridkeyError("unknown_meter", "the frame's system title names no enrolled meter");
  if (meter.region !== ctx.region) throw new GridkeyError("wrong_region", "the frame's meter belongs to another region");
  if (meter.state !== "active") throw new GridkeyError(meter.state === "revoked" ? "meter_revoked" : "meter_suspended", `the frame's meter is ${meter.state}`);
  return meter;
}

/** Asks for a new GUEK while the old one still has budget left; the meter fetches it in its session. */
async function rotateBeforeBudget(ctx: OperationContext, meter: MeterRow): Promise<void> {
  try {
    await rotateMeterKey(ctx.db, ctx.custody, { ...ctx.audit, actor: { id: "edge", role: "system" } }, meter, "guek");
  } catch (err) {
    if (!(err instanceof GridkeyError && err.code === "invalid_state")) throw err; // a change is already pending
  }
}
