import { readings } from "../schema";
import type { GloCiphering } from "../wire/glo-ciphering";
import { CryptoVerifyError, openGloCiphering, toHex } from "./crypto";
import type { Custody } from "./custody";
import type { Db } from "./db";
import type { MeterRow } from "./enrollment";
import { GridkeyError } from "./errors";
import { type KeyRow, keysOfOwner, openKey } from "./key-store";

export type OpenedReading = { guek: KeyRow; plaintext: Uint8Array };

/** Order of preference: what the meter most likely uses now, then what it may still use. */
const STATE_ORDER = ["active", "new", "retired"] as const;

/**
 * Authenticates and decrypts a meter's general-glo-ciphering frame with its GUEK and AK.
 * While a key change is pending or in its grace period, the other live versions are tried
 * too: the frame does not say which version protected it.
 */
export async function openReading(db: Db, custody: Custody, meter: MeterRow, frame: GloCiphering): Promise<OpenedReading> {
  const rows = await keysOfOwner(db, "meter", meter.id);
  const live = (keyClass: "guek" | "ak") =>
    STATE_ORDER.flatMap((state) => rows.filter((k) => k.keyClass === keyClass && k.state === state).sort((a, b) => b.version - a.version));
  for (const guek of live("guek")) {
    const ek = await openKey(custody, guek);
    for (const akRow of live("ak")) {
      const ak = await openKey(custody, akRow);
      try {
        return { guek, plaintext: await openGloCiphering(frame, { ek, ak }) };
      } catch (err) {
        if (!(err instanceof CryptoVerifyError)) throw err;
      } finally {
        ak.fill(0);
      }
    }
    ek.fill(0);
  }
  throw new GridkeyError("reading_rejected", "the frame does not authenticate under the meter's keys");
}

export function storeReading(db: Db, meter: MeterRow, frame: GloCiphering, opened: OpenedReading, via: string) {
  return db.insert(readings).values({
    meterId: meter.id,
    region: meter.region,
    keyId: opened.guek.id,
    keyVersion: opened.guek.version,
    invocationCounter: frame.invocationCounter,
    securityControl: frame.securityControl,
    payload: toHex(opened.plaintext),
    via,
    receivedAt: Date.now(),
  });
}
