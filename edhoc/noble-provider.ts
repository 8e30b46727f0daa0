/**
 * EdhocCryptoProvider in pure JavaScript (noble), for the meter SDK and any runtime without
 * WebCrypto's EC support. AES-CCM comes from gridkey's crypto module (aes-ccm.ts), which
 * itself only uses noble's AES modes, so this file pulls in no WebCrypto code.
 *
 * Supports suites 2, 3, 6 and 24 (P-256, P-384, X25519; SHA-256/384; CCM and GCM; ES256/384).
 */
import { gcm } from "@noble/ciphers/aes.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha256, sha384 } from "@noble/hashes/sha2.js";
import { randomBytes } from "@noble/hashes/utils.js";
import { openCcm, sealCcm } from "../functions/crypto/aes-ccm.js";
import { CryptoInputError } from "../functions/crypto/errors.js";
import { compactToSec1, type EdhocCryptoProvider, type KeyPair } from "./crypto-provider.js";
import { EdhocError } from "./errors.js";
import type { AeadAlg, CipherSuite, Curve, HashAlg, SignAlg } from "./suites.js";

const WEIERSTRASS = { "P-256": p256, "P-384": p384 } as const;
const HASH = { "SHA-256": sha256, "SHA-384": sha384 } as const;

function invalidPeerKey(cause: unknown): EdhocError {
  return new EdhocError("invalid_public_key", "peer public key is not valid for the curve", { cause });
}

function isAllZero(b: Uint8Array): boolean {
  let acc = 0;
  for (const x of b) acc |= x;
  return acc === 0;
}

/** X25519 with the all-zero output check RFC 9528 §9.2 requires (low-order peer keys). */
function x25519Shared(privateKey: Uint8Array, peer: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(privateKey, peer);
  } catch (e) {
    throw invalidPeerKey(e); // noble refuses the all-zero result itself
  }
  if (isAllZero(shared)) throw invalidPeerKey(undefined);
  return shared;
}

/** P-256/P-384 ECDH on a compact key; the point is decoded (x < p, on the curve) first. */
function weierstrassShared(curve: "P-256" | "P-384", privateKey: Uint8Array, peer: Uint8Array): Uint8Array {
  const ec = WEIERSTRASS[curve];
  const sec1 = compactToSec1(peer);
  try {
    ec.Point.fromBytes(sec1);
  } catch (e) {
    throw invalidPeerKey(e);
  }
  return ec.getSharedSecret(privateKey, sec1, true).slice(1);
}

function signer(alg: SignAlg): typeof p256 {
  if (alg === "ES256") return p256;
  if (alg === "ES384") return p384;
  throw new EdhocError("bad_parameter", `${alg} is not supported by the noble provider`);
}

export const nobleProvider: EdhocCryptoProvider = {
  name: "noble",

  supportsSuite(suite: CipherSuite): boolean {
    return suite.sign !== "EdDSA";
  },

  randomBytes(length: number): Uint8Array {
    return randomBytes(length);
  },

  async generateKeyPair(curve: Curve): Promise<KeyPair> {
    if (curve === "X25519") {
      const { secretKey, publicKey } = x25519.keygen();
      return { privateKey: secretKey, publicKey };
    }
    const { secretKey, publicKey } = WEIERSTRASS[curve].keygen();
    return { privateKey: secretKey, publicKey: publicKey.slice(1) };
  },

  async publicKey(curve: Curve, privateKey: Uint8Array): Promise<Uint8Array> {
    if (curve === "X25519") return x25519.getPublicKey(privateKey);
    return WEIERSTRASS[curve].getPublicKey(privateKey, true).slice(1);
  },

  async ecdh(curve: Curve, privateKey: Uint8Array, peer: Uint8Array): Promise<Uint8Array> {
    if (curve === "X25519") return x25519Shared(privateKey, peer);
    return weierstrassShared(curve, privateKey, peer);
  },

  async hash(alg: HashAlg, data: Uint8Array): Promise<Uint8Array> {
    return HASH[alg](data);
  },

  async hkdfExtract(alg: HashAlg, salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array> {
    return extract(HASH[alg], ikm, salt);
  },

  async hkdfExpand(alg: HashAlg, prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
    return expand(HASH[alg], prk, info, length);
  },

  async aeadEncrypt(alg: AeadAlg, key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    if (alg.mode === "ccm") return sealCcm(key, iv, plaintext, aad, alg.tagLength);
    return gcm(key, iv, aad).encrypt(plaintext);
  },

  async aeadDecrypt(alg: AeadAlg, key: Uint8Array, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
    // Both modes throw on a short input or a wrong tag; the key and IV come from the key
    // schedule with the suite's lengths, so a throw here is the ciphertext's fault.
    try {
      if (alg.mode === "ccm") return openCcm(key, iv, ciphertext, aad, alg.tagLength);
      return gcm(key, iv, aad).decrypt(ciphertext);
    } catch (e) {
      if (e instanceof CryptoInputError && e.code !== "bad_length") throw e; // our bug, not the peer's
      throw new EdhocError("decryption_failed", "ciphertext does not authenticate", { cause: e });
    }
  },

  async sign(alg: SignAlg, privateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
    // Hedged signatures (RFC 6979 plus fresh randomness), as RFC 9528 §9.7 suggests.
    return signer(alg).sign(message, privateKey, { extraEntropy: true });
  },

  async verify(alg: SignAlg, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const ec = signer(alg);
    try {
      ec.Point.fromBytes(publicKey);
    } catch (e) {
      throw invalidPeerKey(e);
    }
    try {
      return ec.verify(signature, message, publicKey, { lowS: false });
    } catch {
      return false;
    }
  },
};
