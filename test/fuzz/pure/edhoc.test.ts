/**
 * Fuzzing the EDHOC library (edhoc/): the strict CBOR decoder, every message decoder, the
 * request prefixes of the HTTP transport, credentials, and the state machines on mutated real
 * messages. Each input either parses or throws the library's own error (CborError for the
 * bare decoder, EdhocError for everything above it); a TypeError or RangeError is a defect.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { CborError, CborReader, decode, decodeSequence, encode } from "../../../edhoc/cbor";
import { parseCcs, readIdCred } from "../../../edhoc/credentials";
import { EdhocError } from "../../../edhoc/errors";
import { EdhocInitiator } from "../../../edhoc/initiator";
import { decodeErrorMessage, decodeMessage1, decodePlaintext2, decodePlaintext3, decodePlaintext4, decodeSingleBstr } from "../../../edhoc/messages";
import { EdhocResponder } from "../../../edhoc/responder";
import { continueRequest, message1Request, parseRequest } from "../../../edhoc/transport";
import { webCryptoProvider } from "../../../edhoc/webcrypto-provider";
import { nobleProvider } from "../../../edhoc/noble-provider";
import { freshCredential, resolverOf } from "../../edhoc/helpers";
import type { LocalCredential } from "../../../edhoc/credentials";
import { budgetMs, check, bytes, cborBytes, cborSequence, cborValue, mutationOf, mutationOfAny, onlyRejects, onlyThrows, params } from "../fuzz";

const PURE = 2000; // CI cases per pure property
const ASYNC = 150; // CI cases per state-machine property (ECDH and AEAD per case)

describe("fuzz: CBOR decoder", () => {
  it("decode / decodeSequence: a value or a CborError, nothing else", { timeout: budgetMs(PURE, 1) }, async () => {
    await check(
      fc.property(fc.oneof(bytes(), cborBytes, cborSequence), (input) => {
        onlyThrows(() => decode(input), CborError);
        onlyThrows(() => decodeSequence(input, { requireSortedKeys: true }), CborError);
        onlyThrows(() => new CborReader(input, { maxDepth: 3 }).nextWithRaw(), CborError);
      }),
      params(PURE),
    );
  });

  it("a decoded item re-encodes to the same bytes (the decoder accepts only deterministic encodings)", { timeout: budgetMs(PURE, 1) }, async () => {
    await check(
      fc.property(fc.oneof(bytes(), cborBytes), (input) => {
        const value = onlyThrows(() => decode(input, { requireSortedKeys: true }), CborError);
        if (value !== undefined) expect(encode(value)).toEqual(input);
      }),
      params(PURE),
    );
  });

  it("round trip: encode then decode gives the value back", { timeout: budgetMs(PURE, 1) }, async () => {
    await check(
      fc.property(cborValue, (value) => {
        expect(encode(decode(encode(value)))).toEqual(encode(value));
      }),
      params(PURE),
    );
  });

  it("oversized and deeply nested inputs are refused by their heads, without a stack overflow or a large allocation", () => {
    const deep = new Uint8Array(200_000).fill(0x81); // [[[[...]]]]
    expect(() => decode(deep)).toThrow(expect.objectContaining({ code: "cbor_too_deep" }));
    const huge = Uint8Array.of(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff); // a byte string of 2^64-1 bytes
    expect(() => decode(huge)).toThrow(expect.objectContaining({ code: "cbor_length_exceeds_input" }));
    const wide = Uint8Array.of(0x9a, 0xff, 0xff, 0xff, 0xff); // an array of 2^32-1 items
    expect(() => decode(wide)).toThrow(expect.objectContaining({ code: "cbor_length_exceeds_input" }));
  });

  it("mutations of encoded values: a value or a CborError", { timeout: budgetMs(PURE, 1) }, async () => {
    await check(
      fc.property(
        cborBytes.filter((b) => b.length > 0).chain((b) => mutationOf(b)),
        (input) => void onlyThrows(() => decode(input), CborError),
      ),
      params(PURE),
    );
  });
});

describe("fuzz: EDHOC message decoders", () => {
  let real: { message1: Uint8Array; message2: Uint8Array; message3: Uint8Array; cR: Uint8Array; errorMessage: Uint8Array };
  beforeAll(async () => {
    real = await realHandshake();
  });

  const decoders: Array<[string, (b: Uint8Array) => unknown]> = [
    ["parseRequest", (b) => parseRequest(b)],
    ["decodeMessage1", (b) => decodeMessage1(b, undefined)],
    ["decodeSingleBstr", (b) => decodeSingleBstr(b, "message_2")],
    ["decodePlaintext2", (b) => decodePlaintext2(b, 8, undefined)],
    ["decodePlaintext3", (b) => decodePlaintext3(b, 8, { supported: [1] })],
    ["decodePlaintext4", (b) => decodePlaintext4(b, undefined)],
    ["decodeErrorMessage", (b) => decodeErrorMessage(b)],
    ["readIdCred", (b) => readIdCred(new CborReader(b), "ID_CRED_I")],
    ["parseCcs", (b) => parseCcs(b)],
  ];

  for (const [name, decoder] of decoders) {
    it(`${name}: a value or an EdhocError`, { timeout: budgetMs(PURE, 1) }, async () => {
      const valid = () => [real.message1, message1Request(real.message1), continueRequest(real.cR, real.message3), real.message2, real.message3, real.errorMessage, encode(credentialBytes)];
      await check(
        fc.property(fc.oneof(bytes(), cborSequence, mutationOfAny(valid())), (input) => void onlyThrows(() => decoder(input), EdhocError)),
        params(PURE),
      );
    });
  }
});

describe("fuzz: EDHOC state machines on mutated real messages", () => {
  let fixture: Awaited<ReturnType<typeof fixedHandshake>>;
  beforeAll(async () => {
    fixture = await fixedHandshake();
  });

  it("responder, message_1 (prefixed `true`, as the concentrator reads it): message_2 or an EdhocError", { timeout: budgetMs(ASYNC, 20) }, async () => {
    await check(
      fc.asyncProperty(fc.oneof(mutationOf(message1Request(fixture.message1)), bytes()), async (body) => {
        await onlyRejects(async () => {
          const request = parseRequest(body);
          if (request.kind !== "message_1") return;
          const responder = fixture.responder();
          await responder.processMessage1(request.message);
          await responder.message2();
        }, EdhocError);
      }),
      params(ASYNC),
    );
  });

  it("responder, message_3: a session only for the real message_3, else an EdhocError", { timeout: budgetMs(ASYNC, 20) }, async () => {
    await check(
      fc.asyncProperty(mutationOf(fixture.message3), async (message3) => {
        const responder = fixture.responder();
        await responder.processMessage1(fixture.message1);
        await responder.message2();
        const done = await onlyRejects(() => responder.processMessage3(message3), EdhocError);
        if (done) expect(message3).toEqual(fixture.message3);
      }),
      params(ASYNC),
    );
  });

  it("initiator (the meter's side), message_2: accepted only when real, else an EdhocError", { timeout: budgetMs(ASYNC, 20) }, async () => {
    await check(
      fc.asyncProperty(fc.oneof(mutationOf(fixture.message2), bytes()), async (message2) => {
        const initiator = fixture.initiator();
        await initiator.message1();
        const done = await onlyRejects(() => initiator.processMessage2(message2), EdhocError);
        if (done) expect(message2).toEqual(fixture.message2);
      }),
      params(ASYNC),
    );
  });

  it("regression: the fixed messages themselves complete a handshake", async () => {
    const responder = fixture.responder();
    await responder.processMessage1(fixture.message1);
    expect(await responder.message2()).toEqual(fixture.message2);
    expect((await responder.processMessage3(fixture.message3)).peerCredential.kid).toEqual(fixture.initiatorCredential.credential.kid);
  });
});

const credentialBytes = new Uint8Array([0xa1, 0x08, 0xa1, 0x01, 0xa2, 0x01, 0x02, 0x20, 0x01]);

/** One real handshake (random keys) for the decoders' valid inputs. */
async function realHandshake() {
  const i = await freshCredential(nobleProvider, "P-256", Uint8Array.of(0x2b), "meter");
  const r = await freshCredential(nobleProvider, "P-256", Uint8Array.of(0x32), "concentrator");
  const initiator = new EdhocInitiator({ provider: nobleProvider, method: 3, suites: [2], credential: i, resolveCredential: resolverOf(r.credential) });
  const responder = new EdhocResponder({ provider: webCryptoProvider, suites: [2, 24], credential: r, resolveCredential: resolverOf(i.credential) });
  const message1 = await initiator.message1();
  await responder.processMessage1(message1);
  const message2 = await responder.message2();
  const { connectionIdResponder: cR } = await initiator.processMessage2(message2);
  const message3 = await initiator.message3();
  await responder.processMessage3(message3);
  // A real error message: what a responder sends for a wrong selected suite.
  const refusal = new EdhocResponder({ provider: webCryptoProvider, suites: [24], credential: r, resolveCredential: resolverOf(i.credential) });
  const err = await refusal.processMessage1(message1).catch((e: EdhocError) => e);
  return { message1, message2, message3, cR, errorMessage: (err as EdhocError).errorMessage! };
}

