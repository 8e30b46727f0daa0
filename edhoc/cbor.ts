/**
 * A small deterministic CBOR (RFC 8949) encoder and strict decoder, limited to what EDHOC
 * (RFC 9528) needs: integers, byte and text strings, arrays, maps, simple values, and CBOR
 * sequences (RFC 8742).
 *
 * Why our own and not a general CBOR library: EDHOC messages must be deterministically
 * encoded (RFC 9528 §3.1, RFC 8949 §4.2.1) and RFC 9529 §4 lists encodings a compliant
 * receiver rejects (indefinite lengths, over-long arguments). General decoders accept
 * those silently, and we also need the raw bytes of each item of a sequence (the
 * transcript hashes cover PLAINTEXT_2/3 exactly as received). Tags and floats never
 * occur in EDHOC, so they are refused rather than half-supported.
 */

export type CborErrorCode =
  | "cbor_truncated" // the input ends inside an item's head
  | "cbor_length_exceeds_input" // a declared length runs past the end of the input
  | "cbor_trailing_bytes" // bytes left after the single expected item
  | "cbor_indefinite_length" // major types 2..5 with additional info 31, or a stray break
  | "cbor_non_shortest" // an argument not encoded in the shortest form (RFC 8949 §4.2.1)
  | "cbor_reserved_info" // additional info 28..30 (not well-formed)
  | "cbor_unsupported_type" // tags and floating-point values: not used by EDHOC
  | "cbor_invalid_simple" // two-byte simple value below 32 (not well-formed)
  | "cbor_invalid_utf8" // text string that is not valid UTF-8
  | "cbor_duplicate_key" // map with the same key twice
  | "cbor_invalid_map_key" // map key that is not an int or a text string
  | "cbor_unsorted_keys" // map keys not in bytewise order (only when asked for)
  | "cbor_too_deep" // nesting deeper than the limit
  | "cbor_unencodable"; // encoder given a value it cannot represent

export class CborError extends Error {
  override readonly name = "CborError";
  constructor(
    readonly code: CborErrorCode,
    message: string,
    /** Byte offset in the input where the problem was found (decoder only). */
    readonly offset?: number,
  ) {
    super(message);
  }
}

/** A CBOR simple value other than false/true/null (e.g. undefined = 23). */
export class CborSimple {
  constructor(readonly value: number) {
    if (!Number.isInteger(value) || value < 0 || value > 255 || (value >= 24 && value < 32)) {
      throw new CborError("cbor_unencodable", `simple value ${value} is not encodable`);
    }
  }
}

export type CborMapKey = number | bigint | string;

/**
 * A CBOR map that keeps its entries in order and compares keys by value, so integer keys
 * like COSE labels work (a JS Map would compare bigint and number keys differently).
 */
export class CborMap {
  readonly entries: ReadonlyArray<readonly [CborMapKey, CborValue]>;
  constructor(entries: Iterable<readonly [CborMapKey, CborValue]> = []) {
    this.entries = [...entries];
  }
  get(key: CborMapKey): CborValue | undefined {
    for (const [k, v] of this.entries) if (sameKey(k, key)) return v;
    return undefined;
  }
  has(key: CborMapKey): boolean {
    return this.entries.some(([k]) => sameKey(k, key));
  }
  get size(): number {
    return this.entries.length;
  }
}

export type CborValue =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | null
  | CborSimple
  | CborValue[]
  | CborMap;

function sameKey(a: CborMapKey, b: CborMapKey): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  return BigInt(a) === BigInt(b);
}

// ---------------------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------------------

const MAX_UINT64 = (1n << 64n) - 1n;

