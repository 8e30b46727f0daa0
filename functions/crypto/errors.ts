/**
 * The two error types of the crypto module.
 *
 * CryptoInputError: the caller passed something the API does not take (wrong key size,
 * malformed public key, bad hex, an IV or tag length outside the parameter policy). It is a
 * bug or bad request input, so HTTP code maps it to 4xx with `code`.
 * CryptoVerifyError: well-formed input that fails authentication (AEAD tag mismatch,
 * key-unwrap integrity check). Kept apart so callers can tell "forged/corrupted" from "malformed".
 *
 * Messages name the parameter and the expected form, never its value: a value may be key material.
 */

export type CryptoInputCode =
  | "bad_key_size" // a symmetric key or private scalar has the wrong byte length
  | "bad_private_key" // a private scalar has the right length but is 0 or >= the group order
  | "bad_public_key" // not a valid encoded point on the expected curve (or unsupported form)
  | "bad_hex"
  | "bad_base64"
  | "bad_length" // a byte-string input (IV, tag, key data, wrapped key, output length) has a refused length
  | "bad_parameter"; // a non-byte parameter (curve name, tag length, type) is outside the API

export class CryptoInputError extends Error {
  override name = "CryptoInputError";
  readonly code: CryptoInputCode;
  constructor(code: CryptoInputCode, message: string) {
    super(message);
    this.code = code;
  }
}

export class CryptoVerifyError extends Error {
  override name = "CryptoVerifyError";
  constructor(message = "authentication failed") {
    super(message);
  }
}
