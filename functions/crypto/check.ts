/**
 * Up-front input checks (internal, in the style of noble's abytes): every public function
 * validates types and lengths before touching WebCrypto, so a bad call fails with a typed,
 * stable error instead of a runtime-specific DOMException.
 */
import { CryptoInputError, type CryptoInputCode } from "./errors";

/** Asserts `value` is a Uint8Array, and, if lengths are given, that its length is one of them. */
export function checkBytes(
  name: string,
  value: unknown,
  lengths?: readonly number[],
  code: CryptoInputCode = "bad_length",
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CryptoInputError("bad_parameter", `${name} must be a Uint8Array`);
  }
  if (lengths && !lengths.includes(value.length)) {
    throw new CryptoInputError(code, `${name} must be ${lengths.join(" or ")} bytes, got ${value.length}`);
  }
}

/** AES keys: 128, 192 or 256 bits (FIPS 197). */
export const AES_KEY_SIZES = [16, 24, 32] as const;

export function checkAesKey(name: string, key: unknown): asserts key is Uint8Array {
  checkBytes(name, key, AES_KEY_SIZES, "bad_key_size");
}

export function checkInteger(name: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new CryptoInputError("bad_parameter", `${name} must be an integer in [${min}, ${max}]`);
  }
}
