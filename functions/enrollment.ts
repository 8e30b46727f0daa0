import { z } from "@hono/zod-openapi";
import { inArray, or } from "drizzle-orm";
import { keys, meters, type KeyAlgorithm, type KeyClass } from "../schema";
import { hexBytes, MeterId, Region } from "./api/http";
import { type AuditContext, type AuditEntry, commitAudited } from "./audit-log";
import { adjustRegionTrees } from "./region-tree";
import { fromHex, parsePublicKey, toHex, unwrap } from "./crypto";
import type { Custody } from "./custody";
import { type Db, jsonList } from "./db";
import { GridkeyError } from "./errors";
import { insertRows } from "./json-rows";
import { type KeyRow, sealNewKey } from "./key-store";
import { openTransportKey } from "./transport-keys";

export type MeterRow = typeof meters.$inferSelect;

/** The per-meter keys enrollment creates (or imports), in DLMS/COSEM terms. */
export const METER_KEY_CLASSES = ["kek", "guek", "ak"] as const satisfies readonly KeyClass[];

const Wrapped = hexBytes([24, 40]).describe("RFC 3394 AES key wrap of a 16- or 32-byte key");

export const EnrollmentInput = z
  .object({
    id: MeterId,
    systemTitle: hexBytes(8, "bad_parameter").describe("DLMS system title, 8 bytes hex"),
    region: Region,
    suite: z.union([z.literal(0), z.literal(1), z.literal(2)]).describe("DLMS/COSEM security suite"),
    identityPublicKey: hexBytes([33, 49, 65, 97, 91, 120], "bad_public_key").describe(
      "P-256 or P-384 public key: SEC1 (compressed or uncompressed) or DER SubjectPublicKeyInfo, hex",
    ),
    manufacturerKeys: z
      .object({ transportKeyId: z.string().max(64), kek: Wrapped.optional(), guek: Wrapped.optional(), ak: Wrapped.optional() })
      .strict()
      .optional()
      .describe("Keys the manufacturer set, each wrapped (RFC 3394) under a manufacturer transport key"),
  })
  .strict()
  .openapi("EnrollmentInput");
export type EnrollmentInput = z.infer<typeof EnrollmentInput>;

export type PreparedMeter = { meter: MeterRow; keys: KeyRow[] };

/**
 * Checks one meter and seals its keys, touching no storage but transport-key reads.
 * Transport keys are opened once per call site and shared through `transport`.
 */
export async function prepareMeter(
  db: Db,
  custody: Custody,
  input: EnrollmentInput,
  now: number,
  transport: Map<string, Promise<Uint8Array>> = new Map(),
): Promise<PreparedMeter> {
  const { curve, sec1 } = parsePublicKey(fromHex(input.identityPublicKey));
  if ((input.suite === 1 && curve !== "P-256") || (input.suite === 2 && curve !== "P-384")) {
    throw new GridkeyError("bad_public_key", `DLMS suite ${input.suite} meters use ${input.suite === 1 ? "P-256" : "P-384"} identity keys`);
  }
  const algorithm: KeyAlgorithm = input.suite === 2 ? "AES-256" : "AES-128";
  const imported = await importedKeys(db, custody, input, transport);
  const keyRows: KeyRow[] = [];
  for (const keyClass of METER_KEY_CLASSES) {
    keyRows.push(await sealNewKey(custody, { ownerType: "meter", ownerId: input.id, keyClass, algorithm, material: imported[keyClass], now }));
  }
  const meter: MeterRow = {
    id: input.id,
    kind: "meter",
    systemTitle: input.systemTitle.toUpperCase(),
    region: input.region,
    suite: input.suite,
    identityCurve: curve,
    identityPublicKey: toHex(sec1),
    state: "active",
    createdAt: now,
    updatedAt: now,
  };
  return { meter, keys: keyRows };
}

export const GatewayInput = z
  .object({
    id: MeterId,
    systemTitle: hexBytes(8, "bad_parameter").describe("the gateway's own 8-byte system title, hex"),
    region: Region,
    identityPublicKey: hexBytes([33, 49, 65, 97, 91, 120], "bad_public_key").describe("P-256 or P-384 public key, SEC1 or SPKI, hex"),
  })
  .strict()
  .openapi("GatewayInput");
