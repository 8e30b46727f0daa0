import { describe, expect, it } from "vitest";
import p256Vectors from "../vectors/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json";
import p384Vectors from "../vectors/wycheproof/ecdsa_secp384r1_sha384_p1363_test.json";
import { fromHex, generateSigningKeyPair, sign, verify, type SigningCurve } from "../../functions/crypto";
import { attempt, describeOutcome, Tally, type WycheproofFile, type WycheproofTest } from "./wycheproof";

interface SigTest extends WycheproofTest {
  msg: string;
  sig: string;
}
interface SigGroup {
  publicKey: { curve: string; uncompressed: string };
  sha: string;
  tests: SigTest[];
}

async function runFile(name: string, curve: SigningCurve, vectors: unknown) {
  const file = vectors as WycheproofFile<SigGroup>;
  const tally = new Tally(name);
  for (const g of file.testGroups) {
    const pk = fromHex(g.publicKey.uncompressed);
    for (const t of g.tests) {
      const o = await attempt(() => verify(curve, pk, fromHex(t.msg), fromHex(t.sig)));
      // verify never throws for a bad signature: valid -> true, invalid -> false.
      const expected = t.result === "valid";
      if (o.ok && o.value === expected) tally.add(expected ? "valid ok" : "invalid rejected");
      else tally.fail(t, `expected ${expected}, ${describeOutcome(o)}`);
    }
  }
  tally.report(file.numberOfTests);
}

describe("ECDSA verify against Wycheproof (P1363 signatures)", () => {
  it("ecdsa_secp256r1_sha256_p1363_test.json", () => runFile("ecdsa_secp256r1_sha256_p1363", "P-256", p256Vectors));
  it("ecdsa_secp384r1_sha384_p1363_test.json", () => runFile("ecdsa_secp384r1_sha384_p1363", "P-384", p384Vectors));
});

describe("ECDSA API", () => {
  const msg = new TextEncoder().encode("load-shed program 7, epoch 12");
  for (const [curve, size] of [["P-256", 32], ["P-384", 48]] as const) {
    it(`${curve}: generate, sign, verify; tampering fails`, async () => {
      const { privateKey, publicKey } = await generateSigningKeyPair(curve);
      expect(privateKey.length).toBe(size);
      expect(publicKey.length).toBe(1 + 2 * size);
      const sig = await sign(curve, privateKey, msg);
      expect(sig.length).toBe(2 * size);
      expect(await verify(curve, publicKey, msg, sig)).toBe(true);
      const compressed = new Uint8Array([2 + (publicKey[2 * size]! & 1), ...publicKey.subarray(1, 1 + size)]);
      expect(await verify(curve, compressed, msg, sig)).toBe(true);
      expect(await verify(curve, publicKey, msg.subarray(1), sig)).toBe(false);
      const bad = sig.slice();
      bad[5]! ^= 1;
      expect(await verify(curve, publicKey, msg, bad)).toBe(false);
    });
    it(`${curve}: malformed signatures are false, never a throw`, async () => {
      const { publicKey } = await generateSigningKeyPair(curve);
      for (const s of [new Uint8Array(0), new Uint8Array(2 * size - 1), new Uint8Array(2 * size + 1), new Uint8Array(2 * size), new Uint8Array(2 * size).fill(0xff)]) {
        expect(await verify(curve, publicKey, msg, s)).toBe(false);
      }
      expect(await verify(curve, publicKey, msg, "sig" as unknown as Uint8Array)).toBe(false);
    });
  }
  it("malformed public keys, wrong-curve keys, bad curves and bad scalars are CryptoInputError", async () => {
    const p256 = await generateSigningKeyPair("P-256");
    const p384 = await generateSigningKeyPair("P-384");
    const sig = await sign("P-256", p256.privateKey, msg);
    const offCurve = p256.publicKey.slice();
    offCurve[64]! ^= 1;
    await expect(verify("P-256", offCurve, msg, sig)).rejects.toMatchObject({ code: "bad_public_key" });
    await expect(verify("P-256", p384.publicKey, msg, sig)).rejects.toMatchObject({ code: "bad_public_key" });
    await expect(verify("P-384", p256.publicKey, msg, sig)).rejects.toMatchObject({ code: "bad_public_key" });
    await expect(verify("P-256", new Uint8Array([0]), msg, sig)).rejects.toMatchObject({ code: "bad_public_key" });
    await expect(verify("P-521" as SigningCurve, p256.publicKey, msg, sig)).rejects.toMatchObject({ code: "bad_parameter" });
    await expect(sign("secp256k1" as SigningCurve, p256.privateKey, msg)).rejects.toMatchObject({ code: "bad_parameter" });
    await expect(sign("P-384", p256.privateKey, msg)).rejects.toMatchObject({ code: "bad_key_size" });
    await expect(sign("P-256", new Uint8Array(32), msg)).rejects.toMatchObject({ code: "bad_private_key" });
    await expect(generateSigningKeyPair("P-224" as SigningCurve)).rejects.toMatchObject({ code: "bad_parameter" });
  });
});
