import { describe, expect, it } from "vitest";
import vectors from "../vectors/wycheproof/aes_gcm_test.json";
import { CryptoInputError, CryptoVerifyError, fromHex, importAesKey, open, seal, toHex } from "../../functions/crypto";
import { attempt, describeOutcome, isInputError, isVerifyError, label, Tally, type WycheproofFile, type WycheproofTest } from "./wycheproof";

interface AeadTest extends WycheproofTest {
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
}
interface AeadGroup {
  ivSize: number;
  keySize: number;
  tagSize: number;
  tests: AeadTest[];
}
const file = vectors as unknown as WycheproofFile<AeadGroup>;

/** Parameter policy of aead.ts: 12-byte IVs only, 12- or 16-byte tags. */
const refusedByPolicy = (g: AeadGroup) => g.ivSize !== 96 || (g.tagSize !== 96 && g.tagSize !== 128);

describe("AES-GCM against Wycheproof aes_gcm_test.json", () => {
  it("runs every case", async () => {
    const tally = new Tally("aes_gcm");
    for (const g of file.testGroups) {
      const tagLength = g.tagSize / 8;
      for (const t of g.tests) {
        const [key, iv, aad, msg] = [fromHex(t.key), fromHex(t.iv), fromHex(t.aad), fromHex(t.msg)];
        const sealed = fromHex(t.ct + t.tag);
        if (refusedByPolicy(g)) {
          // Refused before any cryptography, whatever Wycheproof's verdict: both directions.
          const s = await attempt(() => seal(key, iv, msg, aad, tagLength));
          const o = await attempt(() => open(key, iv, sealed, aad, tagLength));
          const code = g.ivSize !== 96 ? "bad_length" : "bad_parameter";
          if (!s.ok && isInputError(s.error, code) && !o.ok && isInputError(o.error, code)) tally.addRefused(t);
          else tally.fail(t, `expected CryptoInputError(${code}); seal ${describeOutcome(s)}, open ${describeOutcome(o)}`);
          continue;
        }
        if (t.result === "valid") {
          const s = await attempt(() => seal(key, iv, msg, aad, tagLength));
          const o = await attempt(() => open(key, iv, sealed, aad, tagLength));
          // The cached-CryptoKey path must agree with the raw-key path.
          const ck = await importAesKey(key);
          const o2 = await attempt(() => open(ck, iv, sealed, aad, tagLength));
          const good = s.ok && toHex(s.value) === t.ct + t.tag && o.ok && toHex(o.value) === t.msg && o2.ok && toHex(o2.value) === t.msg;
          if (good) tally.add("valid ok");
          else tally.fail(t, `seal ${describeOutcome(s, toHex)}, open ${describeOutcome(o, toHex)}, open(CryptoKey) ${describeOutcome(o2, toHex)}`);
        } else {
          const o = await attempt(() => open(key, iv, sealed, aad, tagLength));
          if (!o.ok && isVerifyError(o.error)) tally.add("invalid rejected");
          else tally.fail(t, `expected CryptoVerifyError, open ${describeOutcome(o, toHex)}`);
        }
      }
    }
    tally.report(file.numberOfTests);
  });
});

describe("AES-GCM input checks", () => {
  const key = new Uint8Array(16);
  const iv = new Uint8Array(12);
  const msg = new Uint8Array(5);

  it("refuses key sizes other than 16/24/32", async () => {
    for (const n of [0, 15, 17, 20, 31, 33, 64]) {
      await expect(seal(new Uint8Array(n), iv, msg)).rejects.toMatchObject({ name: "CryptoInputError", code: "bad_key_size" });
      await expect(importAesKey(new Uint8Array(n))).rejects.toMatchObject({ code: "bad_key_size" });
    }
  });

  it("refuses IVs other than 12 bytes and tags other than 12/16", async () => {
    for (const n of [0, 8, 11, 13, 16]) {
      await expect(seal(key, new Uint8Array(n), msg)).rejects.toMatchObject({ code: "bad_length" });
    }
    for (const tl of [0, 4, 8, 13, 15, 17, 128, 96, 12.5]) {
      await expect(seal(key, iv, msg, undefined, tl)).rejects.toMatchObject({ code: "bad_parameter" });
      await expect(open(key, iv, new Uint8Array(32), undefined, tl)).rejects.toMatchObject({ code: "bad_parameter" });
    }
  });

  it("refuses non-bytes arguments and a sealed input shorter than the tag", async () => {
    await expect(seal(key, iv, "text" as unknown as Uint8Array)).rejects.toBeInstanceOf(CryptoInputError);
    await expect(seal(key, iv, msg, [1, 2] as unknown as Uint8Array)).rejects.toMatchObject({ code: "bad_parameter" });
    await expect(seal({} as CryptoKey, iv, msg)).rejects.toMatchObject({ code: "bad_parameter" });
    await expect(open(key, iv, new Uint8Array(15))).rejects.toMatchObject({ code: "bad_length" });
    await expect(open(key, iv, new Uint8Array(11), undefined, 12)).rejects.toMatchObject({ code: "bad_length" });
  });

  it("refuses a CryptoKey of another algorithm or without the usage", async () => {
    const hmac = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    await expect(seal(hmac, iv, msg)).rejects.toMatchObject({ code: "bad_parameter" });
    const encOnly = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
    await expect(open(encOnly, iv, await seal(encOnly, iv, msg))).rejects.toMatchObject({ code: "bad_parameter" });
  });

  it("round-trips with 12- and 16-byte tags and rejects any change", async () => {
    const k = await importAesKey(new Uint8Array(32).fill(7));
    for (const tl of [12, 16]) {
      const aad = new Uint8Array([1, 2, 3]);
      const sealed = await seal(k, iv, msg, aad, tl);
      expect(sealed.length).toBe(msg.length + tl);
      expect(await open(k, iv, sealed, aad, tl)).toEqual(msg);
      const bad = sealed.slice();
      bad[bad.length - 1]! ^= 1;
      await expect(open(k, iv, bad, aad, tl)).rejects.toBeInstanceOf(CryptoVerifyError);
      await expect(open(k, iv, sealed, new Uint8Array(0), tl)).rejects.toBeInstanceOf(CryptoVerifyError);
    }
  });

  it("does not leak key bytes in error messages", async () => {
    const secret = new Uint8Array(20).fill(0xab);
    const e = await seal(secret, iv, msg).catch((x: Error) => x);
    expect(String((e as Error).message)).not.toMatch(/ab|171/);
  });

  it("labels cases", () => {
    expect(label({ tcId: 1, comment: "c", flags: ["F"], result: "valid" })).toBe("tc 1 (c) [F] valid");
  });
});
