import { describe, expect, it } from "vitest";
import vectors from "../vectors/wycheproof/hkdf_sha256_test.json";
import rfc5869 from "../vectors/rfc5869.json";
import { expand as nobleExpand, extract as nobleExtract, hkdf as nobleHkdf } from "@noble/hashes/hkdf.js";
import { sha384 as nobleSha384 } from "@noble/hashes/sha2.js";
import {
  fromHex,
  hkdf,
  hkdfExpand,
  hkdfExtract,
  HKDF_MAX_LENGTH,
  HKDF_MAX_LENGTHS,
  randomBytes,
  toHex,
  type HkdfHash,
} from "../../functions/crypto";
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

/** A uniformly random integer in [min, max] (test inputs only). */
function randomInt(min: number, max: number): number {
  const [r] = crypto.getRandomValues(new Uint32Array(1));
  return min + (r! % (max - min + 1));
}

/**
 * No HKDF-SHA-384 vectors are in the shared set (Wycheproof has none; RFC 5869 is SHA-256 only),
 * so the SHA-384 paths are checked by agreement with noble's own HKDF over sha384 on random
 * inputs: hkdf() (WebCrypto HKDF), hkdfExtract() (WebCrypto HMAC-SHA-384) against noble's extract,
 * and hkdfExtract() + hkdfExpand() (noble's expand, from our PRK) against noble's hkdf.
 */
describe("HKDF-SHA-384 agrees with noble's hkdf(sha384) on random inputs", () => {
  const CASES = 400;
  it(`${CASES} random (ikm, salt, info, L), including empty salt/ikm/info and salts longer than the 128-byte block`, async () => {
    let agreed = 0;
    for (let i = 0; i < CASES; i++) {
      // Every 8th case has an empty salt (RFC 5869 §2.2: HashLen zeros), every 16th an empty IKM.
      const ikm = randomBytes(i % 16 === 3 ? 0 : randomInt(1, 96));
      const salt = randomBytes(i % 8 === 5 ? 0 : randomInt(1, 200));
      const info = randomBytes(i % 10 === 7 ? 0 : randomInt(1, 80));
      // Mostly short outputs (EDHOC keys, IVs, MACs), some long, and the two ends of the range.
      const length = i === 0 ? HKDF_MAX_LENGTHS["SHA-384"] : i === 1 ? 1 : i % 5 === 0 ? randomInt(1, 2000) : randomInt(1, 96);
      const where = `case ${i}: ikm ${toHex(ikm)}, salt ${toHex(salt)}, info ${toHex(info)}, L ${length}`;

      const expected = nobleHkdf(nobleSha384, ikm, salt, info, length);
      const prk = await hkdfExtract(salt, ikm, "SHA-384");
      expect(prk.length, where).toBe(48);
      expect(toHex(prk), `${where}: extract`).toBe(toHex(nobleExtract(nobleSha384, ikm, salt)));
      expect(toHex(await hkdfExpand(prk, info, length, "SHA-384")), `${where}: extract+expand`).toBe(toHex(expected));
      expect(toHex(await hkdf(ikm, salt, info, length, "SHA-384")), `${where}: hkdf`).toBe(toHex(expected));
      // And the expand step alone, from a random PRK of HashLen or more bytes.
      const rawPrk = randomBytes(randomInt(48, 100));
      expect(toHex(await hkdfExpand(rawPrk, info, length, "SHA-384")), `${where}: expand`).toBe(toHex(nobleExpand(nobleSha384, rawPrk, info, length)));
      agreed++;
    }
    console.log(`hkdf_sha384: ${agreed} random cases agree with noble (hkdf, extract, extract+expand, expand); ${CASES} cases`);
    expect(agreed).toBe(CASES);
  });

  it("SHA-384 differs from SHA-256 and the default is SHA-256", async () => {
    const [ikm, salt, info] = [randomBytes(32), randomBytes(16), randomBytes(8)];
    const d = await hkdf(ikm, salt, info, 48);
    expect(d).toEqual(await hkdf(ikm, salt, info, 48, "SHA-256"));
    expect(d).not.toEqual(await hkdf(ikm, salt, info, 48, "SHA-384"));
    expect((await hkdfExtract(salt, ikm)).length).toBe(32);
    expect(await hkdfExtract(salt, ikm, undefined)).toEqual(await hkdfExtract(salt, ikm, "SHA-256"));
  });
});

