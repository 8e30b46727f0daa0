/**
 * Keys delivered to the meter: DLMS global key transfer `key_data` (wire/key-transfer.ts),
 * each key wrapped with AES key wrap (RFC 3394, default IV) under the meter's KEK, unwrapped
 * here with noble. The "keys" op sends `key_data` together with a list that describes each
 * entry, in the same order: [class, dlmsKeyId, keyId, version, state].
 */
import { aeskw } from "@noble/ciphers/aes.js";
import { WireError } from "../wire/axdr.js";
import { DLMS_KEY_ID, decodeKeyData, type DlmsKeyName } from "../wire/key-transfer.js";
import { SdkError } from "./errors.js";

export type KeyClass = DlmsKeyName;
export const KEY_CLASSES = Object.keys(DLMS_KEY_ID) as KeyClass[];

/** What the server says about one delivered key (not secret). */
export type KeyDescription = {
  keyClass: KeyClass;
  /** DLMS key_id: GUEK 0, GBEK 1, AK 2, KEK 3. */
  dlmsKeyId: number;
  /** gridkey's key id, for acknowledgements. */
  keyId: string;
  version: number;
  /** "new" (waits for the meter's acknowledgement), "active", ... */
  state: string;
};

export type DeliveredKey = KeyDescription & { key: Uint8Array };

const KEK_LENGTHS: readonly number[] = [16, 24, 32];
/** gridkey delivers AES-128 and AES-256 keys only. */
const DELIVERED_KEY_LENGTHS: readonly number[] = [16, 32];

/** RFC 3394 unwrap; `key_unwrap_failed` when the integrity check fails (wrong KEK or tampering). */
export function unwrapKey(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  if (!KEK_LENGTHS.includes(kek.length)) throw new SdkError("bad_config", "the KEK must be 16, 24 or 32 bytes");
  // Key data of at least two 8-byte blocks, plus the integrity block (RFC 3394 §2.2).
  if (wrapped.length < 24 || wrapped.length % 8 !== 0) throw new SdkError("bad_response", "a wrapped key is a multiple of 8 bytes, at least 24");
  try {
    return aeskw(kek).decrypt(wrapped);
  } catch (cause) {
    throw new SdkError("key_unwrap_failed", "a delivered key failed its integrity check under the KEK", { cause });
  }
}

/**
 * Unwraps every entry of `keyData` as described by `list` (same order, same DLMS key ids).
 * The entries are wrapped under one KEK; `keks` are tried in order (the current KEK first,
 * then the one it replaced, for a delivery that crossed a KEK change).
 */
export function unwrapKeyData(keyData: Uint8Array, list: readonly KeyDescription[], keks: readonly Uint8Array[]): DeliveredKey[] {
  const entries = decodeEntries(keyData);
  if (entries.length !== list.length) throw new SdkError("bad_response", "key_data and the key list differ in length");
  entries.forEach((e, i) => {
    if (e.keyId !== list[i]!.dlmsKeyId) throw new SdkError("bad_response", `key_data entry ${i} has another key_id than the list says`);
  });
  if (entries.length === 0) return [];
  entries.forEach((e, i) => {
    if (!DELIVERED_KEY_LENGTHS.includes(e.wrapped.length - 8)) throw new SdkError("bad_response", `key_data entry ${i} is not a wrapped 16- or 32-byte key`);
  });
  const kek = kekFor(entries[0]!.wrapped, keks);
  const out: DeliveredKey[] = [];
  try {
    entries.forEach((e, i) => out.push({ ...list[i]!, key: unwrapKey(kek, e.wrapped) }));
  } catch (e) {
    for (const k of out) k.key.fill(0); // all or nothing: no half-delivered key set
    throw e;
  }
  return out;
}

function decodeEntries(keyData: Uint8Array) {
  try {
    return decodeKeyData(keyData);
  } catch (e) {
    if (e instanceof WireError) throw new SdkError("bad_response", `key_data: ${e.message}`, { cause: e });
    throw e;
  }
}

/** The first KEK under which `wrapped` passes the integrity check. */
function kekFor(wrapped: Uint8Array, keks: readonly Uint8Array[]): Uint8Array {
  let last: unknown;
  for (const kek of keks) {
    try {
      unwrapKey(kek, wrapped).fill(0);
      return kek;
    } catch (e) {
      if (!(e instanceof SdkError) || e.code !== "key_unwrap_failed") throw e;
      last = e;
    }
  }
  throw last ?? new SdkError("bad_config", "no KEK to unwrap with");
}

/** Checks a class name and its DLMS key id agree (the list is the server's word for both). */
export function describeKey(keyClass: unknown, dlmsKeyId: unknown, keyId: unknown, version: unknown, state: unknown): KeyDescription {
  if (typeof keyClass !== "string" || !(KEY_CLASSES as string[]).includes(keyClass)) throw new SdkError("bad_response", "unknown key class in the key list");
  const cls = keyClass as KeyClass;
  if (dlmsKeyId !== DLMS_KEY_ID[cls]) throw new SdkError("bad_response", `key class ${cls} has DLMS key id ${DLMS_KEY_ID[cls]}`);
  if (typeof keyId !== "string" || typeof version !== "number" || !Number.isSafeInteger(version) || version < 1 || typeof state !== "string") {
    throw new SdkError("bad_response", "a key list entry is [class, dlmsKeyId, keyId, version, state]");
  }
  return { keyClass: cls, dlmsKeyId: DLMS_KEY_ID[cls], keyId, version, state };
}
