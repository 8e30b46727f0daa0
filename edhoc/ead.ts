/**
 * External Authorization Data (RFC 9528 §3.8): each EAD_x is a sequence of items
 * (ead_label : int, ? ead_value : bstr). A negative label marks a critical item; an endpoint
 * that receives a critical item it does not support MUST fail. Label 0 is padding and is
 * dropped. By default we support no EAD item at all, so every critical item fails and
 * every non-critical item is handed to the application untouched.
 */
import { CborReader, encodeSequence, type CborValue } from "./cbor.js";
import { EdhocError, fromCbor } from "./errors.js";

export interface EadItem {
  readonly label: number;
  readonly value?: Uint8Array;
}

export interface EadPolicy {
  /** Absolute values of the EAD labels the application processes (critical or not). */
  readonly supported?: readonly number[];
}

/** Encodes EAD items as the tail of a message or plaintext. */
export function encodeEad(items: readonly EadItem[] | undefined): Uint8Array {
  const values: CborValue[] = [];
  for (const item of items ?? []) {
    if (!Number.isSafeInteger(item.label)) throw new EdhocError("bad_parameter", "EAD label must be an integer");
    values.push(item.label);
    if (item.value !== undefined) values.push(item.value);
  }
  return encodeSequence(...values);
}

/** Reads EAD items to the end of the reader's input (strict CBOR, labels must be ints). */
function readItems(reader: CborReader, what: string): EadItem[] {
  const items: EadItem[] = [];
  try {
    while (!reader.atEnd) {
      const label = reader.next();
      if (typeof label !== "number") throw new EdhocError("invalid_ead", `${what}: ead_label must be an int`);
      const hasValue = reader.peekMajor() === 2;
      items.push(hasValue ? { label, value: reader.next() as Uint8Array } : { label });
    }
  } catch (e) {
    throw fromCbor(e, what);
  }
  return items;
}

/**
 * Reads and checks an EAD field: critical items with labels outside `policy.supported`
 * fail with "critical_ead" (sent as ERR_CODE 1); padding is dropped; the rest is returned
 * for the application.
 */
export function readEad(reader: CborReader, policy: EadPolicy | undefined, what: string): EadItem[] {
  const supported = new Set(policy?.supported ?? []);
  const items = readItems(reader, what);
  for (const item of items) {
    if (item.label < 0 && !supported.has(-item.label)) {
      throw new EdhocError("critical_ead", `${what}: unsupported critical EAD item ${item.label}`);
    }
  }
  return items.filter((item) => item.label !== 0);
}
