/**
 * AES-CCM (RFC 3610, NIST SP 800-38C): CBC-MAC for authentication, CTR for encryption.
 * WebCrypto has no CCM, so it is assembled from noble's audited AES-CBC and AES-CTR modes;
 * the block cipher itself is never written here.
 *
 * Why noble and not WebCrypto AES-CBC/AES-CTR: CCM needs two passes whose inputs are tiny
 * for EDHOC and DLMS (tens of bytes); noble runs them synchronously without a key import
 * and two promise round trips per call, while WebCrypto's CBC would also append a PKCS#7
 * padding block we would have to compute and drop. Synchronous code also lets the meter
 * SDK use the same function. (The test file measures both; see docs/edhoc.md.)
 *
 * Parameters (RFC 3610 §2): tag length M in {4, 6, ..., 16}, nonce length 15 - L with
 * L in 2..8 (so nonces of 7..13 bytes), keys of 16, 24 or 32 bytes.
 */
import { cbc, ctr } from "@noble/ciphers/aes.js";
import { constantTimeEqual } from "./bytes";
import { checkAesKey, checkBytes } from "./check";
import { CryptoInputError, CryptoVerifyError } from "./errors";

const BLOCK = 16;
const ZERO_IV = new Uint8Array(BLOCK);
/** RFC 3610 §2: 15 - L for L = 2..8. */
export const CCM_NONCE_LENGTHS = [7, 8, 9, 10, 11, 12, 13] as const;
/** RFC 3610 §2: M = 4, 6, ..., 16 (the flags byte encodes (M-2)/2 in three bits). */
export const CCM_TAG_LENGTHS = [4, 6, 8, 10, 12, 14, 16] as const;

/** Refuses anything RFC 3610 leaves undefined (the B_0 flags byte could not encode it). */
function checkParameters(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, tagLength: number): void {
  checkAesKey("key", key);
  checkBytes("nonce", nonce, CCM_NONCE_LENGTHS);
  checkBytes("aad", aad);
  if (!(CCM_TAG_LENGTHS as readonly unknown[]).includes(tagLength)) {
    throw new CryptoInputError("bad_parameter", `tagLength must be one of ${CCM_TAG_LENGTHS.join(", ")} bytes`);
  }
}

/** L = 15 - nonce length bytes encode the message length, so messages are < 2^(8L) bytes. */
function fitsLengthField(nonce: Uint8Array, messageLength: number): boolean {
  const l = 15 - nonce.length;
  return l >= 7 || messageLength < 2 ** (8 * l);
}

/** B_0 = flags || nonce || l(m), flags = 64·Adata + 8·(M-2)/2 + (L-1)  (RFC 3610 §2.2). */
function firstBlock(nonce: Uint8Array, tagLength: number, messageLength: number, hasAad: boolean): Uint8Array {
  const b0 = new Uint8Array(BLOCK);
  const l = 15 - nonce.length;
  b0[0] = (hasAad ? 0x40 : 0) | (((tagLength - 2) / 2) << 3) | (l - 1);
  b0.set(nonce, 1);
  let len = messageLength;
  for (let i = BLOCK - 1; i > nonce.length; i--) {
    b0[i] = len % 256;
    len = Math.floor(len / 256);
  }
  return b0;
}

