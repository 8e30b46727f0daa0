/**
 * The session layer's AEAD (wire/session-record.ts: AES-GCM, 12-byte nonce, 16-byte tag)
 * with noble, so the meter needs no WebCrypto. noble's GCM checks the tag in constant time
 * before it decrypts, so no unauthenticated plaintext is ever produced.
 */
import { gcm } from "@noble/ciphers/aes.js";
import type { SessionAead } from "../wire/session-record.js";
import { SdkError } from "./errors.js";

const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const KEY_LENGTHS: readonly number[] = [16, 32];

/** Our own misuse (a key or nonce of the wrong size) must not look like a forgery. */
function checkParams(key: Uint8Array, nonce: Uint8Array): void {
  if (!KEY_LENGTHS.includes(key.length)) throw new SdkError("bad_parameter", "session key must be 16 or 32 bytes");
  if (nonce.length !== NONCE_LENGTH) throw new SdkError("bad_parameter", "session nonce must be 12 bytes");
}

export const nobleSessionAead: SessionAead = {
  async seal(key, nonce, plaintext, aad) {
    checkParams(key, nonce);
    return gcm(key, nonce, aad).encrypt(plaintext);
  },

  async open(key, nonce, sealed, aad) {
    checkParams(key, nonce);
    if (sealed.length < TAG_LENGTH) throw new SdkError("decryption_failed", "session record shorter than its tag");
    try {
      return gcm(key, nonce, aad).decrypt(sealed);
    } catch (cause) {
      throw new SdkError("decryption_failed", "session record does not authenticate", { cause });
    }
  },
};
