/**
 * The meter's session layer: the SDK's noble AES-GCM and the server's WebCrypto AES-GCM
 * interoperate through wire/session-record.ts in both directions, on keys from a real EDHOC
 * run (noble initiator, WebCrypto responder); the SDK reproduces the independent session
 * vectors; the first request riding on message_3 splits as the server splits it; HTTP
 * error bodies become typed errors; MeterClient checks its configuration.
 */
import { p256 } from "@noble/curves/nist.js";
import { describe, expect, it } from "vitest";
import { CborMap, CborReader, encode, encodeSequence } from "../../edhoc/cbor";
import { makeCcs, type LocalCredential } from "../../edhoc/credentials";
import { encodeErrorMessage } from "../../edhoc/errors";
import { EdhocInitiator } from "../../edhoc/initiator";
import { nobleProvider } from "../../edhoc/noble-provider";
import { EdhocResponder } from "../../edhoc/responder";
import { continueRequest, parseRequest } from "../../edhoc/transport";
import { webCryptoProvider } from "../../edhoc/webcrypto-provider";
import { fromHex, generateP256KeyPair, open, randomBytes, seal, toHex } from "../../functions/crypto";
import {
  decodeRequestRecord,
  deriveSessionKeys,
  openRequest,
  openResponse,
  sealRequest,
  sealResponse,
  type SessionAead,
  type SessionKeys,
} from "../../wire/session-record";
import { SdkError } from "../../sdk/errors";
import { openSessionResponse, withoutConnectionId } from "../../sdk/handshake";
import { errorOf } from "../../sdk/http";
import { MeterClient } from "../../sdk/meter-client";
import { nobleSessionAead } from "../../sdk/noble-aead";
import vectors from "../vectors/gridkey/session_vectors.json";

/** The server's side: functions/crypto's WebCrypto AES-GCM with a 16-byte tag. */
const webCryptoAead: SessionAead = {
  seal: (key, nonce, plaintext, aad) => seal(key, nonce, plaintext, aad, 16),
  open: (key, nonce, sealed, aad) => open(key, nonce, sealed, aad, 16),
};

const SYSTEM_TITLE = "4752494400000042";

function meterIdentity(): { privateKey: Uint8Array; local: LocalCredential } {
  const privateKey = p256.utils.randomSecretKey();
  const point = p256.getPublicKey(privateKey, false);
  const credential = makeCcs({ subject: "MTR-42", kid: fromHex(SYSTEM_TITLE), curve: "P-256", x: point.slice(1, 33), y: point.slice(33) });
  return { privateKey, local: { credential, privateKey } };
}

/** EDHOC method 3, suite 2, as the meter and the concentrator run it; message_4 is not used. */
async function edhocRun() {
  const meter = meterIdentity();
  const pair = await generateP256KeyPair();
  const concentrator: LocalCredential = {
    credential: makeCcs({ subject: "concentrator", kid: Uint8Array.of(1, 2, 3, 4), curve: "P-256", x: pair.publicKey.slice(1, 33), y: pair.publicKey.slice(33) }),
    privateKey: pair.privateKey,
  };
  const initiator = new EdhocInitiator({ provider: nobleProvider, method: 3, suites: [2], credential: meter.local, resolveCredential: () => concentrator.credential });
  const responder = new EdhocResponder({ provider: webCryptoProvider, methods: [3], suites: [2], credential: concentrator, resolveCredential: () => meter.local.credential });
  await responder.processMessage1(await initiator.message1());
  const { connectionIdResponder: cR } = await initiator.processMessage2(await responder.message2());
  const message3 = await initiator.message3();
  return { initiator, responder, cR, message3 };
}

async function sameKeys(): Promise<{ meterKeys: SessionKeys; serverKeys: SessionKeys; cR: Uint8Array }> {
  const { initiator, responder, cR, message3 } = await edhocRun();
  const { session } = await responder.processMessage3(message3);
  return { meterKeys: await deriveSessionKeys(initiator.session, 16), serverKeys: await deriveSessionKeys(session, 16), cR };
}

