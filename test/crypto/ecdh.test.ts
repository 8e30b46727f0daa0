import { describe, expect, it } from "vitest";
import asnVectors from "../vectors/wycheproof/ecdh_secp256r1_test.json";
import pointVectors from "../vectors/wycheproof/ecdh_secp256r1_ecpoint_test.json";
import jwkVectors from "../vectors/wycheproof/ecdh_secp256r1_webcrypto_test.json";
import asn384Vectors from "../vectors/wycheproof/ecdh_secp384r1_test.json";
import jwk384Vectors from "../vectors/wycheproof/ecdh_secp384r1_webcrypto_test.json";
import {
  concat,
  ecdhP256,
  ecdhP384,
  fromBase64url,
  fromHex,
  generateP256KeyPair,
  generateP384KeyPair,
  p256PublicKey,
  p384PublicKey,
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

describe("ECDH P-384 against Wycheproof", () => {
  it("ecdh_secp384r1_test.json (public keys as DER SubjectPublicKeyInfo, decoded by parsePublicKey)", async () => {
    const file = asn384Vectors as unknown as WycheproofFile<Group<EcdhTest>>;
    const tally = new Tally("ecdh_secp384r1 (DER)");
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        await check(tally, t, t.shared, async () => {
          // A valid P-256 SPKI parses (as curve "P-256"); ecdhP384 must then refuse its point.
          const { sec1 } = parsePublicKey(fromHex(t.public));
          return ecdhP384(scalarBytes(t.private, 48), sec1);
        });
      }
    }
    tally.report(file.numberOfTests);
  });

  it("ecdh_secp384r1_webcrypto_test.json (JWK keys, turned into raw scalar and 04||x||y)", async () => {
    const file = jwk384Vectors as unknown as WycheproofFile<Group<JwkEcdhTest>>;
    const tally = new Tally("ecdh_secp384r1_webcrypto");
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        // As for P-256, "crv" is ignored: ecdhP384 must refuse other curves' points by itself.
        const point = concat(new Uint8Array([4]), fromBase64url(t.public.x), fromBase64url(t.public.y));
        await check(tally, t, t.shared, () => ecdhP384(fromBase64url(t.private.d), point));
      }
    }
    tally.report(file.numberOfTests);
  });
});

const CURVES = [
  {
    curve: "P-256",
    size: 32,
    ecdh: ecdhP256,
    generate: generateP256KeyPair,
    publicKey: p256PublicKey,
    n: "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
  },
  {
    curve: "P-384",
    size: 48,
    ecdh: ecdhP384,
    generate: generateP384KeyPair,
    publicKey: p384PublicKey,
    n: "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
  },
] as const;

describe.each(CURVES)("ECDH $curve API", ({ size, ecdh, generate, publicKey: toPublic, n }) => {
  it("agrees both ways for generated key pairs, with compressed and uncompressed keys", async () => {
    const a = await generate();
    const b = await generate();
    expect(a.privateKey.length).toBe(size);
    expect(a.publicKey.length).toBe(1 + 2 * size);
    expect(toPublic(a.privateKey)).toEqual(a.publicKey);
    const ab = await ecdh(a.privateKey, b.publicKey);
    expect(ab.length).toBe(size);
    const compressedB = concat(new Uint8Array([2 + (b.publicKey[2 * size]! & 1)]), b.publicKey.subarray(1, 1 + size));
    expect(await ecdh(b.privateKey, a.publicKey)).toEqual(ab);
    expect(await ecdh(a.privateKey, compressedB)).toEqual(ab);
  });

  it("refuses bad private scalars", async () => {
    const { publicKey } = await generate();
    for (const bad of [new Uint8Array(size - 1), new Uint8Array(size + 1), new Uint8Array(0)]) {
      await expect(ecdh(bad, publicKey)).rejects.toMatchObject({ code: "bad_key_size" });
      expect(() => toPublic(bad)).toThrow(expect.objectContaining({ code: "bad_key_size" }));
    }
    for (const bad of [new Uint8Array(size), fromHex(n), new Uint8Array(size).fill(0xff)]) {
      await expect(ecdh(bad, publicKey)).rejects.toMatchObject({ code: "bad_private_key" });
      expect(() => toPublic(bad)).toThrow(expect.objectContaining({ code: "bad_private_key" }));
    }
  });

  it("refuses infinity, hybrid encodings, wrong lengths and non-bytes public keys", async () => {
    const { privateKey, publicKey } = await generate();
    const hybrid = publicKey.slice();
    hybrid[0] = 6 + (publicKey[2 * size]! & 1);
    const wrongPrefix = publicKey.slice(0, 1 + size);
    wrongPrefix[0] = 4;
    for (const bad of [new Uint8Array([0]), hybrid, publicKey.subarray(0, 2 * size), wrongPrefix, publicKey.subarray(1), new Uint8Array(0)]) {
      await expect(ecdh(privateKey, bad)).rejects.toMatchObject({ code: "bad_public_key" });
    }
    await expect(ecdh(privateKey, "04" as unknown as Uint8Array)).rejects.toMatchObject({ code: "bad_parameter" });
  });
});

describe("ECDH curve separation", () => {
  it("each function refuses the other curve's keys", async () => {
    const [a256, a384] = [await generateP256KeyPair(), await generateP384KeyPair()];
    await expect(ecdhP256(a256.privateKey, a384.publicKey)).rejects.toMatchObject({ code: "bad_public_key" });
    await expect(ecdhP384(a384.privateKey, a256.publicKey)).rejects.toMatchObject({ code: "bad_public_key" });
    await expect(ecdhP256(a384.privateKey, a256.publicKey)).rejects.toMatchObject({ code: "bad_key_size" });
    await expect(ecdhP384(a256.privateKey, a384.publicKey)).rejects.toMatchObject({ code: "bad_key_size" });
    // Compressed: 33 bytes is a P-256 length, 49 a P-384 one.
    await expect(ecdhP384(a384.privateKey, concat(new Uint8Array([2]), a384.publicKey.subarray(1, 33)))).rejects.toMatchObject({ code: "bad_public_key" });
  });
});
