/**
 * Fresh random handshakes between the initiator and the responder: equal exporter output on
 * both ends for every method and suite the providers support, failures on tampering with
 * message_2/3/4, unknown credentials, EAD handling, and misuse of the state machines.
 */
import { describe, expect, it } from "vitest";
import { EdhocInitiator, type InitiatorOptions } from "../../edhoc/initiator";
import { EdhocResponder, type ResponderOptions } from "../../edhoc/responder";
import type { EdhocCryptoProvider } from "../../edhoc/crypto-provider";
import type { LocalCredential } from "../../edhoc/credentials";
import type { Method } from "../../edhoc/auth";
import { EdhocError } from "../../edhoc/errors";
import { nobleProvider } from "../../edhoc/noble-provider";
import { webCryptoProvider } from "../../edhoc/webcrypto-provider";
import type { Curve } from "../../edhoc/suites";
import { continueRequest, message1Request, parseRequest } from "../../edhoc/transport";
import { edhocErrorOf, errCodeOf, freshCredential, PROVIDER_PAIRS, resolverOf, suiteOf, toHex } from "./helpers";

interface Parties {
  meter: LocalCredential;
  concentrator: LocalCredential;
}

/** Static DH keys on the suite's curve, or signature keys for the signing side. */
async function parties(p: EdhocCryptoProvider, suiteId: number, method: Method): Promise<Parties> {
  const suite = suiteOf(suiteId);
  const signCurve: Curve = suite.sign === "ES384" ? "P-384" : "P-256";
  const iCurve = method === 2 || method === 3 ? suite.curve : signCurve;
  const rCurve = method === 1 || method === 3 ? suite.curve : signCurve;
  return {
    meter: await freshCredential(p, iCurve, Uint8Array.of(0x0a, 0x01), "meter-0001"),
    concentrator: await freshCredential(p, rCurve, Uint8Array.of(0x05), "concentrator-east"),
  };
}

function endpoints(pi: EdhocCryptoProvider, pr: EdhocCryptoProvider, suiteId: number, method: Method, who: Parties, extra: { i?: Partial<InitiatorOptions>; r?: Partial<ResponderOptions> } = {}) {
  const initiator = new EdhocInitiator({ provider: pi, method, suites: [suiteId], credential: who.meter, resolveCredential: resolverOf(who.concentrator.credential), ...extra.i });
  const responder = new EdhocResponder({ provider: pr, methods: [method], suites: [suiteId], credential: who.concentrator, resolveCredential: resolverOf(who.meter.credential), ...extra.r });
  return { initiator, responder };
}

async function handshake(initiator: EdhocInitiator, responder: EdhocResponder) {
  await responder.processMessage1(await initiator.message1());
  await initiator.processMessage2(await responder.message2());
  const m3 = await initiator.message3();
  const result = await responder.processMessage3(m3);
  await initiator.processMessage4(await responder.message4());
  return result;
}

/** Both ends must export the same keys, one per direction, and agree on the OSCORE ids. */
async function expectSameKeys(initiator: EdhocInitiator, responder: EdhocResponder) {
  const ctx = new TextEncoder().encode("gridkey session");
  const [a, b] = [initiator.session, responder.session];
  for (const label of [32768, 32769]) {
    expect(toHex(await a.exporter(label, ctx, 16))).toBe(toHex(await b.exporter(label, ctx, 16)));
  }
  expect(toHex(await a.exporter(32768, ctx, 16))).not.toBe(toHex(await a.exporter(32769, ctx, 16)));
  const [oa, ob] = [await a.oscoreContext(), await b.oscoreContext()];
  expect(toHex(oa.masterSecret)).toBe(toHex(ob.masterSecret));
  expect(toHex(oa.senderId)).toBe(toHex(ob.recipientId));
  expect(toHex(oa.recipientId)).toBe(toHex(ob.senderId));
}

const COMBOS: { suite: number; method: Method }[] = [
  { suite: 2, method: 3 },
  { suite: 2, method: 0 },
  { suite: 2, method: 1 },
  { suite: 2, method: 2 },
  { suite: 3, method: 3 },
  { suite: 6, method: 3 },
  { suite: 6, method: 0 },
  { suite: 24, method: 3 },
  { suite: 24, method: 0 },
];