/** Growable output buffer: EDHOC items are small, so doubling is plenty. */
class Writer {
  private buf = new Uint8Array(64);
  private len = 0;
  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Writes a head (major type + argument) in the shortest form, as RFC 8949 §4.2.1 requires. */
function writeHead(w: Writer, major: number, arg: bigint): void {
  const mt = major << 5;
  if (arg < 24n) return w.byte(mt | Number(arg));
  const size = arg <= 0xffn ? 1 : arg <= 0xffffn ? 2 : arg <= 0xffffffffn ? 4 : 8;
  w.byte(mt | { 1: 24, 2: 25, 4: 26, 8: 27 }[size]!);
  for (let i = size - 1; i >= 0; i--) w.byte(Number((arg >> BigInt(8 * i)) & 0xffn));
}

function writeInt(w: Writer, v: bigint): void {
  if (v >= 0n) {
    if (v > MAX_UINT64) throw new CborError("cbor_unencodable", "integer above 2^64-1");
    return writeHead(w, 0, v);
  }
  const n = -1n - v;
  if (n > MAX_UINT64) throw new CborError("cbor_unencodable", "integer below -2^64");
  writeHead(w, 1, n);
}

const utf8 = new TextEncoder();

function writeValue(w: Writer, v: CborValue, depth: number): void {
  if (depth > MAX_ENCODE_DEPTH) throw new CborError("cbor_unencodable", "value nested too deeply");
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new CborError("cbor_unencodable", "only safe integers are encodable");
    return writeInt(w, BigInt(v));
  }
  if (typeof v === "bigint") return writeInt(w, v);
  if (typeof v === "string") {
    const b = utf8.encode(v);
    writeHead(w, 3, BigInt(b.length));
    return w.bytes(b);
  }
  if (v instanceof Uint8Array) {
    writeHead(w, 2, BigInt(v.length));
    return w.bytes(v);
  }
  if (v === false) return w.byte(0xf4);
  if (v === true) return w.byte(0xf5);
  if (v === null) return w.byte(0xf6);
  if (v instanceof CborSimple) return writeSimple(w, v.value);
  if (Array.isArray(v)) {
    writeHead(w, 4, BigInt(v.length));
    for (const item of v) writeValue(w, item, depth + 1);
    return;
  }
  if (v instanceof CborMap) return writeMap(w, v, depth);
  throw new CborError("cbor_unencodable", `cannot encode ${typeof v}`);
}

function writeSimple(w: Writer, value: number): void {
  if (value < 24) return w.byte(0xe0 | value);
  w.byte(0xf8);
  w.byte(value);
}

/** Deterministic map: keys sorted by their encoded bytes (RFC 8949 §4.2.1), no duplicates. */
function writeMap(w: Writer, m: CborMap, depth: number): void {
  const encoded = m.entries.map(([k, v]) => ({ key: encode(k), value: v }));
  encoded.sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 1; i < encoded.length; i++) {
    if (compareBytes(encoded[i - 1]!.key, encoded[i]!.key) === 0) {
      throw new CborError("cbor_unencodable", "map has a duplicate key");
    }
  }
  writeHead(w, 5, BigInt(encoded.length));
  for (const e of encoded) {
    w.bytes(e.key);
    writeValue(w, e.value, depth + 1);
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const MAX_ENCODE_DEPTH = 64;

/** Encodes one data item deterministically. */
export function encode(value: CborValue): Uint8Array {
  const w = new Writer();
  writeValue(w, value, 0);
  return w.result();
}

/** Encodes a CBOR sequence (RFC 8742): the concatenation of the items' encodings. */
export function encodeSequence(...values: CborValue[]): Uint8Array {
  const w = new Writer();
  for (const v of values) writeValue(w, v, 0);
  return w.result();
}

/** Concatenates already-encoded items (or raw byte strings) into one buffer. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------

export interface DecodeOptions {
  /** Maximum nesting of arrays/maps (default 16; EDHOC credentials nest 3 deep). */
  maxDepth?: number;
  /**
   * Reject maps whose keys are not in bytewise order. Off by default: RFC 9528 §3.5.3 lets
   * ID_CRED maps carry header labels in any order, and credentials are never re-encoded.
   */
  requireSortedKeys?: boolean;
}

const DEFAULT_MAX_DEPTH = 16;
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Reads CBOR items one after the other from a buffer. Every read is strict: the first
 * ill-formed or non-deterministic byte throws a CborError with the offset.
 */
export class CborReader {
  private pos = 0;
  private readonly maxDepth: number;
  private readonly sortedKeys: boolean;

  constructor(
    private readonly input: Uint8Array,
    options: DecodeOptions = {},
  ) {
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.sortedKeys = options.requireSortedKeys ?? false;
  }

  get offset(): number {
    return this.pos;
  }

  get atEnd(): boolean {
    return this.pos >= this.input.length;
  }

  /** Major type (0..7) of the next item, without consuming it; undefined at the end. */
  peekMajor(): number | undefined {
    return this.atEnd ? undefined : this.input[this.pos]! >> 5;
  }

  /** Decodes the next item. */
  next(): CborValue {
    return this.item(0);
  }

  /** Decodes the next item and also returns its exact encoded bytes. */
  nextWithRaw(): { value: CborValue; raw: Uint8Array } {
    const start = this.pos;
    const value = this.item(0);
    return { value, raw: this.input.subarray(start, this.pos) };
  }

  private fail(code: CborErrorCode, message: string, at = this.pos): never {
    throw new CborError(code, message, at);
  }

  private byte(): number {
    if (this.pos >= this.input.length) this.fail("cbor_truncated", "input ends inside an item");
    return this.input[this.pos++]!;
  }

