/**
 * EdhocCryptoProvider for the server: every secret-dependent operation goes through
 * gridkey's crypto module (functions/crypto), i.e. WebCrypto in workerd, plus the module's
 * AES-CCM (built from AES block modes, since WebCrypto has no CCM).
 *
 * Not supported here: suite 24 (P-384 / SHA-384), because functions/crypto offers neither
 * P-384 ECDH nor HKDF with SHA-384 yet; supportsSuite() says so and the protocol refuses it.
 * Public keys of injected private keys are computed with noble (WebCrypto has no
 * private-to-public operation); that is only used for reproducible test traces.
 */
import { x25519 as nobleX25519 } from "@noble/curves/ed25519.js";
import {
  CryptoInputError,
  CryptoVerifyError,
  ecdhP256,
  generateP256KeyPair,
  hkdfExpand,
  hkdfExtract,
  open,
  p256PublicKey,
  randomBytes,
  seal,
  sha256,
  sha384,
  sign,
  verify,
  x25519,
} from "../functions/crypto/index.js";
import { openCcm, sealCcm } from "../functions/crypto/aes-ccm.js";
import { compactToSec1, type EdhocCryptoProvider, type KeyPair } from "./crypto-provider.js";
import { EdhocError } from "./errors.js";
import type { AeadAlg, CipherSuite, Curve, HashAlg, SignAlg } from "./suites.js";

function unsupported(what: string): EdhocError {
  return new EdhocError("bad_parameter", `${what} is not supported by the WebCrypto provider`);
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
    return suite.curve !== "P-384" && suite.hash === "SHA-256" && suite.sign === "ES256";
  },

  randomBytes,

  async generateKeyPair(curve: Curve): Promise<KeyPair> {
    if (curve === "X25519") return generateX25519();
    if (curve !== "P-256") throw unsupported(curve);
    const pair = await generateP256KeyPair();
    return { privateKey: pair.privateKey, publicKey: pair.publicKey.slice(1, 33) };
  },

  async publicKey(curve: Curve, privateKey: Uint8Array): Promise<Uint8Array> {
    if (curve === "X25519") return nobleX25519.getPublicKey(privateKey);
    if (curve !== "P-256") throw unsupported(curve);
    return p256PublicKey(privateKey).slice(1, 33);
  },

  async ecdh(curve: Curve, privateKey: Uint8Array, peer: Uint8Array): Promise<Uint8Array> {
    if (curve === "X25519") return peerKeyGuard(() => x25519(privateKey, peer));
    if (curve !== "P-256") throw unsupported(curve);
    return peerKeyGuard(() => ecdhP256(privateKey, compactToSec1(peer)));
  },

  async hash(alg: HashAlg, data: Uint8Array): Promise<Uint8Array> {
    return alg === "SHA-256" ? sha256(data) : sha384(data);
  },

  async hkdfExtract(alg: HashAlg, salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array> {
    if (alg !== "SHA-256") throw unsupported(`HKDF-${alg}`);
    return hkdfExtract(salt, ikm);
  },

  async hkdfExpand(alg: HashAlg, prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
    if (alg !== "SHA-256") throw unsupported(`HKDF-${alg}`);
    return hkdfExpand(prk, info, length);
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
    if (alg !== "ES256") throw unsupported(alg);
    return sign("P-256", privateKey, message);
  },

  async verify(alg: SignAlg, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (alg !== "ES256") throw unsupported(alg);
    return peerKeyGuard(() => verify("P-256", publicKey, message, signature));
  },
};
