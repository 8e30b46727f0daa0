/**
 * Comparisons of secrets and authenticators are constant-time (issue 10, "Timing"): one
 * helper, functions/crypto/bytes.ts `constantTimeEqual`, and every place that checks a MAC,
 * a tag, a token's hash or a Merkle root goes through it. The helper is wrapped in a spy,
 * and each check is driven with a forgery: the spy must have seen the computed value and
 * the forged one, which shows the decision was made by the helper and not by `===` or an
 * early-exit loop beside it.
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it, vi } from "vitest";

vi.mock("../../functions/crypto/bytes", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../functions/crypto/bytes")>();
  return { ...original, constantTimeEqual: vi.fn(original.constantTimeEqual) };
});

const bytesModule = await import("../../functions/crypto/bytes");
const spy = vi.mocked(bytesModule.constantTimeEqual);
const { checkSignatureOrMac } = await import("../../edhoc/auth");
const { getSuite } = await import("../../edhoc/suites");
const { webCryptoProvider } = await import("../../edhoc/webcrypto-provider");
const { openCcm, sealCcm } = await import("../../functions/crypto/aes-ccm");
const { hmacSha256, hmacSha256Verify } = await import("../../functions/crypto/kdf");
const { authenticate } = await import("../../functions/operator-tokens");
const { merkleRoot, inclusionProof, verifyInclusion } = await import("../../wire/merkle");
const { openGloCipheringApdu, sealGloCiphering } = await import("../../sdk/dlms");
const { SdkError } = await import("../../sdk/errors");

const rand = (n: number) => crypto.getRandomValues(new Uint8Array(n));

/** Runs `f` with a fresh spy record and returns the pairs the helper compared. */
async function compared(f: () => unknown): Promise<Array<[Uint8Array, Uint8Array]>> {
  spy.mockClear();
  try {
    await f();
  } catch {
    // the forgery is refused: what matters here is how the decision was made
  }
  return spy.mock.calls.map(([a, b]) => [new Uint8Array(a), new Uint8Array(b)]);
}

const contains = (pairs: Array<[Uint8Array, Uint8Array]>, x: Uint8Array) => pairs.some(([a, b]) => sameBytes(a, x) || sameBytes(b, x));
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

describe("constantTimeEqual, the one comparison helper", () => {
  const helper = (vi.importActual("../../functions/crypto/bytes") as Promise<typeof import("../../functions/crypto/bytes")>).then((m) => m.constantTimeEqual);

  it("compares content and length, whichever byte differs", async () => {
    const eq = await helper;
    const a = rand(32);
    expect(eq(a, a.slice())).toBe(true);
    for (let i = 0; i < a.length; i++) {
      const b = a.slice();
      b[i]! ^= 0x80;
      expect(eq(a, b)).toBe(false);
    }
    expect(eq(a, a.subarray(0, 31))).toBe(false);
    expect(eq(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    expect(() => eq("x" as unknown as Uint8Array, a)).toThrow();
  });

  it("uses workerd's crypto.subtle.timingSafeEqual here (the loop is the fallback elsewhere)", async () => {
    const eq = await helper;
    const native = vi.spyOn(crypto.subtle as unknown as { timingSafeEqual: (a: ArrayBufferView, b: ArrayBufferView) => boolean }, "timingSafeEqual");
    expect(eq(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(native).toHaveBeenCalledTimes(1);
    native.mockRestore();
  });
});

describe("every MAC, tag, token and root check goes through it", () => {
  it("EDHOC MAC_2 / MAC_3 (static DH methods)", async () => {
    const mac = rand(8);
    const forged = rand(8);
    const suite = getSuite(2)!;
    const pairs = await compared(() => checkSignatureOrMac(webCryptoProvider, suite, mac, {} as never, true, forged));
    expect(pairs).toContainEqual([mac, forged]);
  });

  it("AES-CCM tags (EDHOC suite 2's AEAD, both providers)", async () => {
    const key = rand(16);
    const nonce = rand(13);
    const sealed = sealCcm(key, nonce, rand(20), rand(5), 8);
    sealed[sealed.length - 1]! ^= 1;
    const pairs = await compared(() => openCcm(key, nonce, sealed, new Uint8Array(0), 8));
    expect(pairs.length).toBe(1);
    expect(pairs[0]![0].length).toBe(8);
  });

  it("truncated HMAC tags", async () => {
    const key = rand(32);
    const data = rand(40);
    const tag = (await hmacSha256(key, data)).slice(0, 16);
    tag[0]! ^= 1;
    const pairs = await compared(() => hmacSha256Verify(key, data, tag));
    expect(contains(pairs, tag)).toBe(true);
  });

  it("the bootstrap token (compared as hashes)", async () => {
    const pairs = await compared(() => authenticate({} as never, { BOOTSTRAP_TOKEN: "gk_the-real-one" }, "gk_a-guess"));
    expect(pairs.length).toBe(1);
    expect(pairs[0]![0].length).toBe(64); // hex of SHA-256
  });

  it("Merkle roots of rekey bundles", async () => {
    const leaves = [rand(10), rand(10), rand(10)];
    const forged = rand(32);
    const pairs = await compared(() => verifyInclusion(nobleSha256, leaves[1]!, 1, 3, inclusionProof(nobleSha256, leaves, 1), forged));
    expect(contains(pairs, forged)).toBe(true);
    expect(verifyInclusion(nobleSha256, leaves[1]!, 1, 3, inclusionProof(nobleSha256, leaves, 1), merkleRoot(nobleSha256, leaves))).toBe(true);
  });

  it("DLMS tags opened by the meter SDK", async () => {
    const keys = { ek: rand(16), ak: rand(16) };
    const apdu = sealGloCiphering({ systemTitle: rand(8), securityControl: 0x31, invocationCounter: 1 }, keys, rand(12));
    apdu[apdu.length - 1]! ^= 1;
    const pairs = await compared(() => openGloCipheringApdu(apdu, keys));
    expect(pairs.some(([a]) => a.length === 12)).toBe(true);
    expect(() => openGloCipheringApdu(apdu, keys)).toThrow(SdkError);
  });
});