describe("HKDF-SHA-384 input checks", () => {
  const prk = new Uint8Array(48);
  it("refuses output lengths outside 1..12240", async () => {
    expect(HKDF_MAX_LENGTHS).toEqual({ "SHA-256": 8160, "SHA-384": 12240 });
    for (const n of [0, HKDF_MAX_LENGTHS["SHA-384"] + 1, 100000]) {
      await expect(hkdf(prk, prk, prk, n, "SHA-384")).rejects.toMatchObject({ code: "bad_length" });
      await expect(hkdfExpand(prk, prk, n, "SHA-384")).rejects.toMatchObject({ code: "bad_length" });
    }
    for (const n of [-1, 1.5, NaN, "48"]) {
      await expect(hkdf(prk, prk, prk, n as number, "SHA-384")).rejects.toMatchObject({ code: "bad_parameter" });
      await expect(hkdfExpand(prk, prk, n as number, "SHA-384")).rejects.toMatchObject({ code: "bad_parameter" });
    }
    expect((await hkdf(prk, prk, prk, HKDF_MAX_LENGTHS["SHA-384"], "SHA-384")).length).toBe(12240);
    expect((await hkdfExpand(prk, prk, HKDF_MAX_LENGTHS["SHA-384"], "SHA-384")).length).toBe(12240);
    // The SHA-256 limit is unchanged: 8161 bytes is refused there, allowed for SHA-384.
    await expect(hkdf(prk, prk, prk, HKDF_MAX_LENGTH + 1)).rejects.toMatchObject({ code: "bad_length" });
    expect((await hkdf(prk, prk, prk, HKDF_MAX_LENGTH + 1, "SHA-384")).length).toBe(HKDF_MAX_LENGTH + 1);
  });
  it("refuses a PRK shorter than HashLen (48 bytes)", async () => {
    await expect(hkdfExpand(new Uint8Array(47), new Uint8Array(0), 48, "SHA-384")).rejects.toMatchObject({ code: "bad_key_size" });
    await expect(hkdfExpand(new Uint8Array(0), new Uint8Array(0), 48, "SHA-384")).rejects.toMatchObject({ code: "bad_key_size" });
    // 47 bytes is enough for SHA-256.
    expect((await hkdfExpand(new Uint8Array(47), new Uint8Array(0), 32)).length).toBe(32);
  });
  it("treats an empty salt as 48 zero bytes and takes an empty IKM", async () => {
    const ikm = new Uint8Array(0);
    expect(await hkdfExtract(new Uint8Array(0), ikm, "SHA-384")).toEqual(await hkdfExtract(new Uint8Array(48), ikm, "SHA-384"));
    expect((await hkdf(ikm, new Uint8Array(0), new Uint8Array(0), 16, "SHA-384")).length).toBe(16);
  });
  it("refuses unknown hashes and non-bytes inputs", async () => {
    for (const bad of ["SHA-512", "SHA-1", "sha-384", "SHA384", 384, null]) {
      const hash = bad as unknown as HkdfHash;
      await expect(hkdf(prk, prk, prk, 32, hash)).rejects.toMatchObject({ code: "bad_parameter" });
      await expect(hkdfExtract(prk, prk, hash)).rejects.toMatchObject({ code: "bad_parameter" });
      await expect(hkdfExpand(prk, prk, 32, hash)).rejects.toMatchObject({ code: "bad_parameter" });
    }
    await expect(hkdfExtract("salt" as unknown as Uint8Array, prk, "SHA-384")).rejects.toMatchObject({ code: "bad_parameter" });
    await expect(hkdfExpand(prk, null as unknown as Uint8Array, 48, "SHA-384")).rejects.toMatchObject({ code: "bad_parameter" });
    await expect(hkdf(prk, prk, [1] as unknown as Uint8Array, 48, "SHA-384")).rejects.toMatchObject({ code: "bad_parameter" });
  });
});
