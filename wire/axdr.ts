/**
 * A-XDR (IEC 61334-6) pieces that DLMS/COSEM frames and key transfer use. Pure functions:
 * shared by the service and the meter SDK.
 */
export class WireError extends Error {
  override readonly name = "WireError";
  constructor(
    readonly code: "bad_length" | "bad_frame",
    message: string,
  ) {
    super(message);
  }
}

/** Length: one byte below 128, else 0x81 or 0x82 and one or two length bytes. */
export function axdrLength(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw new WireError("bad_length", "a length is a non-negative integer");
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  if (n < 0x10000) return Uint8Array.of(0x82, n >> 8, n & 0xff);
  throw new WireError("bad_length", "A-XDR lengths above 65535 are not used here");
}

/** Reads a length at `at`; refuses truncated and non-minimal encodings. */
export function readAxdrLength(bytes: Uint8Array, at: number): { length: number; offset: number } {
  const first = bytes[at];
  if (first === undefined) throw new WireError("bad_length", "truncated A-XDR length");
  if (first < 0x80) return { length: first, offset: at + 1 };
  const size = first & 0x7f;
  if (size < 1 || size > 2 || at + 1 + size > bytes.length) throw new WireError("bad_length", "bad A-XDR length");
  let length = 0;
  for (let i = 1; i <= size; i++) length = (length << 8) | bytes[at + i]!;
  if ((size === 1 && length < 0x80) || (size === 2 && length < 0x100)) throw new WireError("bad_length", "non-minimal A-XDR length");
  return { length, offset: at + 1 + size };
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
