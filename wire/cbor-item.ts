import { type CborValue, decode } from "../edhoc/cbor";
import { WireError } from "./axdr";

/** One CBOR data item from outside: anything else is a bad frame, never another exception. */
export function decodeItem(bytes: Uint8Array): CborValue {
  try {
    return decode(bytes);
  } catch {
    throw new WireError("bad_frame", "not one CBOR data item");
  }
}

/** A CBOR unsigned integer that JavaScript holds exactly. */
export function isUint(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
