/**
 * Protection of DLMS/COSEM general-glo-ciphering APDUs (framing in wire/glo-ciphering.ts),
 * AES-GCM with a 12-byte tag and IV = system title || invocation counter:
 * - authenticated and encrypted: body = GCM ciphertext || tag, AAD = SC || AK
 * - authenticated only:          body = plaintext || tag (GMAC), AAD = SC || AK || plaintext
 * - encrypted only:              body = GCM's counter-mode ciphertext, no tag
 */
import {
  DLMS_TAG_LENGTH,
  encodeGloCiphering,
  type GloCiphering,
  type GloCipheringHeader,
  gloIv,
  isAuthenticated,
  isEncrypted,
  checkHeader,
} from "../../wire/glo-ciphering";
import { open, seal } from "./aead";
import { concat } from "./bytes";
import { checkAesKey, checkBytes } from "./check";
import { CryptoInputError } from "./errors";

export type DlmsKeys = { ek: Uint8Array; ak: Uint8Array };

/** Protects `plaintext` as a general-glo-ciphering APDU. */
export async function sealGloCiphering(header: GloCipheringHeader, keys: DlmsKeys, plaintext: Uint8Array): Promise<Uint8Array> {
  checkHeader(header);
  checkKeys(keys);
  checkBytes("plaintext", plaintext);
  const iv = gloIv(header);
  const sc = header.securityControl;
  let body: Uint8Array;
  if (isAuthenticated(sc) && isEncrypted(sc)) body = await seal(keys.ek, iv, plaintext, concat(Uint8Array.of(sc), keys.ak), DLMS_TAG_LENGTH);
  else if (isAuthenticated(sc)) body = concat(plaintext, await gmac(keys, iv, sc, plaintext));
  else body = await counterMode(keys.ek, iv, plaintext);
  return encodeGloCiphering({ ...header, body });
}

/** Checks and removes the protection; CryptoVerifyError if the tag does not match. */
export async function openGloCiphering(frame: GloCiphering, keys: DlmsKeys): Promise<Uint8Array> {
  checkHeader(frame);
  checkKeys(keys);
  const iv = gloIv(frame);
  const sc = frame.securityControl;
  if (isAuthenticated(sc) && isEncrypted(sc)) return open(keys.ek, iv, frame.body, concat(Uint8Array.of(sc), keys.ak), DLMS_TAG_LENGTH);
  if (isAuthenticated(sc)) {
    if (frame.body.length < DLMS_TAG_LENGTH) throw new CryptoInputError("bad_length", "body is shorter than the tag");
    const plaintext = frame.body.subarray(0, frame.body.length - DLMS_TAG_LENGTH);
    const aad = concat(Uint8Array.of(sc), keys.ak, plaintext);
    await open(keys.ek, iv, frame.body.subarray(plaintext.length), aad, DLMS_TAG_LENGTH);
    return plaintext;
  }
  return counterMode(keys.ek, iv, frame.body);
}

function checkKeys(keys: DlmsKeys): void {
  checkAesKey("ek", keys.ek);
  checkAesKey("ak", keys.ak);
}

async function gmac(keys: DlmsKeys, iv: Uint8Array, sc: number, plaintext: Uint8Array): Promise<Uint8Array> {
  return seal(keys.ek, iv, new Uint8Array(0), concat(Uint8Array.of(sc), keys.ak, plaintext), DLMS_TAG_LENGTH);
}

/** GCM without its tag is AES-CTR starting at counter block IV || 00000002 (SP 800-38D §7.1). */
async function counterMode(ek: Uint8Array, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ek, "AES-CTR", false, ["encrypt"]);
  const counter = concat(iv, Uint8Array.of(0, 0, 0, 2));
  return new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CTR", counter, length: 32 }, key, data));
}
