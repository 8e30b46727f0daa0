/** gridkey's crypto module: the only place the rest of the code gets cryptography from. */
export {
  randomBytes,
  toHex,
  fromHex,
  toBase64url,
  fromBase64url,
  concat,
  utf8,
  constantTimeEqual,
} from "./bytes";
export { CryptoInputError, CryptoVerifyError, type CryptoInputCode } from "./errors";
export { sha256, sha384 } from "./hash";
export { seal, open, importAesKey, GCM_IV_LENGTH, GCM_TAG_LENGTHS } from "./aead";
export { wrap, wrapUnderEach, unwrap } from "./key-wrap";
export {
  hkdfExtract,
  hkdfExpand,
  hkdf,
  hmacSha256,
  hmacSha256Verify,
  HKDF_MAX_LENGTH,
  HKDF_MAX_LENGTHS,
  HMAC_MIN_TAG_LENGTH,
  type HkdfHash,
} from "./kdf";
export {
  ecdhP256,
  ecdhP384,
  generateP256KeyPair,
  generateP384KeyPair,
  p256PublicKey,
  p384PublicKey,
  x25519,
} from "./ecdh";
export { sign, verify, generateSigningKeyPair, type SigningCurve } from "./ecdsa";
export { verifyEd25519 } from "./eddsa";
export { parsePublicKey, type EcCurve, type ParsedPublicKey } from "./public-key";
export type { RawKeyPair } from "./private-key";
export { sealGloCiphering, openGloCiphering, type DlmsKeys } from "./dlms-ciphering";
export { sealCcm, openCcm, CCM_NONCE_LENGTHS, CCM_TAG_LENGTHS } from "./aes-ccm";
