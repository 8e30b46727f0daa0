/**
 * RFC 9529 trace 2 (method 3, cipher suite 2, CCS identified by kid), reproduced byte for
 * byte by the real initiator and responder talking to each other, with the trace's
 * ephemeral keys and connection identifiers injected: the first message_1 (suite 6), the
 * error with SUITES_R, the retried message_1, message_2..4, every intermediate value the
 * RFC prints (compared through the trace hook), PRK_out, PRK_exporter, the OSCORE master
 * secret and salt, and the KeyUpdate results. Run for every provider pairing.
 */
import { describe, expect, it } from "vitest";
import { EdhocInitiator } from "../../edhoc/initiator";
import { EdhocResponder } from "../../edhoc/responder";
import type { TraceLabel } from "../../edhoc/key-schedule";
import type { EdhocCryptoProvider } from "../../edhoc/crypto-provider";
import {
  edhocErrorOf,
  freshCredential,
  PROVIDER_PAIRS,
  resolverOf,
  t2,
  t2Last,
  toHex,
  traceInitiator,
  traceResponder,
} from "./helpers";

/** Intermediate values the RFC prints for trace 2 that both ends must reproduce. */
const REQUIRED: readonly TraceLabel[] = [
  "H(message_1)", "TH_2", "G_XY", "PRK_2e", "G_RX", "SALT_3e2m", "PRK_3e2m", "MAC_2", "PLAINTEXT_2", "KEYSTREAM_2",
  "TH_3", "G_IY", "SALT_4e3m", "PRK_4e3m", "MAC_3", "PLAINTEXT_3", "K_3", "IV_3", "TH_4", "K_4", "IV_4", "PRK_out", "PRK_exporter",
];

/** Collects traced values and checks each against the RFC's printed value of the same name. */
class TraceCheck {
  readonly seen = new Set<TraceLabel>();
  readonly mismatches: string[] = [];
  constructor(private readonly side: string) {}
  hook = (label: TraceLabel, value: Uint8Array): void => {
    const expected = t2Last(label);
    if (!expected) {
      this.mismatches.push(`${this.side} ${label}: not printed in the RFC`);
    } else if (toHex(value) !== toHex(expected)) {
      this.mismatches.push(`${this.side} ${label}: ${toHex(value)} != ${toHex(expected)}`);
    }
    this.seen.add(label);
  };
}

/** The initiator "supports suites 6 and 2": for suite 6 it holds an X25519 key (never used here). */
async function initiatorCredentials(provider: EdhocCryptoProvider) {
  const x25519 = await freshCredential(provider, "X25519", Uint8Array.of(0x2b), "unused suite-6 key");
  return (suite: { id: number }) => (suite.id === 2 ? traceInitiator : x25519);
}

async function runTrace2(pi: EdhocCryptoProvider, pr: EdhocCryptoProvider) {
  const credential = await initiatorCredentials(pi);
  const common = { method: 3 as const, suites: [6, 2], credential, resolveCredential: resolverOf(traceResponder.credential) };
  const responderOptions = { provider: pr, suites: [2], credential: traceResponder, resolveCredential: resolverOf(traceInitiator.credential) };

  // §3.1-3.2: the first message_1 selects suite 6; a suite-2-only responder answers ERR_CODE 2.
  // RFC 9529 prints a P-256 key as G_X although suite 6 uses X25519, so the printed key pair
  // is injected as is (the session is aborted before the key is used).
  const first = new EdhocInitiator({ ...common, provider: pi, connectionId: t2("3.1", "C_I"), ephemeralKey: { privateKey: t2("3.1", "X"), publicKey: t2("3.1", "G_X") } });
  const m1First = await first.message1();
  const rejected = await edhocErrorOf(() => new EdhocResponder(responderOptions).processMessage1(m1First));
  const peerError = await edhocErrorOf(() => first.processMessage2(rejected.errorMessage!));

  // §3.3-3.9: retry with SUITES_I = [6, 2], then the full exchange.
  const ti = new TraceCheck("initiator");
  const tr = new TraceCheck("responder");
  const initiator = new EdhocInitiator({ ...common, provider: pi, peerSuites: peerError.suitesR!, connectionId: t2("3.3", "C_I"), ephemeralKey: { privateKey: t2("3.3", "X") }, trace: ti.hook });
  const responder = new EdhocResponder({ ...responderOptions, connectionId: t2("3.4", "C_R"), ephemeralKey: { privateKey: t2("3.4", "Y") }, trace: tr.hook });
  const m1 = await initiator.message1();
  const m1Result = await responder.processMessage1(m1);
  const m2 = await responder.message2();
  const m2Result = await initiator.processMessage2(m2);
  const m3 = await initiator.message3();
  const m3Result = await responder.processMessage3(m3);
  const m4 = await responder.message4();
  await initiator.processMessage4(m4);
  return { m1First, rejected, peerError, m1, m1Result, m2, m2Result, m3, m3Result, m4, initiator, responder, ti, tr };
}

