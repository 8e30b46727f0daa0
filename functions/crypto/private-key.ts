/**
 * Raw private keys into and out of WebCrypto (internal). WebCrypto cannot import a bare scalar, so the
 * scalar is put into the fixed PKCS#8 structure for its curve (RFC 5208 with RFC 5915
 * ECPrivateKey without the optional public key, or RFC 8410 for X25519); workerd computes the
 * public key itself. This keeps all secret-dependent arithmetic in native code.
 */
import { p256, p384 } from "@noble/curves/nist.js";
import { checkBytes } from "./check";
import { concat, fromBase64url, fromHex } from "./bytes";
import { CryptoInputError } from "./errors";
import type { EcCurve } from "./public-key";

export type PrivateKeyCurve = EcCurve | "X25519";

export const SCALAR_SIZE: Record<PrivateKeyCurve, number> = { "P-256": 32, "P-384": 48, X25519: 32 };

const PKCS8_PREFIX: Record<PrivateKeyCurve, Uint8Array> = {
  "P-256": fromHex("3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420"),
  "P-384": fromHex("304e020100301006072a8648ce3d020106052b81040022043730350201010430"),
  X25519: fromHex("302e020100300506032b656e04220420"),
};

/**
 * P-256/P-384 scalars must be exactly the field size and in [1, n-1] (SEC 1 §3.2.1);
 * X25519 private keys are any 32 bytes (RFC 7748 §5 clamps them).
 */
export function checkPrivateKey(curve: PrivateKeyCurve, scalar: Uint8Array): void {
  checkBytes("privateKey", scalar, [SCALAR_SIZE[curve]], "bad_key_size");
  if (curve !== "X25519" && !(curve === "P-256" ? p256 : p384).utils.isValidSecretKey(scalar)) {
    throw new CryptoInputError("bad_private_key", `privateKey is not a valid ${curve} scalar (0 or >= n)`);
  }
}

export async function importPrivateKey(
  curve: PrivateKeyCurve,
  scalar: Uint8Array,
  algorithm: "ECDH" | "ECDSA" | "X25519",
  usages: string[],
): Promise<CryptoKey> {
  checkPrivateKey(curve, scalar);
  const params = curve === "X25519" ? { name: "X25519" } : { name: algorithm, namedCurve: curve };
  const der = concat(PKCS8_PREFIX[curve], scalar);
  try {
    return await crypto.subtle.importKey("pkcs8", der, params, false, usages);
  } finally {
    der.fill(0); // our copy of the secret; the caller's scalar is theirs to wipe
  }
}

export interface RawKeyPair {
  /** The private scalar, big-endian, exactly the field size. */
  privateKey: Uint8Array;
  /** Uncompressed SEC1 point 0x04 || x || y. */
  publicKey: Uint8Array;
}

/**
 * Generates a P-256/P-384 key pair natively and exports it raw: the scalar from the JWK "d"
 * (RFC 7518 §6.2.2.1: always the full field size), the point as raw SEC1.
 */
export async function generateKeyPair(curve: EcCurve, algorithm: "ECDH" | "ECDSA"): Promise<RawKeyPair> {
  const usages: string[] = algorithm === "ECDH" ? ["deriveBits"] : ["sign", "verify"];
  const pair = (await crypto.subtle.generateKey({ name: algorithm, namedCurve: curve }, true, usages)) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const publicKey = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  return { privateKey: fromBase64url(jwk.d ?? ""), publicKey };
}
