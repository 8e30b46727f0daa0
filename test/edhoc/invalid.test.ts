/**
 * RFC 9529 §4: every invalid message is fed to the real responder (message_1) or initiator
 * (message_2 / PLAINTEXT_2) and must be rejected with the stated error code and an EDHOC
 * error message to send back. The invalid PLAINTEXT_2 examples are encrypted with the
 * KEYSTREAM_2 of trace 2 (which depends only on G_Y and message_1), so they go through the
 * initiator's whole message_2 path.
 *
 * Two examples are for other cipher suites:
 * - §4.2.1 selects suite 24 (P-384). A suite-2 responder answers ERR_CODE 2 (SUITES_R = 2)
 *   before looking at G_X; a suite-24 responder (noble provider only) rejects the length.
 * - §4.2.4 selects suite 0 (X25519, EdDSA), which we do not implement: a suite-2 responder
 *   answers ERR_CODE 2. The all-zero X25519 check itself is exercised with the same G_X
 *   under suite 6 (X25519), which we do implement.
 */
import { describe, expect, it } from "vitest";
import { concat, encode } from "../../edhoc/cbor";
import { EdhocInitiator } from "../../edhoc/initiator";
import { EdhocResponder } from "../../edhoc/responder";
import { KeySchedule, xor } from "../../edhoc/key-schedule";
import type { EdhocCryptoProvider } from "../../edhoc/crypto-provider";
import { nobleProvider } from "../../edhoc/noble-provider";
import {
  edhocErrorOf,
  errCodeOf,
  freshCredential,
  invalidTrace,
  PROVIDERS,
  resolverOf,
  suiteOf,
  t2,
  traceInitiator,
  traceResponder,
  hex,
  type EdhocErrorCode,
} from "./helpers";

type Target = "responder: message_1" | "initiator: message_2" | "initiator: PLAINTEXT_2";

/** The stated outcome for each §4 example (by section). */
const EXPECTED: Record<string, { target: Target; code: EdhocErrorCode; errCode: number }> = {
  "4.1.1": { target: "responder: message_1", code: "unexpected_type", errCode: 1 }, // METHOD is an array
  "4.1.2": { target: "responder: message_1", code: "non_compact_identifier", errCode: 1 },
  "4.1.3": { target: "responder: message_1", code: "invalid_suites", errCode: 1 },
  "4.1.4": { target: "responder: message_1", code: "unexpected_type", errCode: 1 }, // G_X is a text string
  "4.1.5": { target: "initiator: message_2", code: "wrong_element_count", errCode: 1 },
  "4.1.6": { target: "initiator: PLAINTEXT_2", code: "non_compact_id_cred", errCode: 1 },
  "4.1.7": { target: "initiator: PLAINTEXT_2", code: "non_compact_identifier", errCode: 1 },
  "4.2.1": { target: "responder: message_1", code: "wrong_selected_suite", errCode: 2 }, // suite 24 not offered
  "4.2.2": { target: "responder: message_1", code: "invalid_public_key", errCode: 1 },
  "4.2.3": { target: "responder: message_1", code: "invalid_public_key", errCode: 1 },
  "4.2.4": { target: "responder: message_1", code: "wrong_selected_suite", errCode: 2 }, // suite 0 not offered
  "4.2.5": { target: "initiator: PLAINTEXT_2", code: "invalid_mac_length", errCode: 1 },
  "4.2.6": { target: "responder: message_1", code: "invalid_key_length", errCode: 1 },
  "4.3.1": { target: "responder: message_1", code: "cbor_non_shortest", errCode: 1 },
  "4.3.2": { target: "responder: message_1", code: "cbor_indefinite_length", errCode: 1 },
};

function responder(provider: EdhocCryptoProvider, suites = [2]) {
  return new EdhocResponder({ provider, suites, credential: traceResponder, resolveCredential: resolverOf(traceInitiator.credential) });
}

