/**
 * sdk/dlms.ts (noble) against the independent known-answer vectors (Python `cryptography`,
 * test/vectors/dlms/make_glo_ciphering.py) and against the service's WebCrypto version.
 */
import { describe, expect, it } from "vitest";
import { fromHex, openGloCiphering as serviceOpen, randomBytes, sealGloCiphering as serviceSeal, toHex } from "../../functions/crypto";
import { decodeGloCiphering } from "../../wire/glo-ciphering";
import { openGloCiphering, openGloCipheringApdu, scAuthenticatedEncrypted, sealGloCiphering } from "../../sdk/dlms";
import vectors from "../vectors/dlms/glo_ciphering.json";
import { codeOf } from "../helpers/sdk-errors";


describe("sdk/dlms.ts against the glo-ciphering vectors", () => {
  for (const v of vectors.cases) {
    const keys = { ek: fromHex(v.ek), ak: fromHex(v.ak) };
    const header = { systemTitle: fromHex(v.systemTitle), securityControl: v.securityControl, invocationCounter: v.invocationCounter };

    it(`seals: ${v.comment}`, () => {
      expect(toHex(sealGloCiphering(header, keys, fromHex(v.plaintext)))).toBe(v.apdu);
    });

    it(`opens: ${v.comment}`, () => {
      const opened = openGloCipheringApdu(fromHex(v.apdu), keys);
      expect(toHex(opened.plaintext)).toBe(v.plaintext);
      expect(opened.header).toMatchObject({ securityControl: v.securityControl, invocationCounter: v.invocationCounter });
      expect(toHex(opened.header.systemTitle)).toBe(v.systemTitle);
    });

    if (v.securityControl & 0x10) {
      it(`refuses tampering and a wrong key: ${v.comment}`, () => {
        // A bit in the system title (part of the IV), in the body, and in the tag.
        for (const at of [5, 17, fromHex(v.apdu).length - 1]) {
          const apdu = fromHex(v.apdu);
          apdu[at]! ^= 0x01;
          expect(codeOf(() => openGloCipheringApdu(apdu, keys))).toBe("decryption_failed");
        }
        const wrongAk = { ...keys, ak: keys.ak.map((b) => b ^ 0xff) };
        expect(codeOf(() => openGloCipheringApdu(fromHex(v.apdu), wrongAk))).toBe("decryption_failed");
        const wrongEk = { ...keys, ek: keys.ek.map((b) => b ^ 0x01) };
        expect(codeOf(() => openGloCipheringApdu(fromHex(v.apdu), wrongEk))).toBe("decryption_failed");
      });
    }
  }

  it("covers every protection mode and both AES key sizes", () => {
    expect(new Set(vectors.cases.map((c) => c.securityControl))).toEqual(new Set([0x30, 0x10, 0x20, 0x32, 0x12, 0x22]));
  });
});

describe("sdk/dlms.ts and the service's WebCrypto version interoperate", () => {
  for (const suite of [0, 1, 2] as const) {
    for (const mode of [0x30, 0x10, 0x20]) {
      const sc = mode | suite;
      it(`security control 0x${sc.toString(16)}`, async () => {
        const n = suite === 2 ? 32 : 16;
        const keys = { ek: randomBytes(n), ak: randomBytes(n) };
        const header = { systemTitle: randomBytes(8), securityControl: sc, invocationCounter: 0xfffffffe };
        for (const length of [0, 1, 16, 33, 300]) {
          const plaintext = randomBytes(length);
          const ours = sealGloCiphering(header, keys, plaintext);
          expect(toHex(ours)).toBe(toHex(await serviceSeal(header, keys, plaintext)));
          expect(toHex(await serviceOpen(decodeGloCiphering(ours), keys))).toBe(toHex(plaintext));
          expect(toHex(openGloCiphering(decodeGloCiphering(ours), keys))).toBe(toHex(plaintext));
        }
      });
    }
  }
});

describe("sdk/dlms.ts refuses bad input with typed errors", () => {
  const v = vectors.cases[0]!;
  const keys = { ek: fromHex(v.ek), ak: fromHex(v.ak) };
  const header = { systemTitle: fromHex(v.systemTitle), securityControl: v.securityControl, invocationCounter: v.invocationCounter };

  it("keys must have the suite's length", () => {
    expect(codeOf(() => sealGloCiphering({ ...header, securityControl: 0x32 }, keys, new Uint8Array(4)))).toBe("bad_parameter");
    expect(codeOf(() => sealGloCiphering(header, { ...keys, ak: new Uint8Array(15) }, new Uint8Array(4)))).toBe("bad_parameter");
  });

  it("framing faults are bad_apdu", () => {
    const good = fromHex(v.apdu);
    for (const apdu of [good.slice(0, 9), Uint8Array.of(0xdc, ...good.slice(1)), good.slice(0, -1), Uint8Array.of(...good, 0)]) {
      expect(codeOf(() => openGloCipheringApdu(apdu, keys))).toBe("bad_apdu");
    }
    for (const sc of [0x00, 0x03, 0xb0]) expect(codeOf(() => sealGloCiphering({ ...header, securityControl: sc }, keys, new Uint8Array(4)))).toBe("bad_apdu");
    expect(codeOf(() => sealGloCiphering({ ...header, invocationCounter: 2 ** 32 }, keys, new Uint8Array(4)))).toBe("bad_apdu");
  });

  it("a body shorter than the tag is bad_apdu, not a forgery", () => {
    const apdu = sealGloCiphering({ ...header, securityControl: 0x20 }, keys, new Uint8Array(4));
    apdu[11] = 0x30; // claim authentication on a 4-byte body
    expect(codeOf(() => openGloCipheringApdu(apdu, keys))).toBe("bad_apdu");
  });

  it("names the default security control byte per suite", () => {
    expect([0, 1, 2].map((s) => scAuthenticatedEncrypted(s as 0 | 1 | 2))).toEqual([0x30, 0x31, 0x32]);
  });
});
