/** The EDHOC CBOR codec: deterministic encoding, strict decoding, and every refusal code. */
import { describe, expect, it } from "vitest";
import {
  CborError,
  CborMap,
  CborReader,
  CborSimple,
  decode,
  decodeSequence,
  encode,
  encodeSequence,
  type CborErrorCode,
  type CborValue,
} from "../../edhoc/cbor";
import { parseCcs, makeCcs } from "../../edhoc/credentials";
import { hex, t2, toHex } from "./helpers";

function codeOf(f: () => unknown): CborErrorCode | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof CborError) return e.code;
    throw e;
  }
  return undefined;
}

describe("CBOR encoding (RFC 8949 Appendix A examples, shortest form)", () => {
  const cases: [CborValue, string][] = [
    [0, "00"],
    [23, "17"],
    [24, "1818"],
    [255, "18ff"],
    [256, "190100"],
    [65535, "19ffff"],
    [65536, "1a00010000"],
    [4294967295, "1affffffff"],
    [4294967296, "1b0000000100000000"],
    [18446744073709551615n, "1bffffffffffffffff"],
    [-1, "20"],
    [-24, "37"],
    [-25, "3818"],
    [-1000, "3903e7"],
    [-18446744073709551616n, "3bffffffffffffffff"],
    [false, "f4"],
    [true, "f5"],
    [null, "f6"],
    [new CborSimple(23), "f7"],
    [new CborSimple(16), "f0"],
    [new CborSimple(255), "f8ff"],
    [new Uint8Array(0), "40"],
    [hex("01020304"), "4401020304"],
    ["", "60"],
    ["IETF", "6449455446"],
    ["\u00fc", "62c3bc"],
    ["\u6c34", "63e6b0b4"],
    [[], "80"],
    [[1, [2, 3], [4, 5]], "8301820203820405"],
    [new CborMap(), "a0"],
    [new CborMap([[1, 2], [3, 4]]), "a201020304"],
    [new CborMap([["a", 1], ["b", [2, 3]]]), "a26161016162820203"],
  ];
  it.each(cases.map(([v, h]) => [h, v] as const))("encodes %s and decodes it back", (h, v) => {
    expect(toHex(encode(v))).toBe(h);
    expect(toHex(encode(decode(hex(h))))).toBe(h);
  });

  it("sorts map keys bytewise (deterministic) whatever the insertion order", () => {
    const m = new CborMap([[-3, 1], ["z", 2], [10, 3], [1, 4], [-1, 5]]);
    expect(toHex(encode(m))).toBe("a501040a032005220161" + "7a02");
  });

  it("refuses values it cannot encode", () => {
    expect(codeOf(() => encode(1.5))).toBe("cbor_unencodable");
    expect(codeOf(() => encode(2n ** 64n))).toBe("cbor_unencodable");
    expect(codeOf(() => encode(-(2n ** 64n) - 1n))).toBe("cbor_unencodable");
    expect(codeOf(() => encode(new CborMap([[1, 1], [1n, 2]])))).toBe("cbor_unencodable");
    expect(codeOf(() => new CborSimple(24))).toBe("cbor_unencodable");
  });

  it("encodes sequences as concatenations", () => {
    expect(toHex(encodeSequence(3, [6, 2], hex("aa"), -24))).toBe("0382060241aa37");
  });
});

