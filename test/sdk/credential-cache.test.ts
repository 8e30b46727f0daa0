/**
 * sdk/credential-cache.ts: the concentrator's CWT is checked against the trust anchor with
 * noble; signatures are made by the service's WebCrypto ECDSA (which may produce high-S).
 */
import { p256 } from "@noble/curves/nist.js";
import { describe, expect, it } from "vitest";
import { makeCcs } from "../../edhoc/credentials";
import { encode } from "../../edhoc/cbor";
import { generateSigningKeyPair, sha256, sign, toHex } from "../../functions/crypto";
import { encodeCwt, es256ProtectedHeader, sigStructure } from "../../wire/cwt";
import { CredentialCache, trustAnchorOf, verifyCredentialCwt } from "../../sdk/credential-cache";
import { SdkError } from "../../sdk/errors";
import { codeOf } from "../helpers/sdk-errors";

type Signer = { kid: Uint8Array; publicKey: Uint8Array; privateKey: Uint8Array };

async function newSigner(): Promise<Signer> {
  const pair = await generateSigningKeyPair("P-256");
  return { ...pair, kid: (await sha256(pair.publicKey)).slice(0, 8) };
}

/** A concentrator CCS, as functions/concentrator-credential.ts makes it. */
async function concentratorCcs(kid: Uint8Array, expiresAt?: number): Promise<Uint8Array> {
  const pair = await generateSigningKeyPair("P-256");
  return makeCcs({ subject: "gridkey concentrator north-1", kid, curve: "P-256", x: pair.publicKey.slice(1, 33), y: pair.publicKey.slice(33), ...(expiresAt === undefined ? {} : { expiresAt }) }).bytes;
}

async function signedCwt(signer: Signer, payload: Uint8Array, signerKid = signer.kid): Promise<Uint8Array> {
  const protectedHeader = es256ProtectedHeader();
  const signature = await sign("P-256", signer.privateKey, sigStructure(protectedHeader, payload));
  return encodeCwt({ protectedHeader, signerKid, payload, signature });
}

const anchorOf = (s: Signer) => ({ kid: toHex(s.kid), alg: "ES256", publicKey: toHex(s.publicKey) });


describe("verifyCredentialCwt", () => {
  it("accepts CWTs signed by the trust anchor (many signatures, so high-S ones too)", async () => {
    const signer = await newSigner();
    const anchor = trustAnchorOf(anchorOf(signer));
    const kid = Uint8Array.of(1, 2, 3, 4);
    const ccs = await concentratorCcs(kid);
    let highS = 0;
    for (let i = 0; i < 24; i++) {
      const cwt = await signedCwt(signer, ccs);
      if (BigInt(`0x${toHex(cwt.slice(-32))}`) > p256.Point.CURVE().n / 2n) highS++;
      const credential = verifyCredentialCwt(cwt, anchor);
      expect(toHex(credential.kid)).toBe("01020304");
      expect(toHex(credential.bytes)).toBe(toHex(ccs));
      expect(credential.subject).toBe("gridkey concentrator north-1");
    }
    expect(highS).toBeGreaterThan(0); // WebCrypto does not normalize s; noble must not refuse it
  });

  it("refuses another signer kid, a bad signature, another trust anchor, and malformed CWTs", async () => {
    const [signer, other] = [await newSigner(), await newSigner()];
    const anchor = trustAnchorOf(anchorOf(signer));
    const ccs = await concentratorCcs(Uint8Array.of(9, 9, 9, 9));
    expect(codeOf(() => verifyCredentialCwt(new Uint8Array(0), anchor))).toBe("credential_invalid"); // sanity: no CWT
    const good = await signedCwt(signer, ccs);
    expect(codeOf(() => verifyCredentialCwt(good, anchor))).toBeUndefined();

    const relabelled = await signedCwt(signer, ccs, other.kid);
    expect(codeOf(() => verifyCredentialCwt(relabelled, anchor))).toBe("credential_untrusted");

    const flipped = good.slice();
    flipped[flipped.length - 1]! ^= 1; // last byte of the signature
    expect(codeOf(() => verifyCredentialCwt(flipped, anchor))).toBe("credential_untrusted");

    const payloadFlipped = good.slice();
    payloadFlipped[good.length - 64 - 10]! ^= 1; // inside the CCS
    expect(codeOf(() => verifyCredentialCwt(payloadFlipped, anchor))).toBe("credential_untrusted");

    // Another key claiming the anchor's kid: kid matches, signature does not.
    const impostor = await signedCwt(other, ccs, signer.kid);
    expect(codeOf(() => verifyCredentialCwt(impostor, anchor))).toBe("credential_untrusted");
    // The same CWT against another trust anchor.
    expect(codeOf(() => verifyCredentialCwt(good, trustAnchorOf(anchorOf(other))))).toBe("credential_untrusted");

    expect(codeOf(() => verifyCredentialCwt(good.slice(0, -1), anchor))).toBe("credential_invalid");
    const notCcs = await signedCwt(signer, encode(["not", "a", "ccs"]));
    expect(codeOf(() => verifyCredentialCwt(notCcs, anchor))).toBe("credential_invalid");
  });

  it("checks the trust anchor itself", async () => {
    const s = await newSigner();
    expect(codeOf(() => trustAnchorOf({ ...anchorOf(s), alg: "EdDSA" }))).toBe("bad_config");
    expect(codeOf(() => trustAnchorOf({ ...anchorOf(s), kid: "" }))).toBe("bad_config");
    expect(codeOf(() => trustAnchorOf({ ...anchorOf(s), kid: "zz" }))).toBe("bad_config");
    const offCurve = s.publicKey.slice();
    offCurve[64]! ^= 1;
    expect(codeOf(() => trustAnchorOf({ kid: s.kid, publicKey: offCurve }))).toBe("bad_config");
    expect(trustAnchorOf({ kid: s.kid, publicKey: s.publicKey }).kid).toEqual(s.kid);
  });
});