async function sdkCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof SdkError ? e.code : `not an SdkError: ${String(e)}`;
  }
  return undefined;
}

describe("session records: noble (meter) and WebCrypto (server) interoperate", () => {
  it("both ends derive the same session keys", async () => {
    const { meterKeys, serverKeys } = await sameKeys();
    for (const k of ["keyI2R", "keyR2I", "ivI2R", "ivR2I"] as const) expect(toHex(meterKeys[k])).toBe(toHex(serverKeys[k]));
    expect(meterKeys.keyI2R.length).toBe(16);
  });

  it("meter → server requests and server → meter responses, and the reverse pairing", async () => {
    const { meterKeys, serverKeys, cR } = await sameKeys();
    const pairs: [SessionAead, SessionKeys, SessionAead, SessionKeys][] = [
      [nobleSessionAead, meterKeys, webCryptoAead, serverKeys],
      [webCryptoAead, meterKeys, nobleSessionAead, serverKeys],
    ];
    let counter = 1;
    for (const [meterAead, mk, serverAead, sk] of pairs) {
      for (const args of [new CborMap(), new CborMap([["apdu", randomBytes(200)]])]) {
        const record = await sealRequest(meterAead, mk, cR, counter, { op: "reading", args });
        const request = await openRequest(serverAead, sk, decodeRequestRecord(record));
        expect(request.op).toBe("reading");
        expect(toHex(encode(request.args))).toBe(toHex(encode(args)));
        const ok = await sealResponse(serverAead, sk, cR, counter, { ok: true, result: new CborMap([["invocationCounter", 7]]) });
        expect(await openResponse(meterAead, mk, cR, counter, ok)).toEqual({ ok: true, result: new CborMap([["invocationCounter", 7]]) });
        const refused = await sealResponse(serverAead, sk, cR, counter, { ok: false, code: "reading_replayed", message: "no" });
        expect(await openResponse(meterAead, mk, cR, counter, refused)).toEqual({ ok: false, code: "reading_replayed", message: "no" });
        counter++;
      }
    }
  });

  it("a tampered or misdirected response is refused with a typed error", async () => {
    const { meterKeys, serverKeys, cR } = await sameKeys();
    const response = await sealResponse(webCryptoAead, serverKeys, cR, 5, { ok: true, result: new CborMap() });
    const flipped = response.slice();
    flipped[flipped.length - 1]! ^= 1;
    expect(await sdkCode(openSessionResponse(meterKeys, cR, 5, flipped))).toBe("decryption_failed");
    expect(await sdkCode(openSessionResponse(meterKeys, cR, 6, response))).toBe("bad_response"); // answers another request
    expect(await sdkCode(openSessionResponse(meterKeys, Uint8Array.of(9), 5, response))).toBe("decryption_failed"); // AAD names C_R
    expect(await sdkCode(openSessionResponse(meterKeys, cR, 5, response.slice(0, 3)))).toBe("bad_response");
    // A request is not a response: the direction is in the key and the AAD.
    const request = await sealRequest(nobleSessionAead, meterKeys, cR, 5, { op: "ping", args: new CborMap() });
    expect(await sdkCode(openSessionResponse(meterKeys, cR, 5, withoutConnectionId(request, cR)))).toBe("decryption_failed");
  });

  it("noble session AEAD refuses keys and nonces of the wrong size as misuse, not forgery", async () => {
    expect(await sdkCode(nobleSessionAead.seal(new Uint8Array(15), new Uint8Array(12), new Uint8Array(1), new Uint8Array(0)))).toBe("bad_parameter");
    expect(await sdkCode(nobleSessionAead.open(new Uint8Array(16), new Uint8Array(13), new Uint8Array(16), new Uint8Array(0)))).toBe("bad_parameter");
    expect(await sdkCode(nobleSessionAead.open(new Uint8Array(16), new Uint8Array(12), new Uint8Array(15), new Uint8Array(0)))).toBe("decryption_failed");
  });
});

