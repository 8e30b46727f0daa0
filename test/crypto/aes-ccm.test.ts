/**
 * AES-CCM against all 552 Wycheproof aes_ccm cases (test/vectors/wycheproof/aes_ccm_test.json):
 * valid cases must seal to exactly ct||tag and open back to msg; ModifiedTag cases must fail
 * verification; cases with a nonce or tag length RFC 3610 does not define are refused as
 * CryptoInputError. Every case is counted once and the counts must add up.
 */
import { describe, expect, it } from "vitest";
import vectors from "../vectors/wycheproof/aes_ccm_test.json";
import { openCcm, sealCcm } from "../../functions/crypto/aes-ccm";
import { CryptoInputError, CryptoVerifyError } from "../../functions/crypto/errors";

interface CcmCase {
  tcId: number;
  comment: string;
  flags: string[];
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: string;
}

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/** The parameter policy of aes-ccm.ts, restated independently for classification. */
function parametersDefined(ivBytes: number, tagBytes: number): boolean {
  return ivBytes >= 7 && ivBytes <= 13 && tagBytes >= 4 && tagBytes <= 16 && tagBytes % 2 === 0;
}

function errorOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

type Outcome = "valid" | "rejected" | "refused";

/** Runs one case; returns how it was decided, or a failure description. */
function runCase(t: CcmCase, ivBits: number, tagBits: number): Outcome | string {
  const [key, iv, aad, msg, ct, tag] = [t.key, t.iv, t.aad, t.msg, t.ct, t.tag].map(hex) as Uint8Array[];
  const sealed = concat(ct!, tag!);
  const tagLength = tagBits / 8;
  if (!parametersDefined(ivBits / 8, tagLength)) {
    if (t.result === "valid") return "valid case with parameters we refuse";
    const sealErr = errorOf(() => sealCcm(key!, iv!, msg!, aad!, tagLength));
    const openErr = errorOf(() => openCcm(key!, iv!, sealed, aad!, tagLength));
    if (!(sealErr instanceof CryptoInputError) || !(openErr instanceof CryptoInputError)) {
      return `expected CryptoInputError from seal and open, got ${String(sealErr)} / ${String(openErr)}`;
    }
    return "refused";
  }
  if (t.result === "valid") {
    const out = toHex(sealCcm(key!, iv!, msg!, aad!, tagLength));
    if (out !== t.ct + t.tag) return `seal gave ${out}`;
    const opened = toHex(openCcm(key!, iv!, sealed, aad!, tagLength));
    return opened === t.msg ? "valid" : `open gave ${opened}`;
  }
  const err = errorOf(() => openCcm(key!, iv!, sealed, aad!, tagLength));
  return err instanceof CryptoVerifyError ? "rejected" : `expected CryptoVerifyError, got ${String(err)}`;
}

describe("AES-CCM: Wycheproof aes_ccm_test.json", () => {
  it("decides every case, and the counts add up to numberOfTests", () => {
    const counts: Record<Outcome, number> = { valid: 0, rejected: 0, refused: 0 };
    const failures: string[] = [];
    for (const group of vectors.testGroups) {
      for (const t of group.tests as CcmCase[]) {
        const outcome = runCase(t, group.ivSize, group.tagSize);
        if (outcome in counts) counts[outcome as Outcome]++;
        else failures.push(`tcId ${t.tcId} (${t.comment}): ${outcome}`);
      }
    }
    console.log(
      `aes_ccm: ${counts.valid} valid (seal+open exact), ${counts.rejected} invalid rejected (tag), ` +
        `${counts.refused} invalid refused (parameters), ${failures.length} failed; total ${vectors.numberOfTests}`,
    );
    expect(failures).toEqual([]);
    expect(counts.valid + counts.rejected + counts.refused).toBe(vectors.numberOfTests);
    expect(counts).toEqual({ valid: 405, rejected: 81, refused: 66 });
  });
});

describe("AES-CCM: API edges", () => {
  const key = new Uint8Array(16).fill(7);
  const nonce = new Uint8Array(13).fill(1);
  const aad = Uint8Array.of(1, 2, 3);

  it("round-trips empty and multi-block messages with every tag length", () => {
    for (const tagLength of [4, 6, 8, 10, 12, 14, 16]) {
      for (const n of [0, 1, 15, 16, 17, 100]) {
        const msg = Uint8Array.from({ length: n }, (_, i) => i);
        const sealed = sealCcm(key, nonce, msg, aad, tagLength);
        expect(sealed.length).toBe(n + tagLength);
        expect(openCcm(key, nonce, sealed, aad, tagLength)).toEqual(msg);
      }
    }
  });

  it("fails on any flipped bit of ciphertext, tag or aad", () => {
    const msg = Uint8Array.of(9, 8, 7, 6, 5);
    const sealed = sealCcm(key, nonce, msg, aad, 8);
    for (let i = 0; i < sealed.length * 8; i++) {
      const bad = sealed.slice();
      bad[i >> 3]! ^= 1 << (i & 7);
      expect(() => openCcm(key, nonce, bad, aad, 8)).toThrow(CryptoVerifyError);
    }
    expect(() => openCcm(key, nonce, sealed, Uint8Array.of(1, 2, 4), 8)).toThrow(CryptoVerifyError);
  });

  it("refuses bad parameters with stable codes", () => {
    const code = (f: () => unknown) => (errorOf(f) as CryptoInputError).code;
    expect(code(() => sealCcm(new Uint8Array(15), nonce, aad, aad, 8))).toBe("bad_key_size");
    expect(code(() => sealCcm(key, new Uint8Array(14), aad, aad, 8))).toBe("bad_length");
    expect(code(() => sealCcm(key, nonce, aad, aad, 7))).toBe("bad_parameter");
    expect(code(() => sealCcm(key, nonce, aad, aad, 2))).toBe("bad_parameter");
    // A 13-byte nonce leaves L = 2 length bytes: messages must be shorter than 2^16.
    expect(code(() => sealCcm(key, nonce, new Uint8Array(65536), aad, 8))).toBe("bad_length");
    expect(code(() => openCcm(key, nonce, new Uint8Array(7), aad, 8))).toBe("bad_length");
  });
});
