import { p256, p384 } from "@noble/curves/nist.js";

/** DER SubjectPublicKeyInfo of an uncompressed P-256 / P-384 point ends in that point. */
const SPKI_POINT: Record<number, number> = { 91: 65, 120: 97 };

/**
 * The identity key as gridkey stores it (uncompressed SEC1, lower-case hex), from any form
 * the API accepts (SEC1 compressed or uncompressed, or SPKI); undefined if it is none of them.
 * Lets a resumed import tell "this meter is enrolled as my file says" from "a meter with this
 * id and system title but another key is enrolled".
 */
export function canonicalPublicKey(hex: string | undefined): string | undefined {
  if (!hex || !/^(?:[0-9a-fA-F]{2})+$/.test(hex)) return undefined;
  let bytes = Uint8Array.from(Buffer.from(hex, "hex"));
  const inner = SPKI_POINT[bytes.length];
  if (inner) bytes = bytes.subarray(bytes.length - inner);
  const curve = bytes.length === 33 || bytes.length === 65 ? p256 : bytes.length === 49 || bytes.length === 97 ? p384 : undefined;
  try {
    return curve?.Point.fromBytes(bytes).toHex(false);
  } catch {
    return undefined;
  }
}
