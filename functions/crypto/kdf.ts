/**
 * HKDF (RFC 5869) with SHA-256 or SHA-384, and HMAC-SHA-256 (RFC 2104).
 *
 * Backing: hkdf() is WebCrypto "HKDF"; hkdfExtract() is WebCrypto HMAC (Extract is defined as
 * HMAC-Hash(salt, IKM)); hkdfExpand() is noble's `expand`, because WebCrypto's HKDF always runs
 * Extract first and cannot start from a given PRK, which EDHOC (RFC 9528 §4.1) needs.
 *
 * The HKDF functions take an optional last argument `hash`, "SHA-256" (default) or "SHA-384"
 * (EDHOC cipher suite 24). HashLen, and with it the PRK minimum and the output maximum,
 * follows the hash.
 */
import { expand } from "@noble/hashes/hkdf.js";
import { sha256 as nobleSha256, sha384 as nobleSha384 } from "@noble/hashes/sha2.js";
import type { CHash } from "@noble/hashes/utils.js";
import { checkBytes, checkInteger } from "./check";
import { CryptoInputError } from "./errors";
import { constantTimeEqual } from "./bytes";

/** Hash functions HKDF runs on. */
export type HkdfHash = "SHA-256" | "SHA-384";

/** HashLen (bytes) and noble's implementation, per hash. */
const HKDF_HASHES: Record<HkdfHash, { length: number; noble: CHash }> = {
  "SHA-256": { length: 32, noble: nobleSha256 },
  "SHA-384": { length: 48, noble: nobleSha384 },
};

/** RFC 5869 §2.3: L <= 255 * HashLen; 8160 bytes for SHA-256, 12240 for SHA-384. */
export const HKDF_MAX_LENGTHS: Readonly<Record<HkdfHash, number>> = {
  "SHA-256": 255 * HKDF_HASHES["SHA-256"].length,
  "SHA-384": 255 * HKDF_HASHES["SHA-384"].length,
};
/** The output limit for the default hash, SHA-256 (8160 bytes). */
export const HKDF_MAX_LENGTH = HKDF_MAX_LENGTHS["SHA-256"];
/** HMAC-SHA-256 output length: the full tag. */
const HASH_LEN = 32;
/** Shortest truncated HMAC tag hmacSha256Verify takes (see there). */
export const HMAC_MIN_TAG_LENGTH = 16;

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

/**
 * HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM); an empty salt means HashLen zero bytes
 * (RFC 5869 §2.2).
 */
export async function hkdfExtract(salt: Uint8Array, ikm: Uint8Array, hash: HkdfHash = "SHA-256"): Promise<Uint8Array> {
  const h = checkHash(hash);
  checkBytes("salt", salt);
  checkBytes("ikm", ikm);
  // WebCrypto refuses zero-length HMAC keys; RFC 5869 defines the empty salt as HashLen zeros.
  const k = await importHmacKey(salt.length === 0 ? new Uint8Array(h.length) : salt, "sign", hash);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, ikm));
}

/** HKDF-Expand(PRK, info, L); PRK must be at least HashLen bytes (RFC 5869 §2.3). */
export async function hkdfExpand(
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
  hash: HkdfHash = "SHA-256",
): Promise<Uint8Array> {
  const h = checkHash(hash);
  checkBytes("prk", prk);
  if (prk.length < h.length) throw new CryptoInputError("bad_key_size", `prk must be at least ${h.length} bytes`);
  checkBytes("info", info);
  checkOutputLength(length, hash);
  return expand(h.noble, prk, info, length);
}

/** HKDF (extract then expand), natively. */
export async function hkdf(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
  hash: HkdfHash = "SHA-256",
): Promise<Uint8Array> {
  checkHash(hash);
  checkBytes("ikm", ikm);
  checkBytes("salt", salt);
  checkBytes("info", info);
  checkOutputLength(length, hash);
  const k = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const params: SubtleCryptoDeriveKeyAlgorithm = { name: "HKDF", hash, salt, info };
  return new Uint8Array(await crypto.subtle.deriveBits(params, k, length * 8));
}

function checkHash(hash: unknown): (typeof HKDF_HASHES)[HkdfHash] {
  if (hash !== "SHA-256" && hash !== "SHA-384") {
    throw new CryptoInputError("bad_parameter", 'hash must be "SHA-256" or "SHA-384"');
  }
  return HKDF_HASHES[hash];
}

function checkOutputLength(length: number, hash: HkdfHash): void {
  checkInteger("length", length, 0, Number.MAX_SAFE_INTEGER);
  const max = HKDF_MAX_LENGTHS[hash];
  if (length < 1 || length > max) {
    throw new CryptoInputError("bad_length", `length must be 1 to ${max} bytes for ${hash}`);
  }
}

/** Non-empty HMAC keys only: WebCrypto refuses empty ones, and an empty MAC key is always a bug. */
function importHmacKey(key: Uint8Array, usage: "sign" | "verify", hash: HkdfHash = "SHA-256"): Promise<CryptoKey> {
  checkBytes("key", key);
  if (key.length === 0) throw new CryptoInputError("bad_key_size", "key must not be empty");
  const algorithm: SubtleCryptoImportKeyAlgorithm = { name: "HMAC", hash };
  return crypto.subtle.importKey("raw", key, algorithm, false, [usage]);
}
