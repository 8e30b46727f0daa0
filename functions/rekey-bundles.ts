import { eq, sql } from "drizzle-orm";
import { meters } from "../schema";
import { DR_AK_LABEL, DR_COMMAND_SC, NODE_KEY_BYTES } from "../wire/rekey";
import { type CentralSigner, centralSigner, signCwt } from "./central-signing";
import { hmacSha256, sealGloCiphering, sha256, utf8 } from "./crypto";
import type { Custody } from "./custody";
import { database, type Db } from "./db";
import { GridkeyError } from "./errors";
import { activeKeysOfOwner, openKey } from "./key-store";

/**
 * What every group key graph does with its epochs, whether the program is keyed by a tree
 * of its own (key-graph.ts) or by a cover over its members' region trees (cover-graph.ts).
 */
export type Keying = "tree" | "cover";

/** A region's own key tree is a key graph named after it; its root is the region's broadcast group key. */
export const REGION_GRAPH_PREFIX = "region:";
export const regionGraphName = (region: string) => `${REGION_GRAPH_PREFIX}${region}`;

/** How long an isolate keeps the unsealed central signing key: a D1 read and an unseal per epoch otherwise. */
const SIGNER_CACHE_MS = 5 * 60_000;
let signerCache: { at: number; signer: Promise<CentralSigner> } | undefined;

/** Central signs (COSE_Sign1, ES256) what meters act on, so no concentrator, gateway or member can forge a rekey or a DR command. */
export async function signForMeters(env: Pick<Env, "DB">, custody: Custody, payload: Uint8Array, requestId: string): Promise<Uint8Array> {
  const now = Date.now();
  if (!signerCache || now - signerCache.at > SIGNER_CACHE_MS) {
    const signer = centralSigner(database(env.DB), custody, requestId);
    signerCache = { at: now, signer };
    signer.catch(() => (signerCache = undefined));
  }
  return signCwt(await signerCache.signer, payload);
}

/**
 * Pushes an epoch's bundle to the concentrators of the regions that hold members (`targets`,
 * which a graph counts itself; else the registry is asked), which cache it and tell their
 * subscribed meters. Best effort: a meter whose concentrator missed it asks the graph itself.
 */
export async function publishBundle(
  env: Env,
  keying: Keying,
  b: { program: string; epoch: number; degree: number; header: Uint8Array; entries: Uint8Array },
  targets?: string[],
): Promise<void> {
  try {
    const regions =
      targets ??
      (
        await database(env.DB).all<{ region: string }>(
          sql`SELECT DISTINCT m.region AS region FROM program_members pm JOIN meters m ON m.id = pm.meter_id WHERE pm.program_id = ${b.program}`,
        )
      ).map((r) => r.region);
    await Promise.all(regions.map((region) => env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(region)).cacheBundle(b.program, b.epoch, b.degree, b.header, b.entries, keying)));
  } catch (err) {
    console.warn("bundle push failed; meters will fetch from the key graph", b.program, b.epoch, String(err));
  }
}

/** The active meter's current KEK, under which its snapshots are wrapped. */
export async function openMeterKek(db: Db, custody: Custody, meterId: string): Promise<Uint8Array> {
  const [meter] = await db.select().from(meters).where(eq(meters.id, meterId));
  if (!meter || meter.state !== "active") throw new GridkeyError("invalid_state", "the meter is not active");
  const kek = (await activeKeysOfOwner(db, "meter", meterId)).find((k) => k.keyClass === "kek");
  if (!kek) throw new GridkeyError("invalid_state", "the meter has no active KEK");
  return openKey(custody, kek);
}

/**
 * A DR command under a group key (wire/rekey.ts): general-glo-ciphering, security control
 * 0x70, system title = SHA-256(graph name)[0..8], AK derived from the group key. The caller
 * stores `invocationCounter` before the frame leaves.
 */
export async function sealDrCommand(name: string, groupKey: Uint8Array, invocationCounter: number, command: Uint8Array): Promise<Uint8Array> {
  const ak = (await hmacSha256(groupKey, utf8(DR_AK_LABEL))).slice(0, NODE_KEY_BYTES);
  const systemTitle = (await sha256(utf8(name))).slice(0, 8);
  return sealGloCiphering({ systemTitle, securityControl: DR_COMMAND_SC, invocationCounter }, { ek: groupKey, ak }, command);
}
