import { describe, expect, it } from "vitest";
import vectors from "../vectors/wycheproof/aes_wrap_test.json";
import rfc3394 from "../vectors/rfc3394.json";
import { CryptoVerifyError, fromHex, toHex, unwrap, wrap, wrapUnderEach } from "../../functions/crypto";
import { attempt, describeOutcome, isInputError, isVerifyError, Tally, type WycheproofFile, type WycheproofTest } from "./wycheproof";

interface KwTest extends WycheproofTest {
  key: string;
  msg: string;
  ct: string;
}
interface KwGroup {
  keySize: number;
  tests: KwTest[];
}
const file = vectors as unknown as WycheproofFile<KwGroup>;

/** key-wrap.ts takes key data of 16 bytes or more in whole 8-byte semiblocks. */
const keyDataAllowed = (n: number) => n >= 16 && n % 8 === 0;

describe("AES-KW against Wycheproof aes_wrap_test.json", () => {
  it("runs every case", async () => {
    const tally = new Tally("aes_wrap");
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        const [kek, msg, ct] = [fromHex(t.key), fromHex(t.msg), fromHex(t.ct)];
        const w = await attempt(() => wrap(kek, msg));
        const u = await attempt(() => unwrap(kek, ct));
        if (t.result === "valid") {
          if (w.ok && toHex(w.value) === t.ct && u.ok && toHex(u.value) === t.msg) tally.add("valid ok");
          else tally.fail(t, `wrap ${describeOutcome(w, toHex)}, unwrap ${describeOutcome(u, toHex)}`);
        } else if (t.result === "acceptable") {
          // Decision (flag ShortKey, 8-byte key data, RFC 3394's one-block case): refused by the
          // parameter policy, as SP 800-38F KW is defined for n >= 2 semiblocks only (workerd's
          // AES-KW refuses it as well). Both directions must be CryptoInputError "bad_length".
          const refused = !w.ok && isInputError(w.error, "bad_length") && !u.ok && isInputError(u.error, "bad_length");
          if (t.flags.includes("ShortKey") && refused) tally.addRefused(t);
          else tally.fail(t, `expected ShortKey refused both ways; wrap ${describeOutcome(w, toHex)}, unwrap ${describeOutcome(u, toHex)}`);
        } else {
          // Unwrap must fail: CryptoVerifyError when the length is legal (integrity check), else
          // CryptoInputError. Wrap must refuse a msg of illegal length, or produce something else than ct.
          const unwrapOk = !u.ok && (keyDataAllowed(ct.length - 8) ? isVerifyError(u.error) : isInputError(u.error, "bad_length"));
          const wrapOk = keyDataAllowed(msg.length) ? w.ok && toHex(w.value) !== t.ct : !w.ok && isInputError(w.error, "bad_length");
          if (unwrapOk && wrapOk) tally.add("invalid rejected");
          else tally.fail(t, `wrap ${describeOutcome(w, toHex)}, unwrap ${describeOutcome(u, toHex)}`);
        }
      }
    }
    tally.report(file.numberOfTests);
  });
});

describe("AES-KW against RFC 3394 §4", () => {
  it("reproduces all six vectors both ways", async () => {
    for (const v of rfc3394.vectors) {
      const [kek, key, wrapped] = [fromHex(v.kek), fromHex(v.key), fromHex(v.wrapped)];
      expect(toHex(await wrap(kek, key)), `§${v.section}`).toBe(v.wrapped.toLowerCase());
      expect(toHex(await unwrap(kek, wrapped)), `§${v.section}`).toBe(v.key.toLowerCase());
    }
    console.log(`rfc3394: ${rfc3394.vectors.length} vectors ok both ways`);
  });
  it("wrapUnderEach gives, KEK by KEK, what wrap gives (the vectors sharing key data, in one call)", async () => {
    const byKey = new Map<string, { kek: string; wrapped: string }[]>();
    for (const v of rfc3394.vectors) byKey.set(v.key, [...(byKey.get(v.key) ?? []), { kek: v.kek, wrapped: v.wrapped }]);
    expect([...byKey.values()].some((vs) => vs.length > 1)).toBe(true);
    for (const [key, vs] of byKey) {
      const out = await wrapUnderEach(vs.map((v) => fromHex(v.kek)), fromHex(key));
      expect(out.map(toHex)).toEqual(vs.map((v) => v.wrapped.toLowerCase()));
    }
    expect(await wrapUnderEach([], new Uint8Array(16))).toEqual([]);
    await expect(wrapUnderEach([new Uint8Array(16), new Uint8Array(15)], new Uint8Array(16))).rejects.toMatchObject({ code: "bad_key_size" });
    await expect(wrapUnderEach([new Uint8Array(16)], new Uint8Array(12))).rejects.toMatchObject({ code: "bad_length" });
  });
});

describe("AES-KW input checks", () => {
  const kek = new Uint8Array(16);
  it("refuses KEK sizes other than 16/24/32", async () => {
    for (const n of [0, 8, 15, 17, 31, 33]) {
      await expect(wrap(new Uint8Array(n), new Uint8Array(16))).rejects.toMatchObject({ code: "bad_key_size" });
      await expect(unwrap(new Uint8Array(n), new Uint8Array(24))).rejects.toMatchObject({ code: "bad_key_size" });
    }
  });
  it("refuses key data shorter than 16 bytes or not in 8-byte blocks", async () => {
    for (const n of [0, 1, 7, 8, 15, 17, 20, 33]) {
      await expect(wrap(kek, new Uint8Array(n))).rejects.toMatchObject({ code: "bad_length" });
    }
    for (const n of [0, 8, 16, 23, 25, 31]) {
      await expect(unwrap(kek, new Uint8Array(n))).rejects.toMatchObject({ code: "bad_length" });
    }
    await expect(wrap(kek, "k" as unknown as Uint8Array)).rejects.toMatchObject({ code: "bad_parameter" });
  });
  it("wraps long key data (e.g. 40 bytes) and detects tampering", async () => {
    const data = Uint8Array.from({ length: 40 }, (_, i) => i);
    const w = await wrap(kek, data);
    expect(w.length).toBe(48);
    expect(await unwrap(kek, w)).toEqual(data);
    w[10]! ^= 0x80;
    await expect(unwrap(kek, w)).rejects.toBeInstanceOf(CryptoVerifyError);
    await expect(unwrap(new Uint8Array(16).fill(1), await wrap(kek, data))).rejects.toBeInstanceOf(CryptoVerifyError);
  });
});
