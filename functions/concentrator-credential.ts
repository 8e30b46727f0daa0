import { makeCcs, type LocalCredential } from "../edhoc/credentials";
import { centralSigner, keyId, signCwt } from "./central-signing";
import { generateP256KeyPair, p256PublicKey } from "./crypto";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { serviceKey } from "./service-keys";

export type ConcentratorCredential = {
  /** The static DH key and CCS the responder authenticates with. */
  local: LocalCredential;
  /** The same CCS signed by central: what meters verify against their trust anchor. */
  cwt: Uint8Array;
};

/**
 * A region's concentrator credential: a static P-256 DH key (created on first use, stored
 * sealed like every key), its CCS identified by a 4-byte kid, and that CCS as a CWT signed
 * by the central signing key.
 */
export async function concentratorCredential(db: Db, custody: Custody, region: string, requestId: string): Promise<ConcentratorCredential> {
  const { material } = await serviceKey(
    db,
    custody,
    {
      id: `concentrator:${region}`,
      ownerType: "region",
      ownerId: region,
      keyClass: "concentrator",
      algorithm: "P-256",
      generate: async () => (await generateP256KeyPair()).privateKey,
    },
    requestId,
  );
  const publicKey = p256PublicKey(material);
  const credential = makeCcs({
    subject: `gridkey concentrator ${region}`,
    kid: (await keyId(publicKey)).slice(0, 4),
    curve: "P-256",
    x: publicKey.slice(1, 33),
    y: publicKey.slice(33),
  });
  const cwt = await signCwt(await centralSigner(db, custody, requestId), credential.bytes);
  return { local: { credential, privateKey: material }, cwt };
}
