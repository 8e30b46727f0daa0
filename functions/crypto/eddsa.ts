/**
 * Ed25519 signature verification (RFC 8032 §5.1.7) through WebCrypto "Ed25519".
 *
 * workerd imports any 32 bytes as an Ed25519 public key without decoding it, so the key is
 * decoded first with noble, strictly as RFC 8032 §5.1.3 says (y < p, no x = 0 with sign 1):
 * a key that is not a point is CryptoInputError "bad_public_key", like ECDSA's verify.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { checkBytes } from "./check";
import { CryptoInputError } from "./errors";

const SIGNATURE_LENGTH = 64;

export async function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  checkBytes("publicKey", publicKey, [32], "bad_public_key");
  checkBytes("message", message);
  try {
    ed25519.Point.fromBytes(publicKey, false); // false: strict RFC 8032 decoding, not ZIP-215
  } catch {
    throw new CryptoInputError("bad_public_key", "not a valid Ed25519 public key");
  }
  // workerd throws on other lengths; the API answers false for any malformed signature.
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return false;
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  try {
    return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  } catch {
    return false;
  }
}
