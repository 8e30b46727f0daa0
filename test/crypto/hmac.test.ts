import { describe, expect, it } from "vitest";
import vectors from "../vectors/wycheproof/hmac_sha256_test.json";
import { fromHex, hmacSha256, hmacSha256Verify, toHex } from "../../functions/crypto";
import { attempt, describeOutcome, Tally, type WycheproofFile, type WycheproofTest } from "./wycheproof";

interface MacTest extends WycheproofTest {
  key: string;
  msg: string;
  tag: string;
}
const file = vectors as unknown as WycheproofFile<{ keySize: number; tagSize: number; tests: MacTest[] }>;

describe("HMAC-SHA-256 against Wycheproof hmac_sha256_test.json", () => {
  it("runs every case", async () => {
    // The file's tag sizes are 32 and 16 bytes, both inside hmacSha256Verify's policy (16..32),
    // so no case is refused by parameter policy.
    const tally = new Tally("hmac_sha256");
    for (const g of file.testGroups) {
      const tagLength = g.tagSize / 8;
      for (const t of g.tests) {
        const [key, msg, tag] = [fromHex(t.key), fromHex(t.msg), fromHex(t.tag)];
        const ver = await attempt(() => hmacSha256Verify(key, msg, tag));
        if (t.result === "valid") {
          const mac = await attempt(() => hmacSha256(key, msg));
          if (mac.ok && toHex(mac.value.subarray(0, tagLength)) === t.tag && ver.ok && ver.value === true) tally.add("valid ok");
          else tally.fail(t, `hmac ${describeOutcome(mac, toHex)}, verify ${describeOutcome(ver)}`);
        } else {
          if (ver.ok && ver.value === false) tally.add("invalid rejected");
          else tally.fail(t, `expected verify false, ${describeOutcome(ver)}`);
        }
      }
    }
    tally.report(file.numberOfTests);
  });
});

describe("HMAC input checks", () => {
  const key = new Uint8Array(32).fill(1);
  const data = new Uint8Array(10);
  it("verifies full and truncated (>= 16 bytes) tags, refuses shorter or longer ones", async () => {
    const mac = await hmacSha256(key, data);
    for (const n of [16, 20, 31, 32]) expect(await hmacSha256Verify(key, data, mac.subarray(0, n))).toBe(true);
    for (const n of [0, 1, 8, 12, 15]) {
      await expect(hmacSha256Verify(key, data, mac.subarray(0, n))).rejects.toMatchObject({ code: "bad_length" });
    }
    await expect(hmacSha256Verify(key, data, new Uint8Array(33))).rejects.toMatchObject({ code: "bad_length" });
    const wrong = mac.slice(0, 16);
    wrong[15]! ^= 1;
    expect(await hmacSha256Verify(key, data, wrong)).toBe(false);
  });
  it("refuses an empty key and non-bytes", async () => {
    await expect(hmacSha256(new Uint8Array(0), data)).rejects.toMatchObject({ code: "bad_key_size" });
    await expect(hmacSha256(key, "x" as unknown as Uint8Array)).rejects.toMatchObject({ code: "bad_parameter" });
    await expect(hmacSha256Verify(key, data, "x" as unknown as Uint8Array)).rejects.toMatchObject({ code: "bad_parameter" });
  });
  it("matches RFC 4231 test case 2", async () => {
    const tag = await hmacSha256(new TextEncoder().encode("Jefe"), new TextEncoder().encode("what do ya want for nothing?"));
    expect(toHex(tag)).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });
});
