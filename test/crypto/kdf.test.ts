import { describe, expect, it } from "vitest";
import vectors from "../vectors/wycheproof/hkdf_sha256_test.json";
import rfc5869 from "../vectors/rfc5869.json";
import { fromHex, hkdf, hkdfExpand, hkdfExtract, HKDF_MAX_LENGTH, toHex } from "../../functions/crypto";
import { attempt, describeOutcome, isInputError, Tally, type WycheproofFile, type WycheproofTest } from "./wycheproof";

interface HkdfTest extends WycheproofTest {
  ikm: string;
  salt: string;
  info: string;
  size: number;
  okm: string;
}
const file = vectors as unknown as WycheproofFile<{ keySize: number; tests: HkdfTest[] }>;

describe("HKDF-SHA-256 against Wycheproof hkdf_sha256_test.json", () => {
  it("runs every case through hkdf() and through hkdfExtract() + hkdfExpand()", async () => {
    const tally = new Tally("hkdf_sha256");
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        const [ikm, salt, info] = [fromHex(t.ikm), fromHex(t.salt), fromHex(t.info)];
        const native = await attempt(() => hkdf(ikm, salt, info, t.size));
        const split = await attempt(async () => hkdfExpand(await hkdfExtract(salt, ikm), info, t.size));
        if (t.result === "valid") {
          if (native.ok && toHex(native.value) === t.okm && split.ok && toHex(split.value) === t.okm) tally.add("valid ok");
          else tally.fail(t, `hkdf ${describeOutcome(native, toHex)}, extract+expand ${describeOutcome(split, toHex)}`);
        } else {
          // The only invalid cases ask for more than 255 * 32 bytes (SizeTooLarge).
          if (!native.ok && isInputError(native.error, "bad_length") && !split.ok && isInputError(split.error, "bad_length")) {
            tally.add("invalid rejected");
          } else tally.fail(t, `hkdf ${describeOutcome(native, toHex)}, extract+expand ${describeOutcome(split, toHex)}`);
        }
      }
    }
    tally.report(file.numberOfTests);
  });
});

describe("HKDF-SHA-256 against RFC 5869 Appendix A", () => {
  it("reproduces PRK and OKM of test cases 1-3", async () => {
    for (const v of rfc5869.vectors) {
      const [ikm, salt, info] = [fromHex(v.ikm), fromHex(v.salt), fromHex(v.info)];
      const prk = await hkdfExtract(salt, ikm);
      expect(toHex(prk), `A.${v.testCase} PRK`).toBe(v.prk);
      expect(toHex(await hkdfExpand(prk, info, v.L)), `A.${v.testCase} OKM (expand)`).toBe(v.okm);
      expect(toHex(await hkdf(ikm, salt, info, v.L)), `A.${v.testCase} OKM (hkdf)`).toBe(v.okm);
    }
    console.log(`rfc5869: ${rfc5869.vectors.length} test cases ok (PRK, OKM by expand and by hkdf)`);
  });
});

describe("HKDF input checks", () => {
  const prk = new Uint8Array(32);
  it("refuses output lengths outside 1..8160", async () => {
    for (const n of [0, HKDF_MAX_LENGTH + 1, 100000]) {
      await expect(hkdf(prk, prk, prk, n)).rejects.toMatchObject({ code: "bad_length" });
      await expect(hkdfExpand(prk, prk, n)).rejects.toMatchObject({ code: "bad_length" });
    }
    for (const n of [-1, 1.5, NaN, "32"]) {
      await expect(hkdf(prk, prk, prk, n as number)).rejects.toMatchObject({ code: "bad_parameter" });
    }
    expect((await hkdf(prk, prk, prk, HKDF_MAX_LENGTH)).length).toBe(HKDF_MAX_LENGTH);
  });
  it("refuses a PRK shorter than HashLen", async () => {
    await expect(hkdfExpand(new Uint8Array(31), new Uint8Array(0), 32)).rejects.toMatchObject({ code: "bad_key_size" });
  });
  it("treats an empty salt as 32 zero bytes and takes an empty IKM", async () => {
    const ikm = new Uint8Array(0);
    expect(await hkdfExtract(new Uint8Array(0), ikm)).toEqual(await hkdfExtract(new Uint8Array(32), ikm));
    expect((await hkdf(ikm, new Uint8Array(0), new Uint8Array(0), 16)).length).toBe(16);
  });
  it("refuses non-bytes inputs", async () => {
    await expect(hkdfExtract("salt" as unknown as Uint8Array, prk)).rejects.toMatchObject({ code: "bad_parameter" });
    await expect(hkdfExpand(prk, null as unknown as Uint8Array, 32)).rejects.toMatchObject({ code: "bad_parameter" });
  });
});