describe("fresh random handshakes", () => {
  it("every provider supports every suite exercised here", () => {
    for (const p of new Set(PROVIDER_PAIRS.flat())) {
      for (const { suite } of COMBOS) expect(p.supportsSuite(suiteOf(suite)), `${p.name}, suite ${suite}`).toBe(true);
    }
  });

  for (const [pi, pr] of PROVIDER_PAIRS) {
    for (const { suite, method } of COMBOS) {
      it(`method ${method}, suite ${suite}: ${pi.name} initiator, ${pr.name} responder agree`, async () => {
        const who = await parties(pi, suite, method);
        const { initiator, responder } = endpoints(pi, pr, suite, method, who);
        const { peerCredential } = await handshake(initiator, responder);
        expect(peerCredential.subject).toBe("meter-0001");
        expect(initiator.session.peerCredential.subject).toBe("concentrator-east");
        expect(initiator.state).toBe("persisted");
        expect(responder.state).toBe("persisted");
        await expectSameKeys(initiator, responder);
      });
    }
  }

  it("uses fresh ephemeral keys and connection identifiers by default", async () => {
    const who = await parties(nobleProvider, 2, 3);
    const a = endpoints(nobleProvider, webCryptoProvider, 2, 3, who);
    const b = endpoints(nobleProvider, webCryptoProvider, 2, 3, who);
    await handshake(a.initiator, a.responder);
    await handshake(b.initiator, b.responder);
    expect(toHex(a.initiator.session.prkOut)).not.toBe(toHex(b.initiator.session.prkOut));
    expect(a.responder.connectionId!.length).toBe(4);
    expect(toHex(a.responder.connectionId!)).not.toBe(toHex(a.initiator.connectionId));
  });
});

/** Runs a suite-2 method-3 handshake up to `step`, with `mutate` applied to one message. */
async function tampered(target: "message_2" | "message_3" | "message_4", mutate: (m: Uint8Array) => void, who: Parties) {
  const { initiator, responder } = endpoints(nobleProvider, webCryptoProvider, 2, 3, who);
  await responder.processMessage1(await initiator.message1());
  const m2 = await responder.message2();
  if (target === "message_2") {
    mutate(m2);
    return edhocErrorOf(() => initiator.processMessage2(m2));
  }
  await initiator.processMessage2(m2);
  const m3 = await initiator.message3();
  if (target === "message_3") {
    mutate(m3);
    return edhocErrorOf(() => responder.processMessage3(m3));
  }
  await responder.processMessage3(m3);
  const m4 = await responder.message4();
  mutate(m4);
  return edhocErrorOf(() => initiator.processMessage4(m4));
}

describe("tampering", () => {
  it.each(["message_2", "message_3", "message_4"] as const)("a flipped bit anywhere in %s fails the session", async (target) => {
    const who = await parties(nobleProvider, 2, 3);
    const length = { message_2: 45, message_3: 19, message_4: 9 }[target];
    const codes = new Set<string>();
    for (let byte = 0; byte < length; byte++) {
      const bit = byte % 8;
      const err = await tampered(target, (m) => void (m[byte]! ^= 1 << bit), who);
      expect(err.errorMessage, `byte ${byte}`).toBeDefined();
      codes.add(err.code);
    }
    // Whatever the first check to trip, nothing is accepted; the MAC / AEAD is the usual one.
    expect(codes.has(target === "message_2" ? "mac_verification_failed" : "decryption_failed")).toBe(true);
  });

  it("a message_3 from another session's keys fails decryption", async () => {
    const who = await parties(nobleProvider, 2, 3);
    const a = endpoints(nobleProvider, nobleProvider, 2, 3, who);
    const b = endpoints(nobleProvider, nobleProvider, 2, 3, who);
    for (const s of [a, b]) {
      await s.responder.processMessage1(await s.initiator.message1());
      await s.initiator.processMessage2(await s.responder.message2());
    }
    const err = await edhocErrorOf(async () => a.responder.processMessage3(await b.initiator.message3()));
    expect(err.code).toBe("decryption_failed");
  });
});