describe("the first request rides on message_3", () => {
  it("splits on the server's side into message_3 and request 1, and both are accepted", async () => {
    const { initiator, responder, cR, message3 } = await edhocRun();
    const keys = await deriveSessionKeys(initiator.session, 16);
    const record = await sealRequest(nobleSessionAead, keys, cR, 1, { op: "ping", args: new CborMap() });
    const tail = withoutConnectionId(record, cR);
    const body = continueRequest(cR, new Uint8Array([...message3, ...tail]));
    // What the concentrator does with the body:
    const parsed = parseRequest(body);
    if (parsed.kind !== "continue") throw new Error("expected a continued exchange");
    expect(toHex(parsed.connectionIdResponder)).toBe(toHex(cR));
    const reader = new CborReader(parsed.message);
    expect(toHex(reader.nextWithRaw().raw)).toBe(toHex(message3));
    const rest = decodeRequestRecord(parsed.message.subarray(reader.offset), cR);
    expect(rest.counter).toBe(1);
    const { session } = await responder.processMessage3(message3);
    const request = await openRequest(webCryptoAead, await deriveSessionKeys(session, 16), rest);
    expect(request.op).toBe("ping");
  });

  it("strips exactly the encoded C_R (int and byte-string forms)", () => {
    // h'27' is the one-byte int -8 and travels as that int; h'18' and longer ids are byte strings.
    const cases: [Uint8Array, number[]][] = [
      [Uint8Array.of(0x27), [0x27]],
      [Uint8Array.of(0x18), [0x41, 0x18]],
      [Uint8Array.of(1, 2, 3, 4), [0x44, 1, 2, 3, 4]],
    ];
    const tail = encodeSequence(1, Uint8Array.of(1, 2));
    for (const [cR, prefix] of cases) {
      expect(toHex(withoutConnectionId(new Uint8Array([...prefix, ...tail]), cR))).toBe(toHex(tail));
      expect(() => withoutConnectionId(tail, cR)).toThrow(SdkError);
    }
  });
});

describe("the SDK reproduces the independent session vectors", () => {
  const keys: SessionKeys = {
    keyI2R: fromHex(vectors.sessionKeys.keyI2R),
    keyR2I: fromHex(vectors.sessionKeys.keyR2I),
    ivI2R: fromHex(vectors.sessionKeys.ivI2R),
    ivR2I: fromHex(vectors.sessionKeys.ivR2I),
  };
  const cR = fromHex(vectors.connectionId);

  for (const v of vectors.requests) {
    it(`seals request ${v.counter} (${v.op})`, async () => {
      const args = new CborReader(fromHex(v.argsCbor)).next() as CborMap;
      expect(toHex(await sealRequest(nobleSessionAead, keys, cR, v.counter, { op: v.op, args }))).toBe(v.record);
    });
  }
  for (const v of vectors.responses) {
    it(`opens response ${v.counter}`, async () => {
      const response = await openSessionResponse(keys, cR, v.counter, fromHex(v.record));
      const body = response.ok ? [0, response.result] : [1, response.code, response.message];
      expect(toHex(encode(body))).toBe(v.bodyCbor);
    });
  }
});