  /** Reads the argument of a head; enforces the shortest form. */
  private argument(info: number, start: number): bigint {
    if (info < 24) return BigInt(info);
    if (info > 27) this.fail(info === 31 ? "cbor_indefinite_length" : "cbor_reserved_info", `additional info ${info}`, start);
    const size = 1 << (info - 24);
    let v = 0n;
    for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(this.byte());
    const min = size === 1 ? 24n : 1n << BigInt(4 * size); // smallest value needing this size
    if (v < min) this.fail("cbor_non_shortest", `argument ${v} not in shortest form`, start);
    return v;
  }

  /** A length argument, checked against what is left of the input before any allocation. */
  private length(info: number, start: number, unit: number): number {
    const n = this.argument(info, start);
    const left = BigInt(this.input.length - this.pos);
    if (n * BigInt(unit) > left) this.fail("cbor_length_exceeds_input", `length ${n} exceeds input`, start);
    return Number(n);
  }

  private item(depth: number): CborValue {
    const start = this.pos;
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (initial === 0xff) this.fail("cbor_indefinite_length", "unexpected break", start);
    switch (major) {
      case 0:
        return toNumber(this.argument(info, start));
      case 1:
        return toNumber(-1n - this.argument(info, start));
      case 2:
        return this.byteString(info, start);
      case 3:
        return this.textString(info, start);
      case 4:
        return this.array(info, start, depth);
      case 5:
        return this.map(info, start, depth);
      case 6:
        return this.fail("cbor_unsupported_type", "tags are not used in EDHOC", start);
      default:
        return this.simple(info, start);
    }
  }

  private byteString(info: number, start: number): Uint8Array {
    const n = this.length(info, start, 1);
    const out = this.input.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private textString(info: number, start: number): string {
    const n = this.length(info, start, 1);
    const bytes = this.input.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return utf8Strict.decode(bytes);
    } catch {
      return this.fail("cbor_invalid_utf8", "text string is not valid UTF-8", start);
    }
  }

  private enter(depth: number, start: number): void {
    if (depth >= this.maxDepth) this.fail("cbor_too_deep", `nesting deeper than ${this.maxDepth}`, start);
  }

  private array(info: number, start: number, depth: number): CborValue[] {
    const n = this.length(info, start, 1); // every element takes at least one byte
    this.enter(depth, start);
    const out: CborValue[] = [];
    for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
    return out;
  }

  private map(info: number, start: number, depth: number): CborMap {
    const n = this.length(info, start, 2); // a key and a value: at least two bytes
    this.enter(depth, start);
    const entries: [CborMapKey, CborValue][] = [];
    let previousKey: Uint8Array | undefined;
    for (let i = 0; i < n; i++) {
      const keyStart = this.pos;
      const key = this.item(depth + 1);
      if (typeof key !== "number" && typeof key !== "bigint" && typeof key !== "string") {
        this.fail("cbor_invalid_map_key", "map keys must be integers or text strings", keyStart);
      }
      const keyBytes = this.input.subarray(keyStart, this.pos);
      if (entries.some(([k]) => sameKey(k, key))) this.fail("cbor_duplicate_key", "duplicate map key", keyStart);
      if (this.sortedKeys && previousKey && compareBytes(previousKey, keyBytes) > 0) {
        this.fail("cbor_unsorted_keys", "map keys not in bytewise order", keyStart);
      }
      previousKey = keyBytes;
      entries.push([key, this.item(depth + 1)]);
    }
    return new CborMap(entries);
  }

  private simple(info: number, start: number): CborValue {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    if (info < 24) return new CborSimple(info);
    if (info === 24) {
      const v = this.byte();
      if (v < 32) this.fail("cbor_invalid_simple", `two-byte simple value ${v} below 32`, start);
      return new CborSimple(v);
    }
    if (info <= 27) return this.fail("cbor_unsupported_type", "floating-point values are not used in EDHOC", start);
    return this.fail(info === 31 ? "cbor_indefinite_length" : "cbor_reserved_info", `additional info ${info}`, start);
  }
}

/** Integers stay JS numbers when exact, bigint beyond 2^53. */
function toNumber(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Decodes exactly one data item; anything after it is an error. */
export function decode(bytes: Uint8Array, options?: DecodeOptions): CborValue {
  const r = new CborReader(bytes, options);
  const v = r.next();
  if (!r.atEnd) throw new CborError("cbor_trailing_bytes", "bytes after the data item", r.offset);
  return v;
}

/** Decodes a CBOR sequence (zero or more items) to the end of the input. */
export function decodeSequence(bytes: Uint8Array, options?: DecodeOptions): CborValue[] {
  const r = new CborReader(bytes, options);
  const out: CborValue[] = [];
  while (!r.atEnd) out.push(r.next());
  return out;
}
