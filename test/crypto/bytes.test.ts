import { describe, expect, it } from "vitest";
import {
  concat,
  constantTimeEqual,
  CryptoInputError,
  fromBase64url,
  fromHex,
  randomBytes,
  sha256,
  sha384,
  toBase64url,
  toHex,
  utf8,
} from "../../functions/crypto";
import { portableBase64url } from "../../functions/crypto/bytes";

describe("hex", () => {
  it("round-trips, writes lower case, reads either case", () => {
    const b = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromHex(toHex(b))).toEqual(b);
    expect(toHex(new Uint8Array([0, 0xab, 0xff]))).toBe("00abff");
    expect(fromHex("00ABff")).toEqual(new Uint8Array([0, 0xab, 0xff]));
    expect(fromHex("")).toEqual(new Uint8Array(0));
  });
  it("throws bad_hex on odd length, non-hex, prefixes and separators", () => {
    for (const s of ["0", "abc", "zz", "0x00", "00 11", "0g", " 00", "00\n", "+1"]) {
      expect(() => fromHex(s), JSON.stringify(s)).toThrow(expect.objectContaining({ name: "CryptoInputError", code: "bad_hex" }));
    }
    expect(() => fromHex(7 as unknown as string)).toThrow(CryptoInputError);
  });
});

describe("base64url", () => {
  it("matches RFC 4648 §10 (url alphabet, no padding) and round-trips", () => {
    const cases: [string, string][] = [["", ""], ["f", "Zg"], ["fo", "Zm8"], ["foo", "Zm9v"], ["foob", "Zm9vYg"], ["fooba", "Zm9vYmE"], ["foobar", "Zm9vYmFy"]];
    for (const [plain, enc] of cases) {
      expect(toBase64url(utf8(plain))).toBe(enc);
      expect(fromBase64url(enc)).toEqual(utf8(plain));
    }
    expect(toBase64url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe("-_-_");
    const b = randomBytes(1000);
    expect(fromBase64url(toBase64url(b))).toEqual(b);
  });
  // workerd runs the native methods; Node (the SDK, the CLI) the portable path: both agree.
  it("the portable path (runtimes without Uint8Array.fromBase64) agrees with the native one", () => {
    for (const n of [0, 1, 2, 3, 4, 31, 32, 33, 1000]) {
      const b = randomBytes(n);
      expect(portableBase64url.encode(b)).toBe(toBase64url(b));
      expect(portableBase64url.decode(toBase64url(b))).toEqual(b);
    }
    // Canonical tails (unused bits zero) and non-canonical ones: both paths take the first, refuse the second.
    for (const s of ["Zg", "AQ", "AQM", "Zm9vYg"]) expect(portableBase64url.decode(s), s).toEqual(fromBase64url(s));
    for (const s of ["Zh", "AR", "AQN", "Zm9vYh"]) {
      expect(portableBase64url.decode(s), s).toBeUndefined();
      expect(() => fromBase64url(s), s).toThrow(expect.objectContaining({ code: "bad_base64" }));
    }
  });
  it("throws bad_base64 on padding, the + / alphabet, bad length and non-canonical tails", () => {
    for (const s of ["Zg==", "+/8", "Z", "Zm9vY", "Zh", "Zm9=", "a b", "Zm8\n"]) {
      expect(() => fromBase64url(s), s).toThrow(expect.objectContaining({ code: "bad_base64" }));
    }
  });
});

describe("randomBytes, concat, utf8, constantTimeEqual", () => {
  it("randomBytes gives fresh bytes of any length, past the 64 KiB getRandomValues limit", () => {
    expect(randomBytes(0).length).toBe(0);
    const big = randomBytes(200_000);
    expect(big.length).toBe(200_000);
    expect(big.subarray(150_000, 150_032)).not.toEqual(new Uint8Array(32)); // the tail is filled too
    expect(randomBytes(32)).not.toEqual(randomBytes(32));
    for (const n of [-1, 1.5, NaN]) expect(() => randomBytes(n)).toThrow(expect.objectContaining({ code: "bad_parameter" }));
  });
  it("concat and utf8", () => {
    expect(concat()).toEqual(new Uint8Array(0));
    expect(concat(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
    expect(utf8("é€")).toEqual(new Uint8Array([0xc3, 0xa9, 0xe2, 0x82, 0xac]));
    expect(() => concat([1] as unknown as Uint8Array)).toThrow(CryptoInputError);
  });
  it("constantTimeEqual compares content and length", () => {
    const a = new Uint8Array([1, 2, 3]);
    expect(constantTimeEqual(a, new Uint8Array([1, 2, 3]))).toBe(true);
    expect(constantTimeEqual(a, new Uint8Array([1, 2, 4]))).toBe(false);
    expect(constantTimeEqual(a, new Uint8Array([0, 2, 3]))).toBe(false);
    expect(constantTimeEqual(a, new Uint8Array([1, 2]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});

describe("hash", () => {
  it("SHA-256 and SHA-384 of 'abc' (FIPS 180-4 examples)", async () => {
    expect(toHex(await sha256(utf8("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(toHex(await sha384(utf8("abc")))).toBe(
      "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
    );
    await expect(sha256("abc" as unknown as Uint8Array)).rejects.toBeInstanceOf(CryptoInputError);
  });
});