/**
 * A handshake whose every message is reproducible: injected ephemeral keys and fixed
 * connection identifiers, so a fresh responder (or initiator) per case reaches the state
 * where the real next message is valid, and a mutated one is the only difference.
 */
async function fixedHandshake() {
  const initiatorCredential: LocalCredential = await freshCredential(nobleProvider, "P-256", Uint8Array.of(0x2b), "meter");
  const responderCredential: LocalCredential = await freshCredential(nobleProvider, "P-256", Uint8Array.of(0x32), "concentrator");
  const x = await nobleProvider.generateKeyPair("P-256");
  const y = await nobleProvider.generateKeyPair("P-256");
  const initiator = () =>
    new EdhocInitiator({
      provider: nobleProvider,
      method: 3,
      suites: [2],
      credential: initiatorCredential,
      resolveCredential: resolverOf(responderCredential.credential),
      connectionId: Uint8Array.of(0x0e),
      ephemeralKey: x,
    });
  const responder = () =>
    new EdhocResponder({
      provider: webCryptoProvider,
      methods: [3],
      suites: [2, 24],
      credential: responderCredential,
      resolveCredential: resolverOf(initiatorCredential.credential),
      connectionId: Uint8Array.of(0x11, 0x22, 0x33, 0x44),
      ephemeralKey: y,
    });
  const i = initiator();
  const r = responder();
  const message1 = await i.message1();
  await r.processMessage1(message1);
  const message2 = await r.message2();
  await i.processMessage2(message2);
  const message3 = await i.message3();
  return { initiator, responder, message1, message2, message3, initiatorCredential };
}