export type GatewayInput = z.infer<typeof GatewayInput>;

/**
 * A gateway: an identity that opens its own EDHOC session and relays uploads for the
 * meters of its region. It gets no keys: nothing it relays is readable to it.
 */
export function prepareGateway(input: GatewayInput, now: number): PreparedMeter {
  const { curve, sec1 } = parsePublicKey(fromHex(input.identityPublicKey));
  const meter: MeterRow = {
    id: input.id,
    kind: "gateway",
    systemTitle: input.systemTitle.toUpperCase(),
    region: input.region,
    suite: curve === "P-384" ? 2 : 1,
    identityCurve: curve,
    identityPublicKey: toHex(sec1),
    state: "active",
    createdAt: now,
    updatedAt: now,
  };
  return { meter, keys: [] };
}

async function importedKeys(
  db: Db,
  custody: Custody,
  input: EnrollmentInput,
  transport: Map<string, Promise<Uint8Array>>,
): Promise<Partial<Record<KeyClass, Uint8Array>>> {
  const mk = input.manufacturerKeys;
  if (!mk) return {};
  let kek = transport.get(mk.transportKeyId);
  if (!kek) {
    kek = openTransportKey(db, custody, mk.transportKeyId, "manufacturer");
    transport.set(mk.transportKeyId, kek);
  }
  const out: Partial<Record<KeyClass, Uint8Array>> = {};
  for (const keyClass of METER_KEY_CLASSES) {
    const wrapped = mk[keyClass];
    if (wrapped) out[keyClass] = await unwrap(await kek, fromHex(wrapped));
  }
  return out;
}

export type LineError = { line: number; id?: string; code: string; message: string };

/** Ids and system titles already taken, in the registry or earlier in the same request. */
export async function findCollisions(db: Db, prepared: PreparedMeter[]): Promise<Map<number, LineError>> {
  const errors = new Map<number, LineError>();
  const ids = prepared.map((p) => p.meter.id);
  const titles = prepared.map((p) => p.meter.systemTitle);
  const taken = await db
    .select({ id: meters.id, systemTitle: meters.systemTitle })
    .from(meters)
    .where(or(inArray(meters.id, jsonList(ids)), inArray(meters.systemTitle, jsonList(titles))));
  const takenIds = new Set(taken.map((t) => t.id));
  const takenTitles = new Set(taken.map((t) => t.systemTitle));
  const seenIds = new Set<string>();
  const seenTitles = new Set<string>();
  prepared.forEach(({ meter }, i) => {
    if (takenIds.has(meter.id) || seenIds.has(meter.id)) {
      errors.set(i, { line: i, id: meter.id, code: "duplicate_meter", message: "a meter with this id is already enrolled" });
    } else if (takenTitles.has(meter.systemTitle) || seenTitles.has(meter.systemTitle)) {
      errors.set(i, { line: i, id: meter.id, code: "duplicate_system_title", message: "a meter with this system title is already enrolled" });
    }
    seenIds.add(meter.id);
    seenTitles.add(meter.systemTitle);
  });
  return errors;
}

/** Writes meters, their keys and one audit record per meter, all or nothing. */
/**
 * Writes the meters, their keys and one audit record each in one transaction, then puts the
 * meters in their regions' key trees. The registry is the truth: should the trees be
 * unreachable, the meters are enrolled all the same and join them when first needed
 * (region-tree.ts).
 */
export async function commitEnrollment(db: Db, env: Env, ctx: AuditContext, prepared: PreparedMeter[]): Promise<void> {
  const entries: AuditEntry[] = prepared.map(({ meter, keys: k }) => ({
    action: `${meter.kind}.enroll`,
    targetType: meter.kind,
    targetId: meter.id,
    details: { region: meter.region, suite: meter.suite, systemTitle: meter.systemTitle, keys: k.map((r) => ({ class: r.keyClass, id: r.id, origin: r.origin })) },
  }));
  await commitAudited(db, ctx, entries, [
    ...insertRows(meters, prepared.map((p) => p.meter)),
    ...insertRows(keys, prepared.flatMap((p) => p.keys)),
  ]);
  try {
    await adjustRegionTrees(db, env, ctx, { join: prepared.map((p) => p.meter) });
  } catch (err) {
    console.warn("region tree join deferred", ctx.requestId, String(err));
  }
}