describe.each(PROVIDER_PAIRS.map(([i, r]) => [`${i.name} initiator, ${r.name} responder`, i, r] as const))(
  "RFC 9529 trace 2: %s",
  (_name, pi, pr) => {
    it("reproduces every message, intermediate value and output byte for byte", async () => {
      const run = await runTrace2(pi, pr);
      // §3.1-3.2: negotiation.
      expect(toHex(run.m1First)).toBe(toHex(t2("3.1", "message_1")));
      expect(run.rejected.code).toBe("wrong_selected_suite");
      expect(toHex(run.rejected.errorMessage!)).toBe(toHex(t2("3.2", "error")));
      expect(run.peerError.code).toBe("peer_error");
      expect(run.peerError.suitesR).toEqual([2]);
      // §3.3-3.6: the messages.
      expect(toHex(run.m1)).toBe(toHex(t2("3.3", "message_1")));
      expect(toHex(run.m2)).toBe(toHex(t2("3.4", "message_2")));
      expect(toHex(run.m3)).toBe(toHex(t2("3.5", "message_3")));
      expect(toHex(run.m4)).toBe(toHex(t2("3.6", "message_4")));
      expect(run.m1Result).toMatchObject({ method: 3, selectedSuite: 2 });
      expect(toHex(run.m2Result.connectionIdResponder)).toBe("27");
      expect(toHex(run.m3Result.peerCredential.bytes)).toBe(toHex(traceInitiator.credential.bytes));
      // Every intermediate value both ends computed equals the RFC's, and none is missing.
      expect([...run.ti.mismatches, ...run.tr.mismatches]).toEqual([]);
      const missing = (seen: Set<TraceLabel>) => REQUIRED.filter((l) => !seen.has(l));
      expect(missing(run.ti.seen)).toEqual([]);
      expect(missing(run.tr.seen)).toEqual([]);
      expect(run.tr.seen.has("CIPHERTEXT_2") && run.ti.seen.has("CIPHERTEXT_3") && run.tr.seen.has("CIPHERTEXT_4")).toBe(true);
    });

    it("derives PRK_out, PRK_exporter, the OSCORE context and KeyUpdate as the RFC prints", async () => {
      const { initiator, responder } = await runTrace2(pi, pr);
      for (const session of [initiator.session, responder.session]) {
        expect(toHex(session.prkOut)).toBe(toHex(t2("3.7", "PRK_out")));
        expect(toHex(session.prkExporter)).toBe(toHex(t2("3.7", "PRK_exporter")));
        const oscore = await session.oscoreContext();
        expect(toHex(oscore.masterSecret)).toBe(toHex(t2("3.8", "OSCORE Master Secret")));
        expect(toHex(oscore.masterSalt)).toBe(toHex(t2("3.8", "OSCORE Master Salt")));
        expect(oscore.aeadAlgorithm).toBe(10);
        expect(oscore.hashAlgorithm).toBe(-16);
      }
      // Appendix A.1: the client (initiator) sends with C_R, the server with C_I.
      expect(toHex((await initiator.session.oscoreContext()).senderId)).toBe(toHex(t2("3.8", "Client's OSCORE Sender ID")));
      expect(toHex((await responder.session.oscoreContext()).senderId)).toBe(toHex(t2("3.8", "Server's OSCORE Sender ID")));
      const context = t2("3.9", "context for KeyUpdate", "raw");
      for (const session of [initiator.session, responder.session]) {
        await session.keyUpdate(context);
        expect(toHex(session.prkOut)).toBe(toHex(t2("3.9", "PRK_out after KeyUpdate")));
        expect(toHex(session.prkExporter)).toBe(toHex(t2("3.9", "PRK_exporter after KeyUpdate")));
        const oscore = await session.oscoreContext();
        expect(toHex(oscore.masterSecret)).toBe(toHex(t2("3.9", "OSCORE Master Secret after KeyUpdate")));
        expect(toHex(oscore.masterSalt)).toBe(toHex(t2("3.9", "OSCORE Master Salt after KeyUpdate")));
      }
    });
  },
);
