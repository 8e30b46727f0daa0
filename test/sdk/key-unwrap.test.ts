/**
 * sdk/key-unwrap.ts: noble AES key wrap against RFC 3394's vectors, and DLMS key_data built
 * by the service's encoder with keys wrapped by the service's WebCrypto AES-KW.
 */
import { describe, expect, it } from "vitest";
import { fromHex, randomBytes, toHex, wrap } from "../../functions/crypto";
import { DLMS_KEY_ID, encodeKeyData } from "../../wire/key-transfer";
import { describeKey, unwrapKey, unwrapKeyData, type KeyDescription } from "../../sdk/key-unwrap";
import rfc3394 from "../vectors/rfc3394.json";
import session from "../vectors/gridkey/session_vectors.json";
import { codeOf } from "../helpers/sdk-errors";


describe("unwrapKey against RFC 3394 §4", () => {
  for (const v of rfc3394.vectors) {
    it(`§${v.section}: unwraps, and refuses a flipped bit or another KEK`, () => {
      const [kek, wrapped] = [fromHex(v.kek), fromHex(v.wrapped)];
      expect(toHex(unwrapKey(kek, wrapped))).toBe(v.key.toLowerCase());
      for (const at of [0, 8, wrapped.length - 1]) {
        const bad = wrapped.slice();
        bad[at]! ^= 0x80;
        expect(codeOf(() => unwrapKey(kek, bad))).toBe("key_unwrap_failed");
      }
      expect(codeOf(() => unwrapKey(kek.map((b) => b ^ 1), wrapped))).toBe("key_unwrap_failed");
    });
  }

  it("covers all six vectors", () => expect(rfc3394.vectors.map((v) => v.section)).toEqual(["4.1", "4.2", "4.3", "4.4", "4.5", "4.6"]));

  it("refuses malformed lengths before unwrapping", () => {
    expect(codeOf(() => unwrapKey(new Uint8Array(15), new Uint8Array(24)))).toBe("bad_config");
    expect(codeOf(() => unwrapKey(new Uint8Array(16), new Uint8Array(16)))).toBe("bad_response");
    expect(codeOf(() => unwrapKey(new Uint8Array(16), new Uint8Array(25)))).toBe("bad_response");
  });
});

/** A delivery as the "keys" op makes it: key_data and the list that describes it. */
async function delivery(kek: Uint8Array, entries: { keyClass: "guek" | "ak" | "gbek" | "kek"; key: Uint8Array; state?: string }[]) {
  const list: KeyDescription[] = entries.map((e, i) => ({ keyClass: e.keyClass, dlmsKeyId: DLMS_KEY_ID[e.keyClass], keyId: `key_${i}`, version: 1, state: e.state ?? "active" }));
  const wrapped = await Promise.all(entries.map(async (e) => ({ keyId: DLMS_KEY_ID[e.keyClass], wrapped: await wrap(kek, e.key) })));
  return { keyData: encodeKeyData(wrapped), list };
}

describe("unwrapKeyData on DLMS global key transfer key_data", () => {
  it("unwraps what the service wrapped (AES-128 and AES-256 KEKs)", async () => {
    for (const n of [16, 32]) {
      const kek = randomBytes(n);
      const entries = [
        { keyClass: "guek" as const, key: randomBytes(n) },
        { keyClass: "ak" as const, key: randomBytes(n) },
        { keyClass: "kek" as const, key: randomBytes(n), state: "new" },
        { keyClass: "gbek" as const, key: randomBytes(n) },
      ];
      const { keyData, list } = await delivery(kek, entries);
      const keys = unwrapKeyData(keyData, list, [kek]);
      expect(keys.map((k) => [k.keyClass, k.dlmsKeyId, k.keyId, k.state, toHex(k.key)])).toEqual(
        entries.map((e, i) => [e.keyClass, DLMS_KEY_ID[e.keyClass], `key_${i}`, e.state ?? "active", toHex(e.key)]),
      );
    }
  });

  it("reproduces the independent key delivery vector", () => {
    const v = session.keyDelivery;
    const list = ["guek", "ak", "gbek"].map((c, i) => describeKey(c, DLMS_KEY_ID[c as "guek"], `k${i}`, 1, "active"));
    const keys = unwrapKeyData(fromHex(v.keyData), list, [fromHex(v.kek)]);
    expect(keys.map((k) => toHex(k.key))).toEqual([v.guek, v.ak, v.gbek]);
  });

  it("falls back to the previous KEK, and refuses when no KEK fits", async () => {
    const [oldKek, newKek] = [randomBytes(16), randomBytes(16)];
    const { keyData, list } = await delivery(oldKek, [{ keyClass: "guek", key: randomBytes(16) }]);
    expect(unwrapKeyData(keyData, list, [newKek, oldKek])).toHaveLength(1);
    expect(codeOf(() => unwrapKeyData(keyData, list, [newKek]))).toBe("key_unwrap_failed");
  });

  it("refuses a list that does not describe key_data", async () => {
    const kek = randomBytes(16);
    const { keyData, list } = await delivery(kek, [{ keyClass: "guek", key: randomBytes(16) }, { keyClass: "ak", key: randomBytes(16) }]);
    expect(codeOf(() => unwrapKeyData(keyData, list.slice(0, 1), [kek]))).toBe("bad_response");
    expect(codeOf(() => unwrapKeyData(keyData, [list[1]!, list[0]!], [kek]))).toBe("bad_response");
    expect(codeOf(() => unwrapKeyData(keyData.slice(0, -1), list, [kek]))).toBe("bad_response");
    const short = await delivery(kek, [{ keyClass: "guek", key: randomBytes(24) }]);
    expect(codeOf(() => unwrapKeyData(short.keyData, short.list, [kek]))).toBe("bad_response");
  });

  it("refuses a tampered entry without returning the others", async () => {
    const kek = randomBytes(16);
    const { keyData, list } = await delivery(kek, [{ keyClass: "guek", key: randomBytes(16) }, { keyClass: "ak", key: randomBytes(16) }]);
    keyData[keyData.length - 1]! ^= 1;
    expect(codeOf(() => unwrapKeyData(keyData, list, [kek]))).toBe("key_unwrap_failed");
  });

  it("checks each list entry's class against its DLMS key id", () => {
    expect(describeKey("ak", 2, "k", 3, "new")).toEqual({ keyClass: "ak", dlmsKeyId: 2, keyId: "k", version: 3, state: "new" });
    expect(codeOf(() => describeKey("ak", 0, "k", 1, "active"))).toBe("bad_response");
    expect(codeOf(() => describeKey("master", 4, "k", 1, "active"))).toBe("bad_response");
    expect(codeOf(() => describeKey("guek", 0, "k", 0, "active"))).toBe("bad_response");
    expect(codeOf(() => describeKey("guek", 0, 7, 1, "active"))).toBe("bad_response");
  });
});
