import { axdrLength, concatBytes, readAxdrLength, WireError } from "./axdr";

/**
 * DLMS/COSEM global key transfer (Security setup, IC 64, method 2 `global_key_transfer`):
 *
 *   key_data ::= array { structure { key_id: enum, key_wrapped: octet-string } }
 *
 * in A-XDR: 01 <n> then n times 02 02 16 <key_id> 09 <len> <wrapped>. Each key is wrapped
 * (AES key wrap, RFC 3394) under the meter's KEK, so the same payload could be sent to a
 * DLMS meter as the method's parameter.
 */
export const DLMS_KEY_ID = { guek: 0, gbek: 1, ak: 2, kek: 3 } as const;
export type DlmsKeyName = keyof typeof DLMS_KEY_ID;

export type KeyTransferEntry = { keyId: number; wrapped: Uint8Array };

const ARRAY = 0x01;
const STRUCTURE = 0x02;
const ENUM = 0x16;
const OCTET_STRING = 0x09;

export function encodeKeyData(entries: KeyTransferEntry[]): Uint8Array {
  if (entries.length > 0x7f) throw new WireError("bad_length", "at most 127 keys per transfer");
  const parts: Uint8Array[] = [Uint8Array.of(ARRAY, entries.length)];
  for (const { keyId, wrapped } of entries) {
    if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xff) throw new WireError("bad_frame", "key_id is an enum (0-255)");
    parts.push(Uint8Array.of(STRUCTURE, 2, ENUM, keyId, OCTET_STRING), axdrLength(wrapped.length), wrapped);
  }
  return concatBytes(...parts);
}

export function decodeKeyData(bytes: Uint8Array): KeyTransferEntry[] {
  if (bytes[0] !== ARRAY) throw new WireError("bad_frame", "key_data must be an array");
  const { length: count, offset } = readAxdrLength(bytes, 1);
  const entries: KeyTransferEntry[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (bytes[at] !== STRUCTURE || bytes[at + 1] !== 2 || bytes[at + 2] !== ENUM || bytes[at + 4] !== OCTET_STRING) {
      throw new WireError("bad_frame", `key_data element ${i} is not structure { enum, octet-string }`);
    }
    const keyId = bytes[at + 3]!;
    const { length, offset: start } = readAxdrLength(bytes, at + 5);
    if (start + length > bytes.length) throw new WireError("bad_length", `key_data element ${i} is truncated`);
    entries.push({ keyId, wrapped: bytes.slice(start, start + length) });
    at = start + length;
  }
  if (at !== bytes.length) throw new WireError("bad_length", "bytes after key_data");
  return entries;
}