describe("HTTP error responses become typed errors", () => {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
  const edhoc = (status: number, body: Uint8Array, code?: string) =>
    new Response(body, { status, headers: { "content-type": "application/edhoc+cbor-seq", ...(code ? { "gridkey-error": code } : {}) } });

  it("keeps the server's code from a JSON error", async () => {
    const e = await errorOf(json(401, { error: { code: "session_expired", message: "run EDHOC again" } }));
    expect(e).toMatchObject({ code: "session_expired", source: "http", status: 401, message: "run EDHOC again" });
  });

  it("reads EDHOC error messages: ERR_CODE 1, 2 (with SUITES_R) and 3", async () => {
    expect(await errorOf(edhoc(400, encodeErrorMessage(1, "EDHOC processing failed: mac_verification_failed")))).toMatchObject({
      code: "edhoc_rejected",
      source: "edhoc",
      edhoc: { errCode: 1, diagnostic: "EDHOC processing failed: mac_verification_failed" },
    });
    expect(await errorOf(edhoc(400, encodeErrorMessage(2, [6, 2])))).toMatchObject({ code: "edhoc_no_common_suite", edhoc: { errCode: 2, suitesR: [6, 2] } });
    expect(await errorOf(edhoc(400, encodeErrorMessage(3, true)))).toMatchObject({ code: "edhoc_unknown_credential", edhoc: { errCode: 3 } });
  });

  it("prefers the gridkey-error header's code for EDHOC refusals", async () => {
    const e = await errorOf(edhoc(403, encodeErrorMessage(1, "meter_revoked"), "meter_revoked"));
    expect(e).toMatchObject({ code: "meter_revoked", status: 403, edhoc: { errCode: 1, diagnostic: "meter_revoked" } });
  });

  it("falls back to http_error / bad_response for bodies it cannot read", async () => {
    expect(await errorOf(new Response("oops", { status: 502 }))).toMatchObject({ code: "http_error", status: 502 });
    expect(await errorOf(json(500, { nope: 1 }))).toMatchObject({ code: "http_error", status: 500 });
    expect(await errorOf(edhoc(400, Uint8Array.of(0xff)))).toMatchObject({ code: "bad_response", status: 400 });
  });
});

describe("MeterClient configuration", () => {
  const base = () => {
    const anchor = p256.keygen();
    return {
      baseUrl: "https://gridkey.invalid/",
      region: "north-1",
      meterId: "MTR-42",
      systemTitle: SYSTEM_TITLE,
      identityKey: p256.utils.randomSecretKey(),
      kek: randomBytes(16),
      trustAnchor: { kid: "0102030405060708", publicKey: toHex(p256.getPublicKey(anchor.secretKey, false)) },
      fetch: async () => {
        throw new Error("no network in this test");
      },
    };
  };

  it("builds the same CCS the server builds from the enrolled public key", () => {
    const options = base();
    const client = new MeterClient(options);
    const point = p256.getPublicKey(options.identityKey, false);
    const server = makeCcs({ subject: "MTR-42", kid: fromHex(SYSTEM_TITLE), curve: "P-256", x: point.slice(1, 33), y: point.slice(33) });
    expect(toHex(client.credential.bytes)).toBe(toHex(server.bytes));
    expect(client.connected).toBe(false);
  });

  it("refuses bad options with bad_config", () => {
    const bad = [
      { systemTitle: "0102" },
      { systemTitle: "zz02030405060708" },
      { identityKey: new Uint8Array(32) },
      { identityKey: new Uint8Array(31).fill(1) },
      { kek: new Uint8Array(32) },
      { dlmsSuite: 3 },
      { meterId: "" },
      { trustAnchor: { kid: "01", publicKey: "04" } },
      { baseUrl: "localhost:8787" },
      { baseUrl: "not a url" },
    ];
    for (const override of bad) {
      expect(() => new MeterClient({ ...base(), ...override } as never), JSON.stringify(Object.keys(override))).toThrow(
        expect.objectContaining({ name: "SdkError", code: "bad_config" }),
      );
    }
  });

  it("needs installed keys before a reading, and an authenticated security control byte", async () => {
    const client = new MeterClient(base());
    expect(await sdkCode(client.uploadReading(Uint8Array.of(0x0f)))).toBe("no_keys");
    expect(await sdkCode(client.uploadReading(Uint8Array.of(0x0f), 0x21))).toBe("bad_parameter");
    expect(await sdkCode(client.uploadReading(Uint8Array.of(0x0f), 0x30))).toBe("bad_parameter"); // suite 0 byte on a suite-1 meter
  });

  it("reports fetch failures as network_error", async () => {
    const client = new MeterClient(base());
    expect(await sdkCode(client.connect())).toBe("network_error");
    expect(client.connected).toBe(false);
  });
});