describe("credentials, EAD and errors", () => {
  it("an unknown meter kid is ERR_CODE 3 (unknown credential referenced)", async () => {
    const who = await parties(webCryptoProvider, 2, 3);
    const { initiator, responder } = endpoints(webCryptoProvider, webCryptoProvider, 2, 3, who, { r: { resolveCredential: async () => undefined } });
    await responder.processMessage1(await initiator.message1());
    await initiator.processMessage2(await responder.message2());
    const err = await edhocErrorOf(async () => responder.processMessage3(await initiator.message3()));
    expect(err.code).toBe("unknown_credential");
    expect(toHex(err.errorMessage!)).toBe("03f5");
  });

  it("a registered kid with a different key fails MAC_3", async () => {
    const who = await parties(webCryptoProvider, 2, 3);
    const impostor = await freshCredential(webCryptoProvider, "P-256", who.meter.credential.kid, "meter-0001");
    const { initiator, responder } = endpoints(webCryptoProvider, webCryptoProvider, 2, 3, { ...who, meter: impostor }, { r: { resolveCredential: resolverOf(who.meter.credential) } });
    await responder.processMessage1(await initiator.message1());
    await initiator.processMessage2(await responder.message2());
    const err = await edhocErrorOf(async () => responder.processMessage3(await initiator.message3()));
    expect(err.code).toBe("mac_verification_failed");
  });

  it("a credential of the wrong curve for the suite is refused", async () => {
    const who = await parties(nobleProvider, 2, 3);
    const x25519 = await freshCredential(nobleProvider, "X25519", who.meter.credential.kid, "meter-0001");
    const { initiator, responder } = endpoints(nobleProvider, nobleProvider, 2, 3, who, { r: { resolveCredential: () => x25519.credential } });
    await responder.processMessage1(await initiator.message1());
    await initiator.processMessage2(await responder.message2());
    const err = await edhocErrorOf(async () => responder.processMessage3(await initiator.message3()));
    expect(err.code).toBe("unsupported_credential");
  });

  it("EAD: padding is dropped, non-critical items reach the application, unsupported critical items abort", async () => {
    const who = await parties(nobleProvider, 2, 3);
    const padded = endpoints(nobleProvider, nobleProvider, 2, 3, who, {
      i: { ead1: [{ label: 0, value: new Uint8Array(5) }, { label: 40 }], ead3: [{ label: 41, value: Uint8Array.of(1) }] },
      r: { ead2: [{ label: 0 }], ead4: [{ label: -42, value: Uint8Array.of(2) }] },
    });
    await padded.responder.processMessage1(await padded.initiator.message1()).then((m1) => expect(m1.ead1).toEqual([{ label: 40 }]));
    const m2 = await padded.initiator.processMessage2(await padded.responder.message2());
    expect(m2.ead2).toEqual([]);
    const m3 = await padded.responder.processMessage3(await padded.initiator.message3());
    expect(m3.ead3).toEqual([{ label: 41, value: Uint8Array.of(1) }]);
    // EAD_4 is critical (-42) and the initiator does not support label 42.
    const err = await edhocErrorOf(async () => padded.initiator.processMessage4(await padded.responder.message4()));
    expect(err.code).toBe("critical_ead");

    const critical = endpoints(nobleProvider, nobleProvider, 2, 3, who, { i: { ead1: [{ label: -40 }] } });
    const err1 = await edhocErrorOf(async () => critical.responder.processMessage1(await critical.initiator.message1()));
    expect(err1.code).toBe("critical_ead");
    expect(errCodeOf(err1)).toBe(1);

    const supported = endpoints(nobleProvider, nobleProvider, 2, 3, who, { i: { ead1: [{ label: -40 }] }, r: { eadPolicy: { supported: [40] } } });
    const r1 = await supported.responder.processMessage1(await supported.initiator.message1());
    expect(r1.ead1).toEqual([{ label: -40 }]);
  });

  it("an unspecified error (ERR_CODE 1) from the responder aborts the initiator without a reply", async () => {
    const who = await parties(nobleProvider, 2, 3);
    const { initiator } = endpoints(nobleProvider, nobleProvider, 2, 3, who, { i: { method: 0 } });
    const m1 = await initiator.message1();
    const responder = new EdhocResponder({ provider: nobleProvider, suites: [2], credential: who.concentrator, resolveCredential: () => undefined });
    const rejected = await edhocErrorOf(() => responder.processMessage1(m1));
    expect(rejected.code).toBe("unsupported_method");
    const err = await edhocErrorOf(() => initiator.processMessage2(rejected.errorMessage!));
    expect(err.code).toBe("peer_error");
    expect(err.errCode).toBe(1);
    expect(err.errorMessage).toBeUndefined();
    expect(err.message).toContain("unsupported_method");
  });

  it("negotiates in both directions: a responder preferring nothing in SUITES_I lists all it has", async () => {
    const who = await parties(nobleProvider, 2, 3);
    const initiator = new EdhocInitiator({ provider: nobleProvider, method: 3, suites: [6], credential: await freshCredential(nobleProvider, "X25519", Uint8Array.of(1), "m"), resolveCredential: () => undefined });
    const responder = new EdhocResponder({ provider: nobleProvider, suites: [2, 3], credential: who.concentrator, resolveCredential: () => undefined });
    const err = await edhocErrorOf(async () => responder.processMessage1(await initiator.message1()));
    expect(err.suitesR).toEqual([2, 3]);
    expect(toHex(err.errorMessage!)).toBe("02820203");
    // A responder that supports a suite the initiator prefers over the selected one refuses too.
    const i2 = new EdhocInitiator({ provider: nobleProvider, method: 3, suites: [3, 2], peerSuites: [2], credential: who.meter, resolveCredential: () => undefined });
    const r2 = new EdhocResponder({ provider: nobleProvider, suites: [2, 3], credential: who.concentrator, resolveCredential: () => undefined });
    const err2 = await edhocErrorOf(async () => r2.processMessage1(await i2.message1()));
    expect(err2.suitesR).toEqual([3]);
  });

  it("refuses out-of-order calls and calls after an abort", async () => {
    const who = await parties(nobleProvider, 2, 3);
    const { initiator, responder } = endpoints(nobleProvider, nobleProvider, 2, 3, who);
    expect((await edhocErrorOf(() => initiator.message3())).code).toBe("invalid_state");
    expect((await edhocErrorOf(() => responder.message2())).code).toBe("invalid_state");
    expect(() => initiator.session).toThrow(EdhocError);
    await edhocErrorOf(() => responder.processMessage1(Uint8Array.of(0xff)));
    expect(responder.state).toBe("aborted");
    expect((await edhocErrorOf(() => responder.processMessage1(Uint8Array.of(0x03)))).code).toBe("invalid_state");
  });

  it("refuses bad local parameters", () => {
    const base = { provider: webCryptoProvider, credential: { credential: { bytes: new Uint8Array(0), kid: new Uint8Array(0), publicKey: { curve: "P-256" as const, x: new Uint8Array(32) } }, privateKey: new Uint8Array(32) }, resolveCredential: () => undefined };
    // Suite 0 (EdDSA) is known to RFC 9528 but implemented by neither provider; 99 is unknown.
    expect(() => new EdhocInitiator({ ...base, method: 3, suites: [0] })).toThrow(/not supported by the webcrypto provider/);
    expect(() => new EdhocInitiator({ ...base, method: 3, suites: [99] })).toThrow(/not supported by the webcrypto provider/);
    expect(() => new EdhocInitiator({ ...base, method: 3, suites: [] })).toThrow(EdhocError);
    expect(() => new EdhocInitiator({ ...base, method: 3, suites: [2, 2] })).toThrow(EdhocError);
    expect(() => new EdhocInitiator({ ...base, method: 3, suites: [2], peerSuites: [6] })).toThrow(/no cipher suite in common/);
    expect(() => new EdhocInitiator({ ...base, method: 3, suites: [2], connectionId: new Uint8Array(8) })).toThrow(EdhocError);
    expect(() => new EdhocInitiator({ ...base, method: 4 as Method, suites: [2] })).toThrow(EdhocError);
  });
});

