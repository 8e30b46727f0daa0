import { describe, expect, it } from "vitest";
import { CborMap, decode } from "../../edhoc/cbor";
import { KeySchedule } from "../../edhoc/key-schedule";
import { getSuite } from "../../edhoc/suites";
import { webCryptoProvider } from "../../edhoc/webcrypto-provider";
import { fromHex, toHex, wrap } from "../../functions/crypto";
import { meterCredential } from "../../functions/meter-credentials";
import { webCryptoSessionAead } from "../../functions/session-aead";
import { encodeKeyData } from "../../wire/key-transfer";
import { decodeRequestRecord, deriveSessionKeys, openRequest, openResponse, sealRequest, sealResponse, type SessionKeys } from "../../wire/session-record";
import v from "../vectors/gridkey/session_vectors.json";

// Expected bytes were computed by Python cryptography with hand-written CBOR
// (test/vectors/gridkey/make_session_vectors.py): docs/protocol.md §8 prints them.
const exporterOf = (prk: Uint8Array) => {
  const ks = new KeySchedule(webCryptoProvider, getSuite(2)!);
  return { exporter: (label: number, context: Uint8Array, length: number) => ks.kdf(prk, label, context, length) };
};

const hexKeys = (k: SessionKeys) => ({ keyI2R: toHex(k.keyI2R), keyR2I: toHex(k.keyR2I), ivI2R: toHex(k.ivI2R), ivR2I: toHex(k.ivR2I) });

describe("gridkey's layer on EDHOC, byte for byte", () => {
  const cR = fromHex(v.connectionId);
  const keysP = deriveSessionKeys(exporterOf(fromHex(v.prkExporter)), 16);

  it("derives the session keys from PRK_exporter (RFC 9529 trace 2's)", async () => {
    expect(hexKeys(await keysP)).toEqual(v.sessionKeys);
  });

  for (const r of v.requests) {
    it(`seals and opens request ${r.counter} (${r.op})`, async () => {
      const keys = await keysP;
      const args = decode(fromHex(r.argsCbor)) as CborMap;
      expect(toHex(await sealRequest(webCryptoSessionAead, keys, cR, r.counter, { op: r.op, args }))).toBe(r.record);
      const record = decodeRequestRecord(fromHex(r.record));
      expect(record.counter).toBe(r.counter);
      const opened = await openRequest(webCryptoSessionAead, keys, record);
      expect(opened.op).toBe(r.op);
    });
  }

  for (const r of v.responses) {
    it(`seals and opens response ${r.counter}`, async () => {
      const keys = await keysP;
      const body = decode(fromHex(r.bodyCbor)) as unknown[];
      const response = body[0] === 0 ? { ok: true as const, result: body[1] as CborMap } : { ok: false as const, code: body[1] as string, message: body[2] as string };
      expect(toHex(await sealResponse(webCryptoSessionAead, keys, cR, r.counter, response))).toBe(r.record);
      expect(await openResponse(webCryptoSessionAead, keys, cR, r.counter, fromHex(r.record))).toEqual(response);
      await expect(openResponse(webCryptoSessionAead, keys, cR, r.counter + 1, fromHex(r.record))).rejects.toThrow();
    });
  }

  it("lays out key delivery as DLMS global key transfer, keys wrapped under the KEK", async () => {
    const d = v.keyDelivery;
    const kek = fromHex(d.kek);
    const entries = [
      { keyId: 0, wrapped: await wrap(kek, fromHex(d.guek)) },
      { keyId: 2, wrapped: await wrap(kek, fromHex(d.ak)) },
      { keyId: 1, wrapped: await wrap(kek, fromHex(d.gbek)) },
    ];
    expect(toHex(encodeKeyData(entries))).toBe(d.keyData);
  });

  it("builds the meter's CCS from its enrolled key, as the meter does", () => {
    const m = v.meterCredential;
    const credential = meterCredential({
      id: m.meterId,
      kind: "meter",
      systemTitle: m.systemTitle.toUpperCase(),
      region: "north-1",
      suite: 1,
      identityCurve: "P-256",
      identityPublicKey: `04${m.x}${m.y}`,
      state: "active",
      createdAt: 0,
      updatedAt: 0,
    });
    expect(toHex(credential.bytes)).toBe(m.ccs);
    expect(toHex(credential.kid)).toBe(m.systemTitle);
  });
});
