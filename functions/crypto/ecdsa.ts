/**
 * ECDSA (FIPS 186-5) with P-256/SHA-256 and P-384/SHA-384 through WebCrypto; signatures in
 * IEEE P1363 form r || s (what WebCrypto and COSE use), not DER.
 */
import { checkBytes } from "./check";
import { CryptoInputError } from "./errors";
import { generateKeyPair, importPrivateKey, SCALAR_SIZE, type RawKeyPair } from "./private-key";
import { importSec1PublicKey, type EcCurve } from "./public-key";

export type SigningCurve = EcCurve;

/** The hash is fixed by the curve, as in COSE ES256/ES384 (RFC 9053 §2.1). */
const HASH: Record<SigningCurve, string> = { "P-256": "SHA-256", "P-384": "SHA-384" };

export async function sign(curve: SigningCurve, privateScalar: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  checkCurve(curve);
  checkBytes("message", message);
  const key = await importPrivateKey(curve, privateScalar, "ECDSA", ["sign"]);
  return new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: HASH[curve] }, key, message));
}

/**
 * True only for a valid signature. Any malformed signature (wrong length, r or s out of
 * range, not a Uint8Array) is just false; a malformed public key is CryptoInputError.
 */
export async function verify(
  curve: SigningCurve,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  checkCurve(curve);
  checkBytes("message", message);
  const key = await importSec1PublicKey(curve, publicKey, "ECDSA", ["verify"]);
  if (!(signature instanceof Uint8Array) || signature.length !== 2 * SCALAR_SIZE[curve]) return false;
  try {
    return await crypto.subtle.verify({ name: "ECDSA", hash: HASH[curve] }, key, signature, message);
  } catch {
    return false;
  }
}

export async function generateSigningKeyPair(curve: SigningCurve): Promise<RawKeyPair> {
  checkCurve(curve);
  return generateKeyPair(curve, "ECDSA");
}

function checkCurve(curve: unknown): asserts curve is SigningCurve {
  if (curve !== "P-256" && curve !== "P-384") {
    throw new CryptoInputError("bad_parameter", 'curve must be "P-256" or "P-384"');
  }
}
