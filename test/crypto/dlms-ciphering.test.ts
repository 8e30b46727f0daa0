import { describe, expect, it } from "vitest";
import { CryptoVerifyError, fromHex, openGloCiphering, sealGloCiphering, toHex } from "../../functions/crypto";
import { WireError } from "../../wire/axdr";
import { decodeGloCiphering } from "../../wire/glo-ciphering";
import vectors from "../vectors/dlms/glo_ciphering.json";

// Expected APDUs were computed by Python `cryptography` (test/vectors/dlms/make_glo_ciphering.py).
describe("DLMS general-glo-ciphering against independent vectors", () => {
  for (const v of vectors.cases) {
    const keys = { ek: fromHex(v.ek), ak: fromHex(v.ak) };
    const header = { systemTitle: fromHex(v.systemTitle), securityControl: v.securityControl, invocationCounter: v.invocationCounter };

    it(`seals: ${v.comment}`, async () => {
      expect(toHex(await sealGloCiphering(header, keys, fromHex(v.plaintext)))).toBe(v.apdu);
    });

    it(`opens: ${v.comment}`, async () => {
      const frame = decodeGloCiphering(fromHex(v.apdu));
      expect(frame).toMatchObject({ securityControl: v.securityControl, invocationCounter: v.invocationCounter });
      expect(toHex(frame.systemTitle)).toBe(v.systemTitle);
      expect(toHex(await openGloCiphering(frame, keys))).toBe(v.plaintext);
    });

    if (v.securityControl & 0x10) {
      it(`refuses a flipped bit: ${v.comment}`, async () => {
        for (const at of [15, fromHex(v.apdu).length - 1]) {
          const apdu = fromHex(v.apdu);
          apdu[at]! ^= 0x01;
          await expect(openGloCiphering(decodeGloCiphering(apdu), keys)).rejects.toBeInstanceOf(CryptoVerifyError);
        }
        const wrongAk = { ...keys, ak: keys.ak.map((b) => b ^ 0xff) };
        await expect(openGloCiphering(decodeGloCiphering(fromHex(v.apdu)), wrongAk)).rejects.toBeInstanceOf(CryptoVerifyError);
      });
    }
  }

  it("reproduces the Green Book's ciphered get-request", () => {
    const gb = vectors.cases[0]!;
    expect(gb.apdu.slice(32)).toBe("411312ff935a47566827c467bc7d825c3be4a77c3fcc056b6b");
  });

  it("refuses malformed framing and unsupported security control bytes", () => {
    const good = fromHex(vectors.cases[0]!.apdu);
    const cases = [good.slice(0, 9), Uint8Array.of(0xdc, ...good.slice(1)), good.slice(0, good.length - 1), Uint8Array.of(...good, 0)];
    for (const apdu of cases) expect(() => decodeGloCiphering(apdu)).toThrow(WireError);
    for (const sc of [0x00, 0x03, 0xb0]) {
      const apdu = fromHex(vectors.cases[0]!.apdu);
      apdu[11] = sc;
      expect(() => decodeGloCiphering(apdu)).toThrow(WireError);
    }
  });
});