describe("CredentialCache", () => {
  it("resolves from the cache, fetches once on a miss (also when misses overlap), and knows only what it verified", async () => {
    const signer = await newSigner();
    const cache = new CredentialCache(anchorOf(signer));
    const kid = Uint8Array.of(0xa1, 0xa2, 0xa3, 0xa4);
    const cwt = await signedCwt(signer, await concentratorCcs(kid));
    let fetches = 0;
    const resolve = cache.resolver("north-1", async () => {
      fetches++;
      await new Promise((r) => setTimeout(r, 5));
      return cwt;
    });
    const results = await Promise.all([resolve(kid), resolve(kid), resolve(kid)]);
    expect(results.map((c) => c && toHex(c.kid))).toEqual(["a1a2a3a4", "a1a2a3a4", "a1a2a3a4"]);
    expect(fetches).toBe(1);
    expect(toHex((await resolve(kid))!.kid)).toBe("a1a2a3a4");
    expect(fetches).toBe(1);
    // A kid the region's credential does not have: fetched again, still unknown.
    expect(await resolve(Uint8Array.of(1))).toBeUndefined();
    expect(fetches).toBe(2);
    expect(cache.size).toBe(1);
  });

  it("refuses an expired credential, and drops a cached one once the meter's clock passes its expiry", async () => {
    const signer = await newSigner();
    let now = 1_000_000 * 1000;
    const cache = new CredentialCache(anchorOf(signer), () => now);
    const kid = Uint8Array.of(7, 7, 7, 7);
    const cwt = await signedCwt(signer, await concentratorCcs(kid, 1_000_100));
    expect(cache.add(cwt).expiresAt).toBe(1_000_100);
    expect(cache.get(kid)).toBeDefined();
    now = 1_000_100 * 1000; // the expiry: no longer valid
    expect(cache.get(kid)).toBeUndefined();
    expect(cache.size).toBe(0);
    // Fetched again (a replayed old CWT, or a replaced concentrator's): refused, not cached.
    let fetches = 0;
    await expect(cache.resolver("north-1", async () => (fetches++, cwt))(kid)).rejects.toMatchObject({ code: "credential_expired" });
    expect([fetches, cache.size]).toEqual([1, 0]);
    expect(codeOf(() => verifyCredentialCwt(cwt, trustAnchorOf(anchorOf(signer)), now - 1))).toBeUndefined();
    expect(codeOf(() => verifyCredentialCwt(cwt, trustAnchorOf(anchorOf(signer)), now))).toBe("credential_expired");
  });

  it("propagates a CWT that fails verification instead of calling the kid unknown", async () => {
    const [signer, other] = [await newSigner(), await newSigner()];
    const cache = new CredentialCache(anchorOf(signer));
    const kid = Uint8Array.of(5, 5, 5, 5);
    const forged = await signedCwt(other, await concentratorCcs(kid), signer.kid);
    const resolve = cache.resolver("north-1", async () => forged);
    await expect(resolve(kid)).rejects.toMatchObject({ name: "SdkError", code: "credential_untrusted" });
    expect(cache.get(kid)).toBeUndefined();
    // The failed fetch is not stuck in flight: a later miss fetches again.
    await expect(resolve(kid)).rejects.toMatchObject({ code: "credential_untrusted" });
  });

  it("add() caches by the CCS's kid", async () => {
    const signer = await newSigner();
    const cache = new CredentialCache(anchorOf(signer));
    const credential = cache.add(await signedCwt(signer, await concentratorCcs(Uint8Array.of(7, 7, 7, 7))));
    expect(cache.get(Uint8Array.of(7, 7, 7, 7))).toBe(credential);
    expect(() => cache.add(new Uint8Array([0x80]))).toThrow(SdkError);
  });
});
