/**
 * AES-GCM (NIST SP 800-38D) through WebCrypto.
 *
 * Parameter policy (anything else is CryptoInputError, before WebCrypto is called):
 * - key: 16, 24 or 32 bytes, or a CryptoKey from importAesKey().
 * - iv: exactly 12 bytes. SP 800-38D §5.2.1.1 recommends 96-bit IVs; any other length is
 *   hashed through GHASH into the counter block, which weakens the uniqueness argument
 *   (and a zero-length IV is not GCM at all). gridkey and DLMS both use 12-byte IVs.
 * - tagLength: 16 bytes (gridkey's own envelopes) or 12 bytes (DLMS/COSEM security suites).
 *   Shorter tags (SP 800-38D Appendix C) are not needed and are refused.
 */
import { checkAesKey, checkBytes } from "./check";
import { CryptoInputError, CryptoVerifyError } from "./errors";

export const GCM_IV_LENGTH = 12;
export const GCM_TAG_LENGTHS = [12, 16] as const;

const EMPTY = new Uint8Array(0);

/** Imports a raw AES key as a non-extractable AES-GCM CryptoKey, for callers that cache keys. */
export async function importAesKey(raw: Uint8Array): Promise<CryptoKey> {
  checkAesKey("key", raw);
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** Encrypts and authenticates; returns ciphertext || tag. */
export async function seal(
  key: Uint8Array | CryptoKey,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = EMPTY,
  tagLength = 16,
): Promise<Uint8Array> {
  checkParams(iv, aad, tagLength);
  checkBytes("plaintext", plaintext);
  const k = await toCryptoKey(key, "encrypt");
  const params: SubtleCryptoEncryptAlgorithm = { name: "AES-GCM", iv, additionalData: aad, tagLength: tagLength * 8 };
  return new Uint8Array(await crypto.subtle.encrypt(params, k, plaintext));
}

/** Verifies and decrypts ciphertext || tag; CryptoVerifyError if the tag does not match. */
export async function open(
  key: Uint8Array | CryptoKey,
  iv: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array = EMPTY,
  tagLength = 16,
): Promise<Uint8Array> {
  checkParams(iv, aad, tagLength);
  checkBytes("sealed", sealed);
  // Shorter than a tag is malformed input, not a forgery: refuse like any other length error.
  if (sealed.length < tagLength) {
    throw new CryptoInputError("bad_length", `sealed must be at least ${tagLength} bytes (the tag)`);
  }
  const k = await toCryptoKey(key, "decrypt");
  const params: SubtleCryptoEncryptAlgorithm = { name: "AES-GCM", iv, additionalData: aad, tagLength: tagLength * 8 };
  try {
    return new Uint8Array(await crypto.subtle.decrypt(params, k, sealed));
  } catch {
    // Every parameter was checked above, so the only failure left is the tag check.
    throw new CryptoVerifyError("AES-GCM authentication failed");
  }
}

function checkParams(iv: Uint8Array, aad: Uint8Array, tagLength: number): void {
  checkBytes("iv", iv, [GCM_IV_LENGTH]);
  checkBytes("aad", aad);
  if (!(GCM_TAG_LENGTHS as readonly number[]).includes(tagLength)) {
    throw new CryptoInputError("bad_parameter", `tagLength must be ${GCM_TAG_LENGTHS.join(" or ")} bytes`);
  }
}

async function toCryptoKey(key: Uint8Array | CryptoKey, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  if (key instanceof Uint8Array) return importAesKey(key);
  if (!(key instanceof CryptoKey)) {
    throw new CryptoInputError("bad_parameter", "key must be a Uint8Array or a CryptoKey");
  }
  const alg = key.algorithm as CryptoKeyAesKeyAlgorithm;
  if (alg.name !== "AES-GCM" || !key.usages.includes(usage)) {
    throw new CryptoInputError("bad_parameter", `key must be an AES-GCM CryptoKey allowed to ${usage}`);
  }
  return key;
}
