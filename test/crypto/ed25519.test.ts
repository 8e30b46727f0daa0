import { describe, expect, it } from "vitest";
import vectors from "../vectors/wycheproof/ed25519_test.json";
import { fromHex, verifyEd25519 } from "../../functions/crypto";
import { attempt, describeOutcome, Tally, type WycheproofFile, type WycheproofTest } from "./wycheproof";

interface EddsaTest extends WycheproofTest {
  msg: string;
  sig: string;
}
const file = vectors as unknown as WycheproofFile<{ publicKey: { pk: string }; tests: EddsaTest[] }>;

describe("Ed25519 verify against Wycheproof ed25519_test.json", () => {
  it("runs every case", async () => {
    const tally = new Tally("ed25519");
    for (const g of file.testGroups) {
      const pk = fromHex(g.publicKey.pk);
      for (const t of g.tests) {
        const o = await attempt(() => verifyEd25519(pk, fromHex(t.msg), fromHex(t.sig)));
        const expected = t.result === "valid";
        if (o.ok && o.value === expected) tally.add(expected ? "valid ok" : "invalid rejected");
        else tally.fail(t, `expected ${expected}, ${describeOutcome(o)}`);
      }
    }
    tally.report(file.numberOfTests);
  });
});

describe("Ed25519 API", () => {
  // RFC 8032 §7.1 TEST 1 (empty message).
  const pk = fromHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const sig = fromHex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  );
  it("verifies RFC 8032 test 1 and answers false for malformed signatures", async () => {
    const empty = new Uint8Array(0);
    expect(await verifyEd25519(pk, empty, sig)).toBe(true);
    expect(await verifyEd25519(pk, new Uint8Array(1), sig)).toBe(false);
    for (const s of [sig.subarray(0, 63), new Uint8Array([...sig, 0]), new Uint8Array(0)]) {
      expect(await verifyEd25519(pk, empty, s)).toBe(false);
    }
    expect(await verifyEd25519(pk, empty, null as unknown as Uint8Array)).toBe(false);
  });
  it("refuses public keys of the wrong length or that do not decode (RFC 8032 §5.1.3)", async () => {
    const empty = new Uint8Array(0);
    await expect(verifyEd25519(pk.subarray(1), empty, sig)).rejects.toMatchObject({ code: "bad_public_key" });
    // y = p (non-canonical) and y = 2 (no x exists) are not points.
    const yIsP = fromHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    const noX = fromHex("0200000000000000000000000000000000000000000000000000000000000000");
    for (const bad of [yIsP, noX]) {
      await expect(verifyEd25519(bad, empty, sig)).rejects.toMatchObject({ code: "bad_public_key" });
    }
  });
});
