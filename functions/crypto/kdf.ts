/**
 * HKDF with SHA-256 (RFC 5869) and HMAC-SHA-256 (RFC 2104).
 *
 * Backing: hkdf() is WebCrypto "HKDF"; hkdfExtract() is WebCrypto HMAC (Extract is defined as
 * HMAC-Hash(salt, IKM)); hkdfExpand() is noble's `expand`, because WebCrypto's HKDF always runs
 * Extract first and cannot start from a given PRK, which EDHOC (RFC 9528 §4.1) needs.
 */
import { expand } from "@noble/hashes/hkdf.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { checkBytes, checkInteger } from "./check";
import { CryptoInputError } from "./errors";
import { constantTimeEqual } from "./bytes";

const HASH_LEN = 32;
/** RFC 5869 §2.3: L <= 255 * HashLen. */
export const HKDF_MAX_LENGTH = 255 * HASH_LEN;
/** Shortest truncated HMAC tag hmacSha256Verify takes (see there). */
export const HMAC_MIN_TAG_LENGTH = 16;

const HMAC_SHA256: SubtleCryptoImportKeyAlgorithm = { name: "HMAC", hash: "SHA-256" };

export async function hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await importHmacKey(key, "sign");
  checkBytes("data", data);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

/**
 * Checks an HMAC-SHA-256 tag, full (32 bytes) or truncated to its leftmost 16..31 bytes
 * (RFC 2104 §5 allows truncation to no less than half the output). A tag length outside
 * [16, 32] is a CryptoInputError "bad_length": the tag length is fixed by the protocol, so a
 * caller that reads a tag off the wire should check its length first. A wrong tag returns false.
 */
export async function hmacSha256Verify(key: Uint8Array, data: Uint8Array, tag: Uint8Array): Promise<boolean> {
  checkBytes("tag", tag);
  if (tag.length < HMAC_MIN_TAG_LENGTH || tag.length > HASH_LEN) {
    throw new CryptoInputError("bad_length", `tag must be ${HMAC_MIN_TAG_LENGTH} to ${HASH_LEN} bytes`);
  }
  if (tag.length === HASH_LEN) {
    const k = await importHmacKey(key, "verify");
    checkBytes("data", data);
    return crypto.subtle.verify("HMAC", k, tag, data);
  }
  // WebCrypto verify only takes full-length tags: compute and compare the prefix in constant time.
  const full = await hmacSha256(key, data);
  return constantTimeEqual(full.subarray(0, tag.length), tag);
}

/** HKDF-Extract(salt, IKM) = HMAC-SHA-256(salt, IKM); an empty salt means HashLen zero bytes (RFC 5869 §2.2). */
export async function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array> {
  checkBytes("salt", salt);
  checkBytes("ikm", ikm);
  // WebCrypto refuses zero-length HMAC keys; RFC 5869 defines the empty salt as HashLen zeros.
  return hmacSha256(salt.length === 0 ? new Uint8Array(HASH_LEN) : salt, ikm);
}

/** HKDF-Expand(PRK, info, L); PRK must be at least HashLen bytes (RFC 5869 §2.3). */
export async function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  checkBytes("prk", prk);
  if (prk.length < HASH_LEN) throw new CryptoInputError("bad_key_size", `prk must be at least ${HASH_LEN} bytes`);
  checkBytes("info", info);
  checkOutputLength(length);
  return expand(nobleSha256, prk, info, length);
}

/** HKDF (extract then expand) with SHA-256, natively. */
export async function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  checkBytes("ikm", ikm);
  checkBytes("salt", salt);
  checkBytes("info", info);
  checkOutputLength(length);
  const k = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const params: SubtleCryptoDeriveKeyAlgorithm = { name: "HKDF", hash: "SHA-256", salt, info };
  return new Uint8Array(await crypto.subtle.deriveBits(params, k, length * 8));
}

function checkOutputLength(length: number): void {
  checkInteger("length", length, 0, Number.MAX_SAFE_INTEGER);
  if (length < 1 || length > HKDF_MAX_LENGTH) {
    throw new CryptoInputError("bad_length", `length must be 1 to ${HKDF_MAX_LENGTH} bytes`);
  }
}

/** Non-empty HMAC keys only: WebCrypto refuses empty ones, and an empty MAC key is always a bug. */
function importHmacKey(key: Uint8Array, usage: "sign" | "verify"): Promise<CryptoKey> {
  checkBytes("key", key);
  if (key.length === 0) throw new CryptoInputError("bad_key_size", "key must not be empty");
  return crypto.subtle.importKey("raw", key, HMAC_SHA256, false, [usage]);
}
