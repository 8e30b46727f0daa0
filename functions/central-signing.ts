import { generateSigningKeyPair, p256PublicKey, sha256, sign } from "./crypto";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { serviceKey } from "./service-keys";
import { encodeCwt, es256ProtectedHeader, sigStructure } from "../wire/cwt";

/**
 * The central signing key (DESIGN.md §3): ECDSA P-256, the meters' trust anchor. It signs
 * concentrator credentials (CWTs) and, later, rekey bundles. Created on first use.
 */
export type CentralSigner = { kid: Uint8Array; publicKey: Uint8Array; privateKey: Uint8Array };

export const CENTRAL_SIGNING_KEY_ID = "central-signing";

export async function centralSigner(db: Db, custody: Custody, requestId: string): Promise<CentralSigner> {
  const { material } = await serviceKey(
    db,
    custody,
    {
      id: CENTRAL_SIGNING_KEY_ID,
      ownerType: "deployment",
      ownerId: "central",
      keyClass: "signing",
      algorithm: "P-256",
      generate: async () => (await generateSigningKeyPair("P-256")).privateKey,
    },
    requestId,
  );
  const publicKey = p256PublicKey(material);
  return { kid: await keyId(publicKey), publicKey, privateKey: material };
}

/** A key's kid: the first 8 bytes of SHA-256 of its uncompressed SEC1 public key. */
export async function keyId(publicKey: Uint8Array): Promise<Uint8Array> {
  return (await sha256(publicKey)).slice(0, 8);
}

/** Signs `payload` as a CWT (COSE_Sign1, ES256) under the central key. */
export async function signCwt(signer: CentralSigner, payload: Uint8Array): Promise<Uint8Array> {
  const protectedHeader = es256ProtectedHeader();
  const signature = await sign("P-256", signer.privateKey, sigStructure(protectedHeader, payload));
  return encodeCwt({ protectedHeader, signerKid: signer.kid, payload, signature });
}
