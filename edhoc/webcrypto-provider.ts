/**
 * EdhocCryptoProvider for the server: every secret-dependent operation goes through
 * gridkey's crypto module (functions/crypto), i.e. WebCrypto in workerd, plus the module's
 * AES-CCM (built from AES block modes, since WebCrypto has no CCM).
 *
 * Supports suites 2, 3, 6 and 24 (P-256, P-384, X25519; SHA-256/384; CCM and GCM; ES256/384),
 * the same as the noble provider; EdDSA (suites 0/1) is not implemented by either.
 * Public keys of injected private keys are computed with noble (WebCrypto has no
 * private-to-public operation); that is only used for reproducible test traces.
 */
import { x25519 as nobleX25519 } from "@noble/curves/ed25519.js";
import {
  CryptoInputError,
  CryptoVerifyError,
  ecdhP256,
  ecdhP384,
  generateP256KeyPair,
  generateP384KeyPair,
  hkdfExpand,
  hkdfExtract,
  open,
  p256PublicKey,
  p384PublicKey,
  randomBytes,
  seal,
  sha256,
  sha384,
  sign,
  verify,
  x25519,
} from "../functions/crypto/index.js";
import { openCcm, sealCcm } from "../functions/crypto/aes-ccm.js";
import { compactToSec1, signatureCurve, type EdhocCryptoProvider, type KeyPair } from "./crypto-provider.js";
import { EdhocError } from "./errors.js";
import type { AeadAlg, CipherSuite, Curve, HashAlg, SignAlg } from "./suites.js";

function unsupported(what: string): EdhocError {
  return new EdhocError("bad_parameter", `${what} is not supported by the WebCrypto provider`);
}

/** The crypto module's functions for each Weierstrass curve. */
const WEIERSTRASS = {
  "P-256": { ecdh: ecdhP256, generate: generateP256KeyPair, publicKey: p256PublicKey },
  "P-384": { ecdh: ecdhP384, generate: generateP384KeyPair, publicKey: p384PublicKey },
} as const;

/** The x-coordinate of an uncompressed SEC1 point 0x04 || x || y. */
function compact(sec1: Uint8Array): Uint8Array {
  return sec1.slice(1, 1 + (sec1.length - 1) / 2);
}

/** ECDSA curve of a COSE signature algorithm; EdDSA is not implemented. */
function ecdsaCurve(alg: SignAlg): "P-256" | "P-384" {
  const curve = signatureCurve(alg);
  if (curve === "Ed25519") throw unsupported(alg);
  return curve;
}

/** Maps the crypto module's errors to EDHOC's: a bad peer key is the peer's fault. */
async function peerKeyGuard<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    if (e instanceof CryptoInputError && e.code === "bad_public_key") {
      throw new EdhocError("invalid_public_key", "peer public key is not valid for the curve", { cause: e });
    }
    throw e;
  }
}

async function generateX25519(): Promise<KeyPair> {
  const pair = (await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"])) as CryptoKeyPair;
  const priv = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
  const pub = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  // RFC 8410 PKCS#8 for X25519 ends with the 32-byte private key.
  return { privateKey: priv.slice(priv.length - 32), publicKey: pub };
}

export const webCryptoProvider: EdhocCryptoProvider = {
  name: "webcrypto",

  supportsSuite(suite: CipherSuite): boolean {
    return suite.sign !== "EdDSA";
  },

  randomBytes,

  async generateKeyPair(curve: Curve): Promise<KeyPair> {
    if (curve === "X25519") return generateX25519();
    const pair = await WEIERSTRASS[curve].generate();
    return { privateKey: pair.privateKey, publicKey: compact(pair.publicKey) };
  },

  async publicKey(curve: Curve, privateKey: Uint8Array): Promise<Uint8Array> {
    if (curve === "X25519") return nobleX25519.getPublicKey(privateKey);
    return compact(WEIERSTRASS[curve].publicKey(privateKey));
  },

  async ecdh(curve: Curve, privateKey: Uint8Array, peer: Uint8Array): Promise<Uint8Array> {
    if (curve === "X25519") return peerKeyGuard(() => x25519(privateKey, peer));
    return peerKeyGuard(() => WEIERSTRASS[curve].ecdh(privateKey, compactToSec1(peer)));
  },

  async hash(alg: HashAlg, data: Uint8Array): Promise<Uint8Array> {
    return alg === "SHA-256" ? sha256(data) : sha384(data);
  },

  async hkdfExtract(alg: HashAlg, salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array> {
    return hkdfExtract(salt, ikm, alg);
  },

  async hkdfExpand(alg: HashAlg, prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
    return hkdfExpand(prk, info, length, alg);
  },

  async aeadEncrypt(alg: AeadAlg, key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    if (alg.mode === "ccm") return sealCcm(key, iv, plaintext, aad, alg.tagLength);
    return seal(key, iv, plaintext, aad, alg.tagLength);
  },

  async aeadDecrypt(alg: AeadAlg, key: Uint8Array, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
    try {
      if (alg.mode === "ccm") return openCcm(key, iv, ciphertext, aad, alg.tagLength);
      return await open(key, iv, ciphertext, aad, alg.tagLength);
    } catch (e) {
      // Too short to hold a tag is as much a failed decryption as a wrong tag.
      if (e instanceof CryptoVerifyError || (e instanceof CryptoInputError && e.code === "bad_length")) {
        throw new EdhocError("decryption_failed", "ciphertext does not authenticate", { cause: e });
      }
      throw e;
    }
  },

  async sign(alg: SignAlg, privateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
    return sign(ecdsaCurve(alg), privateKey, message);
  },

  async verify(alg: SignAlg, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const curve = ecdsaCurve(alg);
    return peerKeyGuard(() => verify(curve, publicKey, message, signature));
  },
};
