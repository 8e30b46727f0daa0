/**
 * Diffie-Hellman: ECDH on P-256 and P-384 (SEC 1 §3.3.1, the x-coordinate as shared secret) and
 * X25519 (RFC 7748), all computed by WebCrypto. Private keys enter as raw scalars (see
 * private-key.ts).
 */
import { p256, p384 } from "@noble/curves/nist.js";
import { checkBytes } from "./check";
import { CryptoInputError } from "./errors";
import { checkPrivateKey, generateKeyPair, importPrivateKey, SCALAR_SIZE, type RawKeyPair } from "./private-key";
import { importSec1PublicKey, type EcCurve } from "./public-key";

/**
 * ECDH P-256: 32-byte shared x-coordinate. peerPublic is SEC1, compressed or uncompressed;
 * points off the curve, with coordinates >= p, or the point at infinity are CryptoInputError
 * "bad_public_key" (WebCrypto's import validation, SP 800-56A §5.6.2.3.3 full check).
 */
export function ecdhP256(privateScalar: Uint8Array, peerPublic: Uint8Array): Promise<Uint8Array> {
  return ecdh("P-256", privateScalar, peerPublic);
}

/** ECDH P-384: 48-byte shared x-coordinate; as ecdhP256 (48-byte scalar, P-384 SEC1 point). */
export function ecdhP384(privateScalar: Uint8Array, peerPublic: Uint8Array): Promise<Uint8Array> {
  return ecdh("P-384", privateScalar, peerPublic);
}

export function generateP256KeyPair(): Promise<RawKeyPair> {
  return generateKeyPair("P-256", "ECDH");
}

export function generateP384KeyPair(): Promise<RawKeyPair> {
  return generateKeyPair("P-384", "ECDH");
}

/**
 * Uncompressed SEC1 public key of a P-256 scalar. Synchronous, so noble computes it
 * (WebCrypto has no scalar-to-public operation, and is async).
 */
export function p256PublicKey(privateScalar: Uint8Array): Uint8Array {
  checkPrivateKey("P-256", privateScalar);
  return p256.getPublicKey(privateScalar, false);
}

/** Uncompressed SEC1 public key of a P-384 scalar (noble, as p256PublicKey). */
export function p384PublicKey(privateScalar: Uint8Array): Uint8Array {
  checkPrivateKey("P-384", privateScalar);
  return p384.getPublicKey(privateScalar, false);
}

async function ecdh(curve: EcCurve, privateScalar: Uint8Array, peerPublic: Uint8Array): Promise<Uint8Array> {
  const priv = await importPrivateKey(curve, privateScalar, "ECDH", ["deriveBits"]);
  const pub = await importSec1PublicKey(curve, peerPublic, "ECDH", []);
  return new Uint8Array(await crypto.subtle.deriveBits(peerParams("ECDH", pub), priv, 8 * SCALAR_SIZE[curve]));
}

/**
 * X25519 (RFC 7748 §5). Any 32-byte public key is taken as RFC 7748 says (top bit masked,
 * non-canonical u reduced, twist points computed), except those giving the all-zero shared
 * secret (the low-order points): RFC 7748 §6.1 allows and RFC 9528 §9.2 (EDHOC) requires
 * rejecting them; they are CryptoInputError "bad_public_key".
 */
export async function x25519(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
  const priv = await importPrivateKey("X25519", privateKey, "X25519", ["deriveBits"]);
  checkBytes("publicKey", publicKey, [32], "bad_public_key");
  const pub = await crypto.subtle.importKey("raw", publicKey, { name: "X25519" }, false, []);
  let shared: Uint8Array;
  try {
    shared = new Uint8Array(await crypto.subtle.deriveBits(peerParams("X25519", pub), priv, 256));
  } catch {
    // workerd (BoringSSL) fails the derivation itself when the result is all zero.
    throw lowOrder();
  }
  // Also checked here so the guarantee does not rest on one runtime's behaviour.
  if (shared.reduce((acc, b) => acc | b, 0) === 0) throw lowOrder();
  return shared;
}

/**
 * The WebCrypto parameter is named `public`; @cloudflare/workers-types declares it as `$public`
 * (an artefact of workerd's C++ binding names), so the object is built outside a literal
 * argument to pass the type check with the name the runtime reads.
 */
function peerParams(name: "ECDH" | "X25519", peer: CryptoKey): SubtleCryptoDeriveKeyAlgorithm {
  const params = { name, public: peer };
  return params;
}

function lowOrder(): CryptoInputError {
  return new CryptoInputError("bad_public_key", "X25519 public key is of low order (all-zero shared secret)");
}
