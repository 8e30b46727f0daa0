import { makeCcs, type LocalCredential } from "../edhoc/credentials";
import { centralSigner, keyId, signCwt } from "./central-signing";
import { generateP256KeyPair, generateP384KeyPair, p256PublicKey, p384PublicKey } from "./crypto";
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
 * A region's concentrator credential for one curve (P-256 for EDHOC suite 2, P-384 for
 * suite 24): a static DH key (created on first use, stored sealed like every key), its CCS
 * identified by a 4-byte kid, and that CCS as a CWT signed by the central signing key.
 */
export async function concentratorCredential(
  db: Db,
  custody: Custody,
  region: string,
  curve: ConcentratorCurve,
  requestId: string,
): Promise<ConcentratorCredential> {
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
  const credential = makeCcs({
    subject: `gridkey concentrator ${region}`,
    kid: (await keyId(publicKey)).slice(0, 4),
    curve,
    x: publicKey.slice(1, 1 + c.size),
    y: publicKey.slice(1 + c.size),
  });
  const cwt = await signCwt(await centralSigner(db, custody, requestId), credential.bytes);
  return { local: { credential, privateKey: material }, cwt };
}
