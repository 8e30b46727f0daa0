import { axdrLength, concatBytes, readAxdrLength, WireError } from "./axdr";

/**
 * The DLMS/COSEM general-glo-ciphering APDU (IEC 62056-5-3, tag 0xDB), framing only:
 *
 *   DB 08 <system title (8)> <A-XDR length> SC <invocation counter (4)> <body>
 *
 * The security control byte SC: bits 0-3 security suite, bit 4 authentication, bit 5
 * encryption, bit 6 key set (0 unicast, 1 broadcast), bit 7 compression (not supported).
 * What protects the body, and how, is in functions/crypto/dlms-ciphering.ts (service) and
 * sdk/dlms.ts (meter).
 */
export const GLO_CIPHERING_TAG = 0xdb;
export const DLMS_TAG_LENGTH = 12;
export const SC_AUTHENTICATED = 0x10;
export const SC_ENCRYPTED = 0x20;
const SC_COMPRESSED = 0x80;

export type GloCipheringHeader = { systemTitle: Uint8Array; securityControl: number; invocationCounter: number };
export type GloCiphering = GloCipheringHeader & {
  /** What follows the security header: ciphertext and/or plaintext, and the tag. */
  body: Uint8Array;
};

export const isAuthenticated = (sc: number) => (sc & SC_AUTHENTICATED) !== 0;
export const isEncrypted = (sc: number) => (sc & SC_ENCRYPTED) !== 0;

export function encodeGloCiphering(frame: GloCiphering): Uint8Array {
  checkHeader(frame);
  const content = concatBytes(Uint8Array.of(frame.securityControl), uint32(frame.invocationCounter), frame.body);
  return concatBytes(Uint8Array.of(GLO_CIPHERING_TAG, 8), frame.systemTitle, axdrLength(content.length), content);
}

/** Parses the framing only; nothing is verified until the body is opened. */
export function decodeGloCiphering(apdu: Uint8Array): GloCiphering {
  if (!(apdu instanceof Uint8Array) || apdu.length < 10 || apdu[0] !== GLO_CIPHERING_TAG || apdu[1] !== 8) {
    throw new WireError("bad_frame", "not a general-glo-ciphering APDU with an 8-byte system title");
  }
  const { length, offset } = readAxdrLength(apdu, 10);
  if (offset + length !== apdu.length || length < 5) {
    throw new WireError("bad_length", "the ciphered content's length does not match the APDU");
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

/** IV = system title || invocation counter. */
export function gloIv(header: GloCipheringHeader): Uint8Array {
  return concatBytes(header.systemTitle, uint32(header.invocationCounter));
}

export function checkHeader(header: GloCipheringHeader): void {
  if (!(header.systemTitle instanceof Uint8Array) || header.systemTitle.length !== 8) {
    throw new WireError("bad_frame", "the system title is 8 bytes");
  }
  const ic = header.invocationCounter;
  if (!Number.isInteger(ic) || ic < 0 || ic > 0xffffffff) throw new WireError("bad_frame", "the invocation counter is a uint32");
  const sc = header.securityControl;
  if (!Number.isInteger(sc) || sc < 0 || sc > 0xff || (sc & SC_COMPRESSED) !== 0 || (sc & 0x0f) > 2 || (!isAuthenticated(sc) && !isEncrypted(sc))) {
    throw new WireError("bad_frame", "security control byte must select suite 0-2 and authentication and/or encryption, without compression");
  }
}

function uint32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}
