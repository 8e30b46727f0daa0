/** Byte-string helpers shared by the crypto module and its callers. */
import { checkBytes, checkInteger } from "./check";
import { CryptoInputError } from "./errors";

/** WebCrypto's getRandomValues fills at most 65536 bytes per call (workerd throws QuotaExceededError above). */
const RANDOM_CHUNK = 65536;

/** n bytes from the platform CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  checkInteger("n", n, 0, 2 ** 30);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += RANDOM_CHUNK) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + RANDOM_CHUNK)));
  }
  return out;
}

/** Lower-case hex. */
export function toHex(b: Uint8Array): string {
  checkBytes("bytes", b);
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Hex (either case, no prefix, no separators) to bytes; anything else is CryptoInputError "bad_hex". */
export function fromHex(s: string): Uint8Array {
  if (typeof s !== "string" || !HEX.test(s)) {
    throw new CryptoInputError("bad_hex", "expected an even-length string of hex digits");
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * The TC39 base64 methods (Uint8Array.fromBase64, toBase64), native in workerd, where every
 * key graph epoch decodes and encodes a sealed node key per node; Node 22 (the SDK, the CLI)
 * has no such methods and takes the portable path below.
 */
type NativeBase64 = {
  fromBase64(s: string, options: { alphabet: "base64url"; lastChunkHandling: "strict" }): Uint8Array;
};
type NativeBase64Bytes = Uint8Array & { toBase64(options: { alphabet: "base64url"; omitPadding: true }): string };
const nativeBase64 = typeof (Uint8Array as unknown as Partial<NativeBase64>).fromBase64 === "function";

/** base64url without padding (RFC 4648 §5, as JOSE/COSE use it). */
export function toBase64url(b: Uint8Array): string {
  checkBytes("bytes", b);
  if (nativeBase64) return (b as NativeBase64Bytes).toBase64({ alphabet: "base64url", omitPadding: true });
  return portableBase64url.encode(b);
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Strict base64url: alphabet A-Z a-z 0-9 - _, no padding, no whitespace, and canonical
 * (unused trailing bits zero), so every byte string has exactly one accepted encoding.
 */
export function fromBase64url(s: string): Uint8Array {
  if (typeof s !== "string" || !BASE64URL.test(s) || s.length % 4 === 1) {
    throw new CryptoInputError("bad_base64", "expected unpadded base64url");
  }
  const out = nativeBase64 ? decodeNative(s) : portableBase64url.decode(s);
  if (!out) throw new CryptoInputError("bad_base64", "non-canonical base64url");
  return out;
}

/** "strict" refuses non-zero unused bits, but only on a padded last chunk: the padding is put back first. */
function decodeNative(s: string): Uint8Array | undefined {
  try {
    return (Uint8Array as unknown as NativeBase64).fromBase64(s + "=".repeat((4 - (s.length % 4)) % 4), { alphabet: "base64url", lastChunkHandling: "strict" });
  } catch {
    return undefined;
  }
}

/** The same through atob/btoa, for runtimes without the native methods; `decode` answers undefined for a non-canonical input. */
export const portableBase64url = {
  encode(b: Uint8Array): string {
    let bin = "";
    for (const x of b) bin += String.fromCharCode(x);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
  decode(s: string): Uint8Array | undefined {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return portableBase64url.encode(out) === s ? out : undefined;
  },
};

export function concat(...parts: Uint8Array[]): Uint8Array {
  parts.forEach((p, i) => checkBytes(`parts[${i}]`, p));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const encoder = new TextEncoder();

export function utf8(s: string): Uint8Array {
  if (typeof s !== "string") throw new CryptoInputError("bad_parameter", "expected a string");
  return encoder.encode(s);
}

/**
 * The one comparison of secrets and of what authenticates them (tokens and their hashes,
 * MACs, AEAD and DLMS tags, Merkle roots): its running time depends only on the lengths,
 * never on where the first difference is. Lengths are treated as public. In workerd it is
 * crypto.subtle.timingSafeEqual; elsewhere (the meter SDK in Node or a browser) an
 * XOR-accumulate loop over every byte, with no early exit.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  checkBytes("a", a);
  checkBytes("b", b);
  if (a.length !== b.length) return false;
  const subtle = crypto.subtle as unknown as { timingSafeEqual?: (x: ArrayBufferView, y: ArrayBufferView) => boolean };
  if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(a, b);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