describe("request framing (RFC 9528 Appendix A.2, over HTTPS)", () => {
  it("carries message_1 after `true` and message_3 after C_R", async () => {
    const who = await parties(nobleProvider, 2, 3);
    const { initiator, responder } = endpoints(nobleProvider, webCryptoProvider, 2, 3, who, { r: { connectionId: Uint8Array.of(0x27) } });
    const req1 = parseRequest(message1Request(await initiator.message1()));
    expect(req1.kind).toBe("message_1");
    await responder.processMessage1(req1.message);
    const { connectionIdResponder } = await initiator.processMessage2(await responder.message2());
    const body3 = continueRequest(connectionIdResponder, await initiator.message3());
    expect(body3[0]).toBe(0x27); // one-byte identifier, sent as the int -8
    const req3 = parseRequest(body3);
    if (req3.kind !== "continue") throw new Error("expected a continued session");
    expect(toHex(req3.connectionIdResponder)).toBe("27");
    await responder.processMessage3(req3.message);
    expect(responder.state).toBe("completed");
  });

  it("refuses malformed correlation items", () => {
    const code = (h: string) => {
      try {
        parseRequest(Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16)));
      } catch (e) {
        return (e as EdhocError).code;
      }
      return undefined;
    };
    expect(code("")).toBe("wrong_element_count");
    expect(code("4127" + "40")).toBe("non_compact_identifier");
    expect(code("27")).toBe("wrong_element_count");
    expect(code("6161" + "40")).toBe("unexpected_type");
    expect(code("1800" + "40")).toBe("cbor_non_shortest");
  });
});