/** Length prefix of the associated data (RFC 3610 §2.2): 2, 6 or 10 bytes. */
function aadLengthPrefix(n: number): Uint8Array {
  if (n < 0xff00) return Uint8Array.of(n >>> 8, n & 0xff);
  if (n <= 0xffffffff) return Uint8Array.of(0xff, 0xfe, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const prefix = new Uint8Array(10);
  prefix[0] = 0xff;
  prefix[1] = 0xff;
  let v = n;
  for (let i = 9; i >= 2; i--) {
    prefix[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return prefix;
}

function paddedLength(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/**
 * CBC-MAC over B_0 || encoded aad || message, each part zero-padded to whole blocks. The
 * MAC is the last block of an AES-CBC encryption with a zero IV and no padding.
 */
function cbcMac(key: Uint8Array, nonce: Uint8Array, tagLength: number, aad: Uint8Array, message: Uint8Array): Uint8Array {
  const prefix = aad.length > 0 ? aadLengthPrefix(aad.length) : new Uint8Array(0);
  const aadBlocks = aad.length > 0 ? paddedLength(prefix.length + aad.length) : 0;
  const input = new Uint8Array(BLOCK + aadBlocks + paddedLength(message.length));
  input.set(firstBlock(nonce, tagLength, message.length, aad.length > 0), 0);
  input.set(prefix, BLOCK);
  input.set(aad, BLOCK + prefix.length);
  input.set(message, BLOCK + aadBlocks);
  const chain = cbc(key, ZERO_IV, { disablePadding: true }).encrypt(input);
  return chain.subarray(chain.length - BLOCK);
}

/**
 * One CTR pass from A_0 (flags = L-1, nonce, counter 0) over block0 || data: the first
 * block is XORed with S_0 (which masks the tag) and the data with S_1, S_2, ...
 */
function ctrPass(key: Uint8Array, nonce: Uint8Array, block0: Uint8Array, data: Uint8Array): Uint8Array {
  const a0 = new Uint8Array(BLOCK);
  a0[0] = 15 - nonce.length - 1;
  a0.set(nonce, 1);
  const input = new Uint8Array(BLOCK + data.length);
  input.set(block0, 0);
  input.set(data, BLOCK);
  return ctr(key, a0).encrypt(input);
}

/** Compares the first n bytes in constant time (functions/crypto/bytes.ts), so timing does not reveal where they differ. */
function equalPrefix(a: Uint8Array, b: Uint8Array, n: number): boolean {
  return constantTimeEqual(a.subarray(0, n), b.subarray(0, n));
}

/** Encrypts and authenticates; returns ciphertext || tag. */
export function sealCcm(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, tagLength: number): Uint8Array {
  checkParameters(key, nonce, aad, tagLength);
  checkBytes("plaintext", plaintext);
  if (!fitsLengthField(nonce, plaintext.length)) {
    throw new CryptoInputError("bad_length", `plaintext too long for a ${nonce.length}-byte nonce`);
  }
  const mac = cbcMac(key, nonce, tagLength, aad, plaintext);
  const out = ctrPass(key, nonce, mac, plaintext);
  // out = (T xor S_0) || (P xor S_1..): move the truncated tag behind the ciphertext.
  const sealed = new Uint8Array(plaintext.length + tagLength);
  sealed.set(out.subarray(BLOCK), 0);
  sealed.set(out.subarray(0, tagLength), plaintext.length);
  return sealed;
}

/**
 * Verifies and decrypts ciphertext || tag. Throws CryptoVerifyError when the tag does not
 * match (no plaintext is released), CryptoInputError on bad parameters or an input shorter
 * than the tag.
 */
export function openCcm(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array, tagLength: number): Uint8Array {
  checkParameters(key, nonce, aad, tagLength);
  checkBytes("sealed", sealed);
  const length = sealed.length - tagLength;
  // Like aead.ts: input that cannot even hold a tag (or overflows the length field) is
  // malformed, not a forgery.
  if (length < 0) throw new CryptoInputError("bad_length", `sealed must be at least ${tagLength} bytes (the tag)`);
  if (!fitsLengthField(nonce, length)) {
    throw new CryptoInputError("bad_length", `ciphertext too long for a ${nonce.length}-byte nonce`);
  }
  const maskedTag = new Uint8Array(BLOCK);
  maskedTag.set(sealed.subarray(length));
  const out = ctrPass(key, nonce, maskedTag, sealed.subarray(0, length));
  const plaintext = out.slice(BLOCK);
  const expected = cbcMac(key, nonce, tagLength, aad, plaintext);
  if (!equalPrefix(out, expected, tagLength)) {
    plaintext.fill(0);
    throw new CryptoVerifyError("AES-CCM authentication failed");
  }
  return plaintext;
}
