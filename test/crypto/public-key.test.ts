import { describe, expect, it } from "vitest";
import asnVectors from "../vectors/wycheproof/ecdh_secp256r1_test.json";
import pointVectors from "../vectors/wycheproof/ecdh_secp256r1_ecpoint_test.json";
import p256Sig from "../vectors/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json";
import p384Sig from "../vectors/wycheproof/ecdsa_secp384r1_sha384_p1363_test.json";
import { concat, fromHex, generateSigningKeyPair, parsePublicKey, toHex } from "../../functions/crypto";
import { attempt, describeOutcome, isInputError, Tally, type WycheproofFile, type WycheproofTest } from "./wycheproof";

interface EcdhTest extends WycheproofTest {
  public: string;
}
interface SigGroup {
  publicKey: { uncompressed: string };
  publicKeyDer: string;
}

/**
 * The public key of every ECDH P-256 case, parsed on its own. Wycheproof's verdict there is about
 * the key (all invalid cases are bad or foreign public keys), so: valid -> parses as P-256;
 * invalid -> throws "bad_public_key" or is a key of another curve; acceptable -> the ECDH
 * decision (compressed accepted, non-DER ASN.1 and explicit curve parameters rejected).
 */
function runKeys(name: string, vectors: unknown) {
  const file = vectors as WycheproofFile<{ tests: EcdhTest[] }>;
  const tally = new Tally(name);
  for (const g of file.testGroups) {
    for (const t of g.tests) {
      const o = (() => {
        try {
          return { ok: true as const, value: parsePublicKey(fromHex(t.public)) };
        } catch (error) {
          return { ok: false as const, error };
        }
      })();
      const isP256 = o.ok && o.value.curve === "P-256" && o.value.sec1.length === 65;
      const refused = (!o.ok && isInputError(o.error, "bad_public_key")) || (o.ok && o.value.curve !== "P-256");
      const show = (v: { curve: string; sec1: Uint8Array }) => `${v.curve} ${toHex(v.sec1)}`;
      if (t.result === "valid") isP256 ? tally.add("valid ok") : tally.fail(t, describeOutcome(o, show));
      else if (t.result === "invalid") refused ? tally.add("invalid rejected") : tally.fail(t, describeOutcome(o, show));
      else if (t.flags.includes("CompressedPublic")) isP256 ? tally.add("acceptable accepted") : tally.fail(t, describeOutcome(o, show));
      else refused ? tally.add("acceptable rejected") : tally.fail(t, describeOutcome(o, show));
    }
  }
  tally.report(file.numberOfTests);
}

describe("parsePublicKey against Wycheproof public keys", () => {
  it("ecdh_secp256r1_test.json (DER SubjectPublicKeyInfo)", () => runKeys("public keys of ecdh_secp256r1 (DER)", asnVectors));
  it("ecdh_secp256r1_ecpoint_test.json (SEC1 points)", () => runKeys("public keys of ecdh_secp256r1_ecpoint", pointVectors));

  it("every ECDSA P1363 group key, as DER, uncompressed and compressed", () => {
    let n = 0;
    for (const [curve, vectors] of [["P-256", p256Sig], ["P-384", p384Sig]] as const) {
      for (const g of (vectors as unknown as WycheproofFile<SigGroup>).testGroups) {
        const sec1 = fromHex(g.publicKey.uncompressed);
        const size = (sec1.length - 1) / 2;
        const compressed = concat(new Uint8Array([2 + (sec1[sec1.length - 1]! & 1)]), sec1.subarray(1, 1 + size));
        for (const form of [fromHex(g.publicKeyDer), sec1, compressed]) {
          expect(parsePublicKey(form), g.publicKeyDer).toEqual({ curve, sec1 });
        }
        n++;
      }
    }
    console.log(`ecdsa p1363 group keys: ${n} keys parsed identically from DER, uncompressed and compressed`);
  });
});

describe("parsePublicKey input checks", () => {
  it("accepts compressed SPKI and round-trips generated keys of both curves", async () => {
    for (const curve of ["P-256", "P-384"] as const) {
      const { publicKey } = await generateSigningKeyPair(curve);
      expect(parsePublicKey(publicKey)).toEqual({ curve, sec1: publicKey });
    }
    const spkiCompressed = fromHex(
      "3039301306072a8648ce3d020106082a8648ce3d0301070322000362d5bd3372af75fe85a040715d0f502428e07046868b0bfdfa61d731afe44f26",
    );
    expect(toHex(parsePublicKey(spkiCompressed).sec1)).toBe(
      "0462d5bd3372af75fe85a040715d0f502428e07046868b0bfdfa61d731afe44f26ac333a93a9e70a81cd5a95b5bf8d13990eb741c8c38872b4a07d275a014e30cf",
    );
  });

  it("refuses everything else with bad_public_key", async () => {
    const { publicKey } = await generateSigningKeyPair("P-256");
    const spki = concat(fromHex("3059301306072a8648ce3d020106082a8648ce3d030107034200"), publicKey);
    const p = fromHex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    const hybrid = publicKey.slice();
    hybrid[0] = 6 + (publicKey[64]! & 1);
    const bad = [
      new Uint8Array(0),
      new Uint8Array([0]), // point at infinity
      hybrid,
      publicKey.subarray(0, 64),
      concat(publicKey, new Uint8Array([0])),
      concat(new Uint8Array([2]), p), // x = p
      concat(new Uint8Array([4]), p, publicKey.subarray(33)), // x >= p, uncompressed
      concat(spki, new Uint8Array([0])), // trailing byte
      spki.subarray(0, spki.length - 1),
      concat(fromHex("308159"), spki.subarray(2)), // long-form length
      concat(fromHex("3059301306072a8648ce3d020106082a8648ce3d030107034201"), publicKey.subarray(1)), // unused bits != 0
      concat(fromHex("3076301006072a8648ce3d020106052b81040022036200"), publicKey, new Uint8Array(32)), // P-384 header, P-256 point
    ];
    for (const b of bad) {
      const o = await attempt(() => parsePublicKey(b));
      expect(!o.ok && isInputError(o.error, "bad_public_key"), toHex(b)).toBe(true);
    }
    expect(() => parsePublicKey("04" as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: "bad_parameter" }));
  });
});