/** The trace-2 initiator after sending its second message_1 (SUITES_I = [6, 2]), waiting for message_2. */
async function waitingInitiator(provider: EdhocCryptoProvider) {
  const x25519 = await freshCredential(provider, "X25519", Uint8Array.of(0x2b), "unused suite-6 key");
  const initiator = new EdhocInitiator({
    provider,
    method: 3,
    suites: [6, 2],
    peerSuites: [2],
    credential: (suite) => (suite.id === 2 ? traceInitiator : x25519),
    resolveCredential: resolverOf(traceResponder.credential),
    connectionId: t2("3.3", "C_I"),
    ephemeralKey: { privateKey: t2("3.3", "X") },
  });
  expect(await initiator.message1()).toEqual(t2("3.3", "message_1"));
  return initiator;
}

/** message_2 carrying `plaintext2`, encrypted with trace 2's G_Y, TH_2 and PRK_2e. */
async function message2With(provider: EdhocCryptoProvider, plaintext2: Uint8Array): Promise<Uint8Array> {
  const ks = new KeySchedule(provider, suiteOf(2));
  const keystream = await ks.keystream2(t2("3.4", "PRK_2e"), t2("3.4", "TH_2"), plaintext2.length);
  return encode(concat(t2("3.4", "G_Y"), xor(plaintext2, keystream)));
}

async function rejection(provider: EdhocCryptoProvider, target: Target, bytes: Uint8Array) {
  if (target === "responder: message_1") {
    const r = responder(provider);
    const err = await edhocErrorOf(() => r.processMessage1(bytes));
    expect(r.state).toBe("aborted");
    return err;
  }
  const initiator = await waitingInitiator(provider);
  const m2 = target === "initiator: message_2" ? bytes : await message2With(provider, bytes);
  const err = await edhocErrorOf(() => initiator.processMessage2(m2));
  expect(initiator.state).toBe("aborted");
  return err;
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))("RFC 9529 §4 invalid messages (%s provider)", (_n, provider) => {
  it("covers all 15 examples", () => {
    expect(invalidTrace.map((e) => e.rfc9529Section).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(invalidTrace.map((e) => [e.rfc9529Section, e.sectionTitle ?? e.name, e] as const))("§%s %s", async (section, _title, entry) => {
    const expected = EXPECTED[section]!;
    const err = await rejection(provider, expected.target, hex(entry.hex!));
    expect(err.code).toBe(expected.code);
    expect(errCodeOf(err)).toBe(expected.errCode);
    if (expected.errCode === 2) expect(err.suitesR).toEqual([2]);
  });
});

describe("RFC 9529 §4 examples for other suites, where we implement them", () => {
  const entry = (section: string) => hex(invalidTrace.find((e) => e.rfc9529Section === section)!.hex!);

  it("§4.2.1: a suite-24 responder rejects the 32-byte G_X as the wrong length for P-384", async () => {
    const r = new EdhocResponder({
      provider: nobleProvider,
      suites: [24],
      credential: await freshCredential(nobleProvider, "P-384", Uint8Array.of(1), "p384"),
      resolveCredential: () => undefined,
    });
    const err = await edhocErrorOf(() => r.processMessage1(entry("4.2.1")));
    expect(err.code).toBe("invalid_key_length");
  });

  it.each(PROVIDERS.map((p) => [p.name, p] as const))(
    "§4.2.4 under suite 6 (X25519): the low-order point fails the all-zero check (%s)",
    async (_n, provider) => {
      const m1 = entry("4.2.4");
      m1[1] = 0x06; // SUITES_I = 6 instead of 0
      const r = new EdhocResponder({
        provider,
        suites: [6],
        credential: await freshCredential(provider, "X25519", Uint8Array.of(1), "x25519"),
        resolveCredential: () => undefined,
      });
      const err = await edhocErrorOf(() => r.processMessage1(m1));
      expect(err.code).toBe("invalid_public_key");
      expect(errCodeOf(err)).toBe(1);
    },
  );
});
