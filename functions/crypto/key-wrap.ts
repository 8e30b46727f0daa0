/**
 * AES Key Wrap, KW of NIST SP 800-38F §6.2 = RFC 3394 with the default IV A6A6A6A6A6A6A6A6,
 * through WebCrypto "AES-KW". Used for DLMS global key transfer (keys wrapped under a meter's KEK).
 *
 * WebCrypto only wraps CryptoKeys, so the key data travels as an extractable HMAC key: HMAC
 * is the one importable algorithm that takes raw bytes of any non-zero length, which lets KW
 * carry key data of every legal length (AES keys could only carry 16/24/32 bytes).
 *
 * Parameter policy: kek 16/24/32 bytes; key data a multiple of 8 bytes and at least 16
 * (SP 800-38F KW is defined for n >= 2 semiblocks). 8-byte key data (the one-block special
 * case Wycheproof attributes to RFC 3394 §2, flag "ShortKey") is refused: no gridkey key is
 * 8 bytes, SP 800-38F does not define it, and workerd's AES-KW refuses it too.
 */
import { checkAesKey, checkBytes } from "./check";
import { CryptoInputError, CryptoVerifyError } from "./errors";

const SEMIBLOCK = 8;
/** Smallest key data: two semiblocks. */
const MIN_KEY_DATA = 2 * SEMIBLOCK;
const CARRIER: SubtleCryptoImportKeyAlgorithm = { name: "HMAC", hash: "SHA-256" };

export async function wrap(kek: Uint8Array, keyData: Uint8Array): Promise<Uint8Array> {
  checkAesKey("kek", kek);
  return (await wrapUnderEach([kek], keyData))[0]!;
}

/**
 * The same key data wrapped under each KEK, in order (a key graph's refreshed node under each
 * of its children): the key data is imported once, not once per KEK.
 */
export async function wrapUnderEach(keks: Uint8Array[], keyData: Uint8Array): Promise<Uint8Array[]> {
  keks.forEach((kek, i) => checkAesKey(`keks[${i}]`, kek));
  checkKeyDataLength("keyData", keyData, MIN_KEY_DATA);
  if (keks.length === 0) return [];
  const carrier = await crypto.subtle.importKey("raw", keyData, CARRIER, true, ["sign"]);
  const out: Uint8Array[] = [];
  for (const kek of keks) out.push(new Uint8Array(await crypto.subtle.wrapKey("raw", carrier, await importKek(kek, "wrapKey"), "AES-KW")));
  return out;
}

/** Unwraps; CryptoVerifyError if the integrity check value (the recovered IV) is wrong. */
export async function unwrap(kek: Uint8Array, wrapped: Uint8Array): Promise<Uint8Array> {
  checkAesKey("kek", kek);
  checkKeyDataLength("wrapped", wrapped, MIN_KEY_DATA + SEMIBLOCK);
  const unwrappingKey = await importKek(kek, "unwrapKey");
  let carrier: CryptoKey;
  try {
    carrier = await crypto.subtle.unwrapKey("raw", wrapped, unwrappingKey, "AES-KW", CARRIER, true, ["sign"]);
  } catch {
    // Lengths were checked above, so the only failure left is the integrity check.
    throw new CryptoVerifyError("AES key unwrap integrity check failed");
  }
  return new Uint8Array((await crypto.subtle.exportKey("raw", carrier)) as ArrayBuffer);
}

function checkKeyDataLength(name: string, data: Uint8Array, min: number): void {
  checkBytes(name, data);
  if (data.length < min || data.length % SEMIBLOCK !== 0) {
    throw new CryptoInputError("bad_length", `${name} must be a multiple of ${SEMIBLOCK} bytes, at least ${min}`);
  }
}

function importKek(kek: Uint8Array, usage: "wrapKey" | "unwrapKey"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", kek, "AES-KW", false, [usage]);
}
