/**
 * DLMS/COSEM general-glo-ciphering for the meter, with noble instead of WebCrypto: the same
 * three protection modes as functions/crypto/dlms-ciphering.ts (the service's side), on the
 * framing of wire/glo-ciphering.ts. AES-GCM with IV = system title || invocation counter
 * and a 12-byte tag (the first 12 bytes of GCM's 16):
 * - authenticated and encrypted: body = ciphertext || tag, AAD = SC || AK
 * - authenticated only:          body = plaintext || tag (GMAC), AAD = SC || AK || plaintext
 * - encrypted only:              body = GCM's counter-mode ciphertext, no tag
 *
 * noble's GCM only verifies full 16-byte tags, so opening recomputes the tag and compares the
 * first 12 bytes in constant time (functions/crypto/bytes.ts, the one comparison helper);
 * plaintext is returned only after that comparison passes.
 */
import { ctr, gcm } from "@noble/ciphers/aes.js";
import { constantTimeEqual } from "../functions/crypto/bytes.js";
import { WireError, concatBytes } from "../wire/axdr.js";
import {
  DLMS_TAG_LENGTH,
  checkHeader,
  decodeGloCiphering,
  encodeGloCiphering,
  gloIv,
  isAuthenticated,
  isEncrypted,
  type GloCiphering,
  type GloCipheringHeader,
} from "../wire/glo-ciphering.js";
import { SdkError } from "./errors.js";

export type DlmsKeys = {
  /** Encryption key: the GUEK (unicast) or GBEK (broadcast). */
  ek: Uint8Array;
  /** Authentication key. */
  ak: Uint8Array;
};

/** Security control byte for authenticated + encrypted messages of a DLMS suite. */
export const scAuthenticatedEncrypted = (suite: 0 | 1 | 2): number => 0x30 | suite;

/** AES-128 for DLMS suites 0 and 1, AES-256 for suite 2 (the SC byte's low nibble). */
function keyLengthForSuite(securityControl: number): number {
  return (securityControl & 0x0f) === 2 ? 32 : 16;
}

function checkKeys(keys: DlmsKeys, securityControl: number): void {
  const n = keyLengthForSuite(securityControl);
  if (!(keys.ek instanceof Uint8Array) || keys.ek.length !== n || !(keys.ak instanceof Uint8Array) || keys.ak.length !== n) {
    throw new SdkError("bad_parameter", `DLMS suite ${securityControl & 0x0f} needs ${n}-byte EK and AK`);
  }
}

/** Framing errors from wire/ become the SDK's typed error. */
function framing<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof WireError) throw new SdkError("bad_apdu", e.message, { cause: e });
    throw e;
  }
}

/** GCM without its tag is AES-CTR from counter block IV || 00000002 (SP 800-38D §7.1). */
function counterMode(ek: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  return ctr(ek, concatBytes(iv, Uint8Array.of(0, 0, 0, 2))).encrypt(data);
}

/** The 12-byte DLMS tag: GCM's tag over `ciphertext` with `aad`, truncated. */
function truncatedTag(ek: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const sealed = gcm(ek, iv, aad).encrypt(plaintext);
  return sealed.slice(plaintext.length, plaintext.length + DLMS_TAG_LENGTH);
}

function protect(header: GloCipheringHeader, keys: DlmsKeys, plaintext: Uint8Array): Uint8Array {
  const iv = gloIv(header);
  const sc = header.securityControl;
  const scAk = concatBytes(Uint8Array.of(sc), keys.ak);
  if (isAuthenticated(sc) && isEncrypted(sc)) return gcm(keys.ek, iv, scAk).encrypt(plaintext).subarray(0, plaintext.length + DLMS_TAG_LENGTH);
  if (isAuthenticated(sc)) return concatBytes(plaintext, truncatedTag(keys.ek, iv, concatBytes(scAk, plaintext), new Uint8Array(0)));
  return counterMode(keys.ek, iv, plaintext);
}

/** Protects `plaintext` (an xDLMS APDU) as a general-glo-ciphering APDU. */
export function sealGloCiphering(header: GloCipheringHeader, keys: DlmsKeys, plaintext: Uint8Array): Uint8Array {
  framing(() => checkHeader(header));
  checkKeys(keys, header.securityControl);
  return framing(() => encodeGloCiphering({ ...header, body: protect(header, keys, plaintext) }));
}

/** Parses the framing, then checks and removes the protection. */
export function openGloCipheringApdu(apdu: Uint8Array, keys: DlmsKeys): { header: GloCipheringHeader; plaintext: Uint8Array } {
  const frame = framing(() => decodeGloCiphering(apdu));
  const header = { systemTitle: frame.systemTitle, securityControl: frame.securityControl, invocationCounter: frame.invocationCounter };
  return { header, plaintext: openGloCiphering(frame, keys) };
}

/** Checks and removes the protection of a parsed frame; `decryption_failed` on a wrong tag. */
export function openGloCiphering(frame: GloCiphering, keys: DlmsKeys): Uint8Array {
  framing(() => checkHeader(frame));
  checkKeys(keys, frame.securityControl);
  const iv = gloIv(frame);
  const sc = frame.securityControl;
  if (!isAuthenticated(sc)) return counterMode(keys.ek, iv, frame.body);
  if (frame.body.length < DLMS_TAG_LENGTH) throw new SdkError("bad_apdu", "body is shorter than the tag");
  const data = frame.body.subarray(0, frame.body.length - DLMS_TAG_LENGTH);
  const tag = frame.body.subarray(data.length);
  const scAk = concatBytes(Uint8Array.of(sc), keys.ak);
  if (!isEncrypted(sc)) {
    verifyTag(tag, truncatedTag(keys.ek, iv, concatBytes(scAk, data), new Uint8Array(0)));
    return data.slice();
  }
  // Decrypt with CTR, then re-seal: GCM's tag depends only on the ciphertext, so sealing the
  // candidate plaintext recomputes exactly the tag the sender made.
  const plaintext = counterMode(keys.ek, iv, data);
  try {
    verifyTag(tag, truncatedTag(keys.ek, iv, scAk, plaintext));
  } catch (e) {
    plaintext.fill(0);
    throw e;
  }
  return plaintext;
}

function verifyTag(received: Uint8Array, expected: Uint8Array): void {
  if (!constantTimeEqual(received, expected)) throw new SdkError("decryption_failed", "DLMS authentication tag does not match");
}
