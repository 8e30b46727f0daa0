import { makeCcs, type LocalCredential } from "../edhoc/credentials";
import { centralSigner, keyId, signCwt } from "./central-signing";
import { concat, generateP256KeyPair, generateP384KeyPair, p256PublicKey, p384PublicKey } from "./crypto";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { serviceKey } from "./service-keys";

export type ConcentratorCredential = {
  /** The static DH key and CCS the responder authenticates with. */
  local: LocalCredential;
  /** The same CCS signed by central: what meters verify against their trust anchor. */
  cwt: Uint8Array;
};

const CURVES = {
  "P-256": { generate: generateP256KeyPair, publicKey: p256PublicKey, size: 32, suffix: "" },
  "P-384": { generate: generateP384KeyPair, publicKey: p384PublicKey, size: 48, suffix: ":P-384" },
} as const;

export type ConcentratorCurve = keyof typeof CURVES;

/**
 * Credentials are issued per period: every issuance within one period is the same CCS (same
 * bytes, same kid), valid to the end of the next period. A meter refuses an expired one, so
 * a concentrator key replaced after a compromise stops being accepted within two periods
 * even by meters that cached its credential.
 */
export const CREDENTIAL_PERIOD_SECONDS = 7 * 86_400;

export function credentialExpiry(nowMs: number): number {
  return (Math.floor(nowMs / 1000 / CREDENTIAL_PERIOD_SECONDS) + 2) * CREDENTIAL_PERIOD_SECONDS;
}

/**
 * A region's concentrator credential for one curve (P-256 for EDHOC suite 2, P-384 for
 * suite 24): a static DH key (created on first use, stored sealed like every key), its CCS
 * with an expiry and a 4-byte kid naming key and expiry, and that CCS as a CWT signed by the
 * central signing key.
 */
export async function concentratorCredential(
  db: Db,
  custody: Custody,
  region: string,
  curve: ConcentratorCurve,
  requestId: string,
  nowMs = Date.now(),
): Promise<ConcentratorCredential & { expiresAt: number }> {
  const c = CURVES[curve];
  const { material } = await serviceKey(
    db,
    custody,
    {
      id: `concentrator:${region}${c.suffix}`,
      ownerType: "region",
      ownerId: region,
      keyClass: "concentrator",
      algorithm: curve,
      generate: async () => (await c.generate()).privateKey,
    },
    requestId,
  );
  const publicKey = c.publicKey(material);
  const expiresAt = credentialExpiry(nowMs);
  const expiry = new Uint8Array(8);
  new DataView(expiry.buffer).setBigUint64(0, BigInt(expiresAt));
  const credential = makeCcs({
    subject: `gridkey concentrator ${region}`,
    expiresAt,
    // A new kid for each period's credential: a meter holding last period's asks for the new one.
    kid: (await keyId(concat(publicKey, expiry))).slice(0, 4),
    curve,
    x: publicKey.slice(1, 1 + c.size),
    y: publicKey.slice(1 + c.size),
  });
  const cwt = await signCwt(await centralSigner(db, custody, requestId), credential.bytes);
  return { local: { credential, privateKey: material }, cwt, expiresAt };
}
