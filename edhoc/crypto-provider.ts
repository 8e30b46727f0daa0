/**
 * The cryptography EDHOC needs, behind one interface, so the protocol code runs unchanged on
 * the server (WebCrypto through functions/crypto: webcrypto-provider.ts) and in the meter
 * SDK (pure JS noble: noble-provider.ts).
 *
 * Conventions every provider keeps:
 * - Public keys of the key exchange are compact (RFC 9528 Appendix B): the x-coordinate for
 *   P-256/P-384, the u-coordinate for X25519, exactly coordinateLength(curve) bytes.
 * - Private keys are raw: big-endian scalars of the field size, or 32-byte X25519 keys.
 * - Signature public keys are SEC1 points (compressed or uncompressed).
 * - Failures the peer can cause are EdhocError: an invalid peer public key or an all-zero
 *   X25519 output is "invalid_public_key", an AEAD tag mismatch is "decryption_failed".
 * - Everything is async: WebCrypto is, and the protocol code does not care which one runs.
 */
import type { AeadAlg, CipherSuite, Curve, HashAlg, SignAlg } from "./suites.js";

export interface KeyPair {
  readonly privateKey: Uint8Array;
  /** Compact public key (x- or u-coordinate). */
  readonly publicKey: Uint8Array;
}

export interface EdhocCryptoProvider {
  readonly name: string;
  /** True when every algorithm of the suite is implemented. */
  supportsSuite(suite: CipherSuite): boolean;
  randomBytes(length: number): Uint8Array;

  generateKeyPair(curve: Curve): Promise<KeyPair>;
  /** Compact public key of a private key (used when a key is injected, e.g. test traces). */
  publicKey(curve: Curve, privateKey: Uint8Array): Promise<Uint8Array>;
  /** Shared secret (x-coordinate / X25519 output); validates the peer's compact key. */
  ecdh(curve: Curve, privateKey: Uint8Array, peerPublicKey: Uint8Array): Promise<Uint8Array>;

  hash(alg: HashAlg, data: Uint8Array): Promise<Uint8Array>;
  hkdfExtract(alg: HashAlg, salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array>;
  hkdfExpand(alg: HashAlg, prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;

  /** Returns ciphertext || tag. */
  aeadEncrypt(alg: AeadAlg, key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Throws EdhocError "decryption_failed" when the tag does not verify. */
  aeadDecrypt(alg: AeadAlg, key: Uint8Array, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;

  /** COSE signature bytes (r || s for ECDSA). */
  sign(alg: SignAlg, privateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  /** False for a wrong or malformed signature; EdhocError "invalid_public_key" for a bad key. */
  verify(alg: SignAlg, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** SEC1 compressed form of a compact key: the sign of y is irrelevant to ECDH (Appendix B). */
export function compactToSec1(x: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + x.length);
  out[0] = 0x02;
  out.set(x, 1);
  return out;
}

/** The curve a signature algorithm runs on. */
export function signatureCurve(alg: SignAlg): "P-256" | "P-384" | "Ed25519" {
  return alg === "ES256" ? "P-256" : alg === "ES384" ? "P-384" : "Ed25519";
}
