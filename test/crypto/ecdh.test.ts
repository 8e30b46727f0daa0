import { describe, expect, it } from "vitest";
import asnVectors from "../vectors/wycheproof/ecdh_secp256r1_test.json";
import pointVectors from "../vectors/wycheproof/ecdh_secp256r1_ecpoint_test.json";
import jwkVectors from "../vectors/wycheproof/ecdh_secp256r1_webcrypto_test.json";
import {
  concat,
  ecdhP256,
  fromBase64url,
  fromHex,
  generateP256KeyPair,
  p256PublicKey,
  parsePublicKey,
  toHex,
} from "../../functions/crypto";
import { attempt, describeOutcome, isInputError, scalarBytes, Tally, type WycheproofFile, type WycheproofTest } from "./wycheproof";

interface EcdhTest extends WycheproofTest {
  public: string;
  private: string;
  shared: string;
}
interface JwkEcdhTest extends WycheproofTest {
  public: { crv: string; x: string; y: string };
  private: { d: string };
  shared: string;
}
type Group<T> = { curve: string; encoding: string; tests: T[] };

/**
 * Decision for Wycheproof "acceptable" ECDH cases: a compressed point (CompressedPublic) is
 * accepted, as SEC1 and RFC 5480 allow it and gridkey takes compressed keys; everything else
 * acceptable (InvalidAsn: non-DER encodings; UnnamedCurve/UnusedParam: explicit curve
 * parameters, which RFC 5480 §2.1.1 forbids in PKIX) is rejected.
 */
const acceptDecision = (t: WycheproofTest) => t.flags.includes("CompressedPublic");

/** Checks one case given a function that computes the shared secret (throws to reject). */
async function check(tally: Tally, t: WycheproofTest, shared: string, derive: () => Promise<Uint8Array>) {
  const o = await attempt(derive);
  const accepted = o.ok && toHex(o.value) === shared;
  // Rejection must be a typed input error, never a runtime DOMException or a wrong value.
  const rejected = !o.ok && isInputError(o.error, "bad_public_key");
  if (t.result === "valid") return accepted ? tally.add("valid ok") : tally.fail(t, describeOutcome(o, toHex));
  if (t.result === "invalid") return rejected ? tally.add("invalid rejected") : tally.fail(t, `expected bad_public_key, ${describeOutcome(o, toHex)}`);
  if (acceptDecision(t)) return accepted ? tally.add("acceptable accepted") : tally.fail(t, `decided accept, ${describeOutcome(o, toHex)}`);
  return rejected ? tally.add("acceptable rejected") : tally.fail(t, `decided reject, ${describeOutcome(o, toHex)}`);
}

describe("ECDH P-256 against Wycheproof", () => {
  it("ecdh_secp256r1_test.json (public keys as DER SubjectPublicKeyInfo, decoded by parsePublicKey)", async () => {
    const file = asnVectors as unknown as WycheproofFile<Group<EcdhTest>>;
    const tally = new Tally("ecdh_secp256r1 (DER)");
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        await check(tally, t, t.shared, async () => {
          // A valid P-384 SPKI parses (as curve "P-384"); its point then goes on to ecdhP256,
          // which must refuse it, as it would for a caller that skipped the curve check.
          const { sec1 } = parsePublicKey(fromHex(t.public));
          return ecdhP256(scalarBytes(t.private, 32), sec1);
        });
      }
    }
    tally.report(file.numberOfTests);
  });

  it("ecdh_secp256r1_ecpoint_test.json (public keys as SEC1 points)", async () => {
    const file = pointVectors as unknown as WycheproofFile<Group<EcdhTest>>;
    const tally = new Tally("ecdh_secp256r1_ecpoint");
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        await check(tally, t, t.shared, () => ecdhP256(scalarBytes(t.private, 32), fromHex(t.public)));
      }
    }
    tally.report(file.numberOfTests);
  });

  it("ecdh_secp256r1_webcrypto_test.json (JWK keys, turned into raw scalar and 04||x||y)", async () => {
    const file = jwkVectors as unknown as WycheproofFile<Group<JwkEcdhTest>>;
    const tally = new Tally("ecdh_secp256r1_webcrypto");
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        // The JWK "crv" is deliberately ignored: ecdhP256 must refuse other curves' points by itself.
        const point = concat(new Uint8Array([4]), fromBase64url(t.public.x), fromBase64url(t.public.y));
        await check(tally, t, t.shared, () => ecdhP256(fromBase64url(t.private.d), point));
      }
    }
    tally.report(file.numberOfTests);
  });
});

describe("ECDH P-256 API", () => {
  it("agrees both ways for generated key pairs, with compressed and uncompressed keys", async () => {
    const a = await generateP256KeyPair();
    const b = await generateP256KeyPair();
    expect(a.privateKey.length).toBe(32);
    expect(a.publicKey.length).toBe(65);
    expect(p256PublicKey(a.privateKey)).toEqual(a.publicKey);
    const ab = await ecdhP256(a.privateKey, b.publicKey);
    const compressedB = concat(new Uint8Array([2 + (b.publicKey[64]! & 1)]), b.publicKey.subarray(1, 33));
    expect(await ecdhP256(b.privateKey, a.publicKey)).toEqual(ab);
    expect(await ecdhP256(a.privateKey, compressedB)).toEqual(ab);
  });

  it("refuses bad private scalars", async () => {
    const { publicKey } = await generateP256KeyPair();
    const n = fromHex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    for (const bad of [new Uint8Array(31), new Uint8Array(33), new Uint8Array(0)]) {
      await expect(ecdhP256(bad, publicKey)).rejects.toMatchObject({ code: "bad_key_size" });
      expect(() => p256PublicKey(bad)).toThrow(expect.objectContaining({ code: "bad_key_size" }));
    }
    for (const bad of [new Uint8Array(32), n, new Uint8Array(32).fill(0xff)]) {
      await expect(ecdhP256(bad, publicKey)).rejects.toMatchObject({ code: "bad_private_key" });
      expect(() => p256PublicKey(bad)).toThrow(expect.objectContaining({ code: "bad_private_key" }));
    }
  });

  it("refuses infinity, hybrid encodings, wrong lengths and non-bytes public keys", async () => {
    const { privateKey, publicKey } = await generateP256KeyPair();
    const hybrid = publicKey.slice();
    hybrid[0] = 6 + (publicKey[64]! & 1);
    const wrongPrefix = publicKey.slice(0, 33);
    wrongPrefix[0] = 4;
    for (const bad of [new Uint8Array([0]), hybrid, publicKey.subarray(0, 64), wrongPrefix, publicKey.subarray(1), new Uint8Array(0)]) {
      await expect(ecdhP256(privateKey, bad)).rejects.toMatchObject({ code: "bad_public_key" });
    }
    await expect(ecdhP256(privateKey, "04" as unknown as Uint8Array)).rejects.toMatchObject({ code: "bad_parameter" });
  });
});