describe("CBOR decoding", () => {
  it("decodes integers beyond 2^53 as bigint and map lookups match either form", () => {
    expect(decode(hex("1bffffffffffffffff"))).toBe(18446744073709551615n);
    expect(decode(hex("3b001fffffffffffff"))).toBe(-9007199254740992n); // -(2^53): not a safe integer
    expect(decode(hex("3b001ffffffffffffe"))).toBe(Number.MIN_SAFE_INTEGER);
    const m = decode(hex("a2010220f5")) as CborMap;
    expect(m.get(1n)).toBe(2);
    expect(m.get(-1)).toBe(true);
    expect(m.has(2)).toBe(false);
  });

  it("decodes sequences and gives each item's raw bytes", () => {
    expect(decodeSequence(hex("0382060241aa37"))).toEqual([3, [6, 2], hex("aa"), -24]);
    expect(decodeSequence(new Uint8Array(0))).toEqual([]);
    const r = new CborReader(hex("0382060241aa"));
    r.next();
    expect(toHex(r.nextWithRaw().raw)).toBe("820602");
    expect(r.peekMajor()).toBe(2);
  });

  const malformed: [string, string, CborErrorCode][] = [
    ["empty input", "", "cbor_truncated"],
    ["head cut short", "19 01", "cbor_truncated"],
    ["argument byte missing", "18", "cbor_truncated"],
    ["bstr longer than input", "43 0102", "cbor_length_exceeds_input"],
    ["tstr longer than input", "79 0100 61", "cbor_length_exceeds_input"],
    ["array count beyond input", "9b ffffffffffffffff", "cbor_length_exceeds_input"],
    ["map count beyond input", "a2 0102", "cbor_length_exceeds_input"],
    ["huge bstr length", "5b ffffffffffffffff 00", "cbor_length_exceeds_input"],
    ["array element cut short", "82 01 19 01", "cbor_truncated"],
    ["array count beyond remaining bytes", "82 01", "cbor_length_exceeds_input"],
    ["trailing bytes", "01 02", "cbor_trailing_bytes"],
    ["indefinite bstr", "5f 41 00 ff", "cbor_indefinite_length"],
    ["indefinite tstr", "7f 61 61 ff", "cbor_indefinite_length"],
    ["indefinite array", "9f 01 ff", "cbor_indefinite_length"],
    ["indefinite map", "bf 01 02 ff", "cbor_indefinite_length"],
    ["stray break", "ff", "cbor_indefinite_length"],
    ["uint 23 in one extra byte", "18 17", "cbor_non_shortest"],
    ["uint 255 in two bytes", "19 00ff", "cbor_non_shortest"],
    ["uint 65535 in four bytes", "1a 0000ffff", "cbor_non_shortest"],
    ["uint 2^32-1 in eight bytes", "1b 00000000ffffffff", "cbor_non_shortest"],
    ["negative -1 in one extra byte", "38 00", "cbor_non_shortest"],
    ["bstr length 0 in one extra byte", "58 00", "cbor_non_shortest"],
    ["array length 1 in two extra bytes", "99 0001 00", "cbor_non_shortest"],
    ["reserved additional info 28", "1c", "cbor_reserved_info"],
    ["reserved additional info 30 (bstr)", "5e", "cbor_reserved_info"],
    ["tag", "c0 00", "cbor_unsupported_type"],
    ["half float", "f9 0000", "cbor_unsupported_type"],
    ["double float", "fb 0000000000000000", "cbor_unsupported_type"],
    ["two-byte simple below 32", "f8 10", "cbor_invalid_simple"],
    ["invalid UTF-8", "62 c328", "cbor_invalid_utf8"],
    ["UTF-16 surrogate in UTF-8", "63 eda080", "cbor_invalid_utf8"],
    ["duplicate map key", "a2 01 01 01 02", "cbor_duplicate_key"],
    ["duplicate text key", "a2 6161 01 6161 02", "cbor_duplicate_key"],
    ["byte-string map key", "a1 40 01", "cbor_invalid_map_key"],
    ["array map key", "a1 80 01", "cbor_invalid_map_key"],
  ];
  it.each(malformed)("refuses %s", (_what, h, code) => {
    expect(codeOf(() => decode(hex(h.replace(/ /g, ""))))).toBe(code);
  });

  it("refuses nesting deeper than the limit, and the limit is configurable", () => {
    const deep = (n: number) => hex("81".repeat(n) + "00");
    expect(decode(deep(16))).toBeDefined();
    expect(codeOf(() => decode(deep(17)))).toBe("cbor_too_deep");
    expect(codeOf(() => decode(deep(100000)))).toBe("cbor_too_deep");
    expect(codeOf(() => decode(deep(3), { maxDepth: 2 }))).toBe("cbor_too_deep");
  });

  it("checks map key order only when asked to", () => {
    const unsorted = hex("a2 02 00 01 00".replace(/ /g, ""));
    expect(decode(unsorted)).toBeInstanceOf(CborMap);
    expect(codeOf(() => decode(unsorted, { requireSortedKeys: true }))).toBe("cbor_unsorted_keys");
    expect(decode(hex("a2010002 00".replace(/ /g, "")), { requireSortedKeys: true })).toBeInstanceOf(CborMap);
  });

  it("reports the offset of the problem", () => {
    try {
      decodeSequence(hex("01021800"));
    } catch (e) {
      expect((e as CborError).offset).toBe(2);
      return;
    }
    throw new Error("expected a CborError");
  });
});

describe("CCS credentials", () => {
  it("parses RFC 9529 CRED_R and re-encodes it identically", () => {
    const credR = t2("3.4", "CRED_R");
    const parsed = parseCcs(credR);
    expect(toHex(parsed.kid)).toBe("32");
    expect(parsed.subject).toBe("example.edu");
    expect(parsed.publicKey.curve).toBe("P-256");
    expect(toHex(parsed.publicKey.x)).toBe(toHex(t2("3.4", "PK_R.x")));
    const rebuilt = makeCcs({ subject: "example.edu", kid: hex("32"), curve: "P-256", x: parsed.publicKey.x, y: parsed.publicKey.y as Uint8Array });
    expect(toHex(rebuilt.bytes)).toBe(toHex(credR));
  });

  it("refuses credentials without a usable COSE_Key", () => {
    const code = (h: string) => {
      try {
        parseCcs(hex(h));
      } catch (e) {
        return (e as { code: string }).code;
      }
      return undefined;
    };
    expect(code("a0")).toBe("invalid_credential"); // no cnf
    expect(code("a108a0")).toBe("invalid_credential"); // cnf without COSE_Key
    expect(code("a108a101a3010102412b2001")).toBe("invalid_credential"); // kty OKP with crv P-256
    expect(code("a108a101a40102024132200121420102")).toBe("invalid_credential"); // x of 2 bytes
    expect(code("a108a101")).toBe("cbor_length_exceeds_input");
  });
});
