/**
 * DLMS/COSEM general-glo-ciphering (IEC 62056-5-3, the Green Book's "general-glo-ciphering"
 * APDU, tag 0xDB) with AES-GCM and a 12-byte tag:
 *
 *   DB 08 <system title (8)> <A-XDR length> SC <invocation counter (4)> <body>
 *
 * IV = system title || invocation counter. The security control byte SC says what protects
 * the body: bits 0-3 security suite, bit 4 authentication, bit 5 encryption, bit 6 key set
 * (0 unicast, 1 broadcast), bit 7 compression (not supported):
 * - authenticated and encrypted: body = GCM ciphertext || tag, AAD = SC || AK
 * - authenticated only:          body = plaintext || tag (GMAC), AAD = SC || AK || plaintext
 * - encrypted only:              body = GCM's counter-mode ciphertext, no tag
 */
import { open, seal } from "./aead";
import { concat } from "./bytes";
import { checkAesKey, checkBytes, checkInteger } from "./check";
import { CryptoInputError } from "./errors";

export const GLO_CIPHERING_TAG = 0xdb;
export const DLMS_TAG_LENGTH = 12;
export const SC_AUTHENTICATED = 0x10;
export const SC_ENCRYPTED = 0x20;
const SC_COMPRESSED = 0x80;

export type GloCiphering = {
  systemTitle: Uint8Array;
  securityControl: number;
  invocationCounter: number;
  /** What follows the security header: ciphertext and/or plaintext, and the tag. */
  body: Uint8Array;
};

export type DlmsKeys = { ek: Uint8Array; ak: Uint8Array };

/** Protects `plaintext` as a general-glo-ciphering APDU. */
export async function sealGloCiphering(frame: Omit<GloCiphering, "body">, keys: DlmsKeys, plaintext: Uint8Array): Promise<Uint8Array> {
  checkHeader(frame);
  checkKeys(keys);
  checkBytes("plaintext", plaintext);
  const iv = ivOf(frame);
  const sc = frame.securityControl;
  let body: Uint8Array;
  if (isAuthenticated(sc) && isEncrypted(sc)) body = await seal(keys.ek, iv, plaintext, concat(Uint8Array.of(sc), keys.ak), DLMS_TAG_LENGTH);
  else if (isAuthenticated(sc)) body = concat(plaintext, await gmac(keys, iv, sc, plaintext));
  else body = await counterMode(keys.ek, iv, plaintext);
  return encodeGloCiphering({ ...frame, body });
}

/** Checks and removes the protection; CryptoVerifyError if the tag does not match. */
export async function openGloCiphering(frame: GloCiphering, keys: DlmsKeys): Promise<Uint8Array> {
  checkHeader(frame);
  checkKeys(keys);
  const iv = ivOf(frame);
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

export function encodeGloCiphering(frame: GloCiphering): Uint8Array {
  const content = concat(Uint8Array.of(frame.securityControl), uint32(frame.invocationCounter), frame.body);
  return concat(Uint8Array.of(GLO_CIPHERING_TAG, 8), frame.systemTitle, axdrLength(content.length), content);
}

/** Parses the APDU's framing only; nothing is verified until `openGloCiphering`. */
export function decodeGloCiphering(apdu: Uint8Array): GloCiphering {
  checkBytes("apdu", apdu);
  if (apdu.length < 10 || apdu[0] !== GLO_CIPHERING_TAG || apdu[1] !== 8) {
    throw new CryptoInputError("bad_parameter", "not a general-glo-ciphering APDU with an 8-byte system title");
  }
  const { length, offset } = readAxdrLength(apdu, 10);
  if (offset + length !== apdu.length || length < 5) {
    throw new CryptoInputError("bad_length", "the ciphered content's length does not match the APDU");
  }
  const content = apdu.subarray(offset);
  const frame = {
    systemTitle: apdu.slice(2, 10),
    securityControl: content[0]!,
    invocationCounter: new DataView(content.buffer, content.byteOffset + 1, 4).getUint32(0),
    body: content.slice(5),
  };
  checkHeader(frame);
  return frame;
}

const isAuthenticated = (sc: number) => (sc & SC_AUTHENTICATED) !== 0;
const isEncrypted = (sc: number) => (sc & SC_ENCRYPTED) !== 0;

function checkHeader(frame: Omit<GloCiphering, "body">): void {
  checkBytes("systemTitle", frame.systemTitle, [8]);
  checkInteger("invocationCounter", frame.invocationCounter, 0, 0xffffffff);
  checkInteger("securityControl", frame.securityControl, 0, 0xff);
  const sc = frame.securityControl;
  if ((sc & SC_COMPRESSED) !== 0 || (sc & 0x0f) > 2 || (!isAuthenticated(sc) && !isEncrypted(sc))) {
    throw new CryptoInputError("bad_parameter", "security control byte must select suite 0-2 and authentication and/or encryption, without compression");
  }
}

function checkKeys(keys: DlmsKeys): void {
  checkAesKey("ek", keys.ek);
  checkAesKey("ak", keys.ak);
}

function ivOf(frame: Omit<GloCiphering, "body">): Uint8Array {
  return concat(frame.systemTitle, uint32(frame.invocationCounter));
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

function uint32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** A-XDR length: one byte below 128, else 0x81 or 0x82 and one or two length bytes. */
export function axdrLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  if (n < 0x10000) return Uint8Array.of(0x82, n >> 8, n & 0xff);
  throw new CryptoInputError("bad_length", "A-XDR lengths above 65535 are not used here");
}

export function readAxdrLength(bytes: Uint8Array, at: number): { length: number; offset: number } {
  const first = bytes[at];
  if (first === undefined) throw new CryptoInputError("bad_length", "truncated A-XDR length");
  if (first < 0x80) return { length: first, offset: at + 1 };
  const size = first & 0x7f;
  if (size < 1 || size > 2 || at + 1 + size > bytes.length) throw new CryptoInputError("bad_length", "bad A-XDR length");
  let length = 0;
  for (let i = 1; i <= size; i++) length = (length << 8) | bytes[at + i]!;
  if ((size === 1 && length < 0x80) || (size === 2 && length < 0x100)) throw new CryptoInputError("bad_length", "non-minimal A-XDR length");
  return { length, offset: at + 1 + size };
}
