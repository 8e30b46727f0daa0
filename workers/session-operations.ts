import { CborMap, type CborValue } from "../edhoc/cbor";
import type { AuditContext } from "../functions/audit-log";
import type { Custody } from "../functions/custody";
import type { Db } from "../functions/db";
import type { MeterRow } from "../functions/enrollment";
import { GridkeyError } from "../functions/errors";
import { acknowledgeKeys, keyDelivery } from "../functions/key-delivery";
import { openReading, storeReading } from "../functions/readings";
import { toHex } from "../functions/crypto";
import { decodeGloCiphering } from "../wire/glo-ciphering";
import type { SessionRequest } from "../wire/session-record";

export type OperationContext = {
  db: Db;
  custody: Custody;
  /** The concentrator's storage: invocation counters live here, with its single writer. */
  storage: DurableObjectStorage;
  audit: AuditContext;
  region: string;
  meter: MeterRow;
};

type Operation = (ctx: OperationContext, args: CborMap) => Promise<CborMap>;

/** What a meter may ask inside its session (docs/protocol.md §5). */
const OPERATIONS: Record<string, Operation> = {
  ping: async () => new CborMap(),
  keys: deliverKeys,
  ack: acknowledge,
  reading: uploadReading,
};

export async function runOperation(ctx: OperationContext, request: SessionRequest): Promise<CborMap> {
  const operation = OPERATIONS[request.op];
  if (!operation) throw new GridkeyError("bad_parameter", `unknown operation ${JSON.stringify(request.op.slice(0, 32))}`);
  return operation(ctx, request.args);
}

async function deliverKeys(ctx: OperationContext): Promise<CborMap> {
  const { keyData, keys } = await keyDelivery(ctx.db, ctx.custody, ctx.meter, ctx.audit.requestId);
  return new CborMap([
    ["keyData", keyData],
    ["keys", keys.map((k): CborValue => [k.class, k.dlmsKeyId, k.keyId, k.version, k.state])],
  ]);
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
  return new CborMap([["acknowledged", await acknowledgeKeys(ctx.db, ctx.audit, ctx.meter, acked)]]);
}

/**
 * A DLMS general-glo-ciphering frame from the meter: authenticated and decrypted with its
 * GUEK/AK, its invocation counter strictly above the last one accepted under that key, then
 * handed to the readings sink. The counter is stored after the reading, and the sink's
 * unique index refuses a counter twice, so no crash between the two lets a frame in twice.
 */
async function uploadReading(ctx: OperationContext, args: CborMap): Promise<CborMap> {
  const apdu = args.get("apdu");
  if (!(apdu instanceof Uint8Array)) throw new GridkeyError("bad_parameter", "apdu is a byte string");
  const frame = decodeGloCiphering(apdu);
  if (toHex(frame.systemTitle).toUpperCase() !== ctx.meter.systemTitle) {
    throw new GridkeyError("bad_frame", "the frame's system title is not the session's meter");
  }
  const opened = await openReading(ctx.db, ctx.custody, ctx.meter, frame);
  const counterKey = `ic:${ctx.meter.id}:${opened.guek.id}:${opened.guek.version}`;
  const last = (await ctx.storage.get<number>(counterKey)) ?? 0;
  if (frame.invocationCounter <= last) {
    throw new GridkeyError("reading_replayed", `invocation counter ${frame.invocationCounter} is not above ${last}`);
  }
  try {
    await storeReading(ctx.db, ctx.meter, frame, opened, ctx.meter.id);
  } catch (err) {
    if (/UNIQUE constraint failed: readings/.test(String((err as Error)?.message) + String((err as Error)?.cause))) {
      throw new GridkeyError("reading_replayed", "this invocation counter was already accepted");
    }
    throw err;
  }
  await ctx.storage.put(counterKey, frame.invocationCounter);
  return new CborMap([["invocationCounter", frame.invocationCounter]]);
}
