/**
 * The EDHOC Responder (RFC 9528 §5, Appendix I.2): message_1 → message_2 → message_3 →
 * (message_4). Every processing failure throws an EdhocError whose `errorMessage` is the
 * EDHOC error message to send back (ERR_CODE 2 with SUITES_R for a wrong selected suite).
 */
import { encode } from "./cbor.js";
import {
  checkSignatureOrMac,
  computeMac,
  credentialFits,
  initiatorUsesStaticDh,
  isMethod,
  produceSignatureOrMac,
  responderUsesStaticDh,
  signatureOrMacLength,
  type AuthInput,
  type Method,
} from "./auth.js";
import {
  checkConnectionId,
  checkSuites,
  ephemeralKey,
  ownCredential,
  randomConnectionId,
  sameBytes,
  StateGuard,
  wipe,
  type CredentialResolver,
  type CredentialSource,
  type InjectedKey,
} from "./common.js";
import type { EdhocCryptoProvider, KeyPair } from "./crypto-provider.js";
import type { EdhocCredential, LocalCredential } from "./credentials.js";
import { encodeEad, type EadItem, type EadPolicy } from "./ead.js";
import { EdhocError } from "./errors.js";
import { KeySchedule, xor, type TraceHook } from "./key-schedule.js";
import {
  decodeErrorMessage,
  decodeMessage1,
  decodePlaintext3,
  decodeSingleBstr,
  encodePlaintext2,
  isErrorMessage,
  type Message1,
  type Plaintext3,
} from "./messages.js";
import { completeSession, sealMessage4, type EdhocSession } from "./session.js";
import { coordinateLength, getSuite, type CipherSuite } from "./suites.js";
import { encryptStructure, transcriptHash2, transcriptHash3, transcriptHash4 } from "./transcript.js";

export interface ResponderOptions {
  readonly provider: EdhocCryptoProvider;
  /** Methods we accept (default [3]: static DH both sides). */
  readonly methods?: readonly Method[];
  /** Suites we support (order does not matter, §6.3.2). */
  readonly suites: readonly number[];
  readonly credential: CredentialSource;
  /** ID_CRED_I (kid) → CRED_I; the server looks meters up in its registry. */
  readonly resolveCredential: CredentialResolver;
  /**
   * C_R; default 4 fresh random bytes (distinct from C_I). A server correlating message_3 by
   * C_R should pass identifiers it knows to be unused.
   */
  readonly connectionId?: Uint8Array;
  readonly ephemeralKey?: InjectedKey;
  readonly ead2?: readonly EadItem[];
  readonly ead4?: readonly EadItem[];
  readonly eadPolicy?: EadPolicy;
  /** Test-vector hook: receives intermediate secrets. Never set in production. */
  readonly trace?: TraceHook;
}

/** What message_1 told us. */
export interface Message1Result {
  readonly method: Method;
  readonly selectedSuite: number;
  readonly connectionIdInitiator: Uint8Array;
  readonly ead1: EadItem[];
}

/** What message_3 told us: the authenticated initiator and the session keys. */
export interface Message3Result {
  readonly session: EdhocSession;
  readonly peerCredential: EdhocCredential;
  readonly ead3: EadItem[];
}

type State = "start" | "verified_m1" | "wait_m3" | "completed" | "persisted";

const DEFAULT_CR_LENGTH = 4;

export class EdhocResponder {
  private readonly guard = new StateGuard<State>("start");
  private readonly provider: EdhocCryptoProvider;
  private readonly methods: readonly Method[];
  private readonly suites: CipherSuite[];
  // Filled in as the session advances.
  private m1: (Message1 & { method: Method; suite: CipherSuite; ks: KeySchedule; hash: Uint8Array }) | undefined;
  private y: KeyPair | undefined;
  private cR: Uint8Array | undefined;
  private gXY: Uint8Array | undefined;
  private m2: { th3: Uint8Array; prk3e2m: Uint8Array } | undefined;
  private m4: { prk4e3m: Uint8Array; th4: Uint8Array } | undefined;
  private sessionValue: EdhocSession | undefined;

  constructor(private readonly options: ResponderOptions) {
    this.provider = options.provider;
    this.methods = options.methods ?? [3];
    if (this.methods.length === 0 || !this.methods.every(isMethod)) throw new EdhocError("bad_parameter", "methods must be a non-empty subset of 0..3");
    this.suites = checkSuites(options.provider, options.suites);
    if (options.connectionId) this.cR = checkConnectionId(options.connectionId);
  }

  get state(): string {
    return this.guard.state;
  }

  get connectionId(): Uint8Array | undefined {
    return this.cR?.slice();
  }

  get session(): EdhocSession {
    if (!this.sessionValue) throw new EdhocError("invalid_state", "no session before message_3 is verified");
    return this.sessionValue;
  }

  /** Decodes and checks message_1: method, cipher suite negotiation, G_X. */
  processMessage1(bytes: Uint8Array): Promise<Message1Result> {
    return this.guard.run("start", "verified_m1", "processMessage1", () => this.readMessage1(bytes));
  }

  /** message_2 = ( G_Y_CIPHERTEXT_2 ). */
  message2(): Promise<Uint8Array> {
    return this.guard.run("verified_m1", "wait_m3", "message2", () => this.writeMessage2());
  }

  /** Processes message_3 (or the initiator's error message) and authenticates the initiator. */
  processMessage3(bytes: Uint8Array): Promise<Message3Result> {
    return this.guard.run("wait_m3", "completed", "processMessage3", () => this.readMessage3(bytes));
  }

  /** message_4 = ( CIPHERTEXT_4 ), for profiles that use it (key confirmation). */
  message4(): Promise<Uint8Array> {
    return this.guard.run("completed", "persisted", "message4", async () => {
      const { prk4e3m, th4 } = this.m4!;
      const ciphertext4 = await sealMessage4(this.m1!.ks, prk4e3m, th4, encodeEad(this.options.ead4));
      wipe(prk4e3m);
      return encode(ciphertext4);
    });
  }

  private async readMessage1(bytes: Uint8Array): Promise<Message1Result> {
    const m = decodeMessage1(bytes, this.options.eadPolicy);
    if (!isMethod(m.method) || !this.methods.includes(m.method)) {
      throw new EdhocError("unsupported_method", `method ${m.method} is not supported`);
    }
    const suite = this.negotiate(m.suitesI);
    if (m.gX.length !== coordinateLength(suite.curve)) {
      throw new EdhocError("invalid_key_length", `G_X is ${m.gX.length} bytes, expected ${coordinateLength(suite.curve)}`);
    }
    const ks = new KeySchedule(this.provider, suite, this.options.trace);
    const hash = await this.provider.hash(suite.hash, bytes);
    ks.trace("H(message_1)", hash);
    this.y = await ephemeralKey(this.provider, suite, this.options.ephemeralKey);
    // Validates G_X now (part of processing message_1) and keeps G_XY for message_2.
    const gXY = await this.provider.ecdh(suite.curve, this.y.privateKey, m.gX);
    this.m1 = { ...m, method: m.method, suite, ks, hash };
    this.gXY = gXY;
    if (this.cR && sameBytes(this.cR, m.connectionIdInitiator)) {
      throw new EdhocError("bad_parameter", "our C_R equals the initiator's C_I");
    }
    this.cR ??= randomConnectionId(this.provider, DEFAULT_CR_LENGTH, m.connectionIdInitiator);
    return { method: m.method, selectedSuite: suite.id, connectionIdInitiator: m.connectionIdInitiator.slice(), ead1: m.ead1 };
  }

  /**
   * Accepts the selected (last) suite only if it is the first one in SUITES_I we support
   * (§6.3.2); otherwise ERR_CODE 2 with SUITES_R: the first supported one of SUITES_I, or all
   * of ours when none is.
   */
  private negotiate(suitesI: number[]): CipherSuite {
    const ours = new Set(this.suites.map((s) => s.id));
    const first = suitesI.findIndex((id) => ours.has(id));
    if (first === suitesI.length - 1) return getSuite(suitesI[first]!)!;
    const suitesR = first < 0 ? [...ours] : [suitesI[first]!];
    throw new EdhocError("wrong_selected_suite", `selected cipher suite ${suitesI[suitesI.length - 1]} is not acceptable`, { suitesR });
  }

  private async writeMessage2(): Promise<Uint8Array> {
    const { suite, ks, method, hash } = this.m1!;
    const y = this.y!;
    const rDh = responderUsesStaticDh(method);
    const own = ownCredential(this.options.credential, suite, rDh);
    const th2 = await transcriptHash2(this.provider, suite, y.publicKey, hash);
    const gXY = this.gXY!;
    const prk2e = await ks.prk2e(th2, gXY);
    // G_RX = ECDH(R, G_X) when we authenticate with our static DH key.
    const gRX = rDh ? await this.provider.ecdh(suite.curve, own.privateKey, this.m1!.gX) : undefined;
    const prk3e2m = await ks.prk3e2m(prk2e, th2, gRX);
    ks.trace("TH_2", th2);
    ks.trace("G_XY", gXY);
    ks.trace("PRK_2e", prk2e);
    ks.trace("G_RX", gRX);
    ks.trace("PRK_3e2m", prk3e2m);
    const plaintext2 = await this.plaintext2(th2, prk3e2m, own, rDh);
    const keystream2 = await ks.keystream2(prk2e, th2, plaintext2.length);
    const ciphertext2 = xor(plaintext2, keystream2);
    ks.trace("PLAINTEXT_2", plaintext2);
    ks.trace("KEYSTREAM_2", keystream2);
    ks.trace("CIPHERTEXT_2", ciphertext2);
    const th3 = await transcriptHash3(this.provider, suite, th2, plaintext2, own.credential.bytes);
    ks.trace("TH_3", th3);
    this.m2 = { th3, prk3e2m };
    wipe(gXY, gRX, keystream2, prk2e);
    const gYCiphertext2 = new Uint8Array(y.publicKey.length + ciphertext2.length);
    gYCiphertext2.set(y.publicKey);
    gYCiphertext2.set(ciphertext2, y.publicKey.length);
    return encode(gYCiphertext2);
  }

  /** PLAINTEXT_2 = ( C_R, ID_CRED_R, Signature_or_MAC_2, ? EAD_2 ) */
  private async plaintext2(th2: Uint8Array, prk3e2m: Uint8Array, own: LocalCredential, rDh: boolean): Promise<Uint8Array> {
    const { suite, ks } = this.m1!;
    const ead2 = encodeEad(this.options.ead2);
    const auth: AuthInput = { connectionIdResponder: this.cR!, kid: own.credential.kid, th: th2, credential: own.credential, ead: ead2 };
    const mac2 = await computeMac(ks, 2, prk3e2m, auth, rDh);
    ks.trace("MAC_2", mac2);
    const som2 = await produceSignatureOrMac(this.provider, suite, mac2, auth, rDh, own.privateKey);
    return encodePlaintext2(this.cR!, own.credential.kid, som2, ead2);
  }

  private async readMessage3(bytes: Uint8Array): Promise<Message3Result> {
    if (isErrorMessage(bytes)) throw decodeErrorMessage(bytes);
    const { suite, ks, method } = this.m1!;
    const { th3, prk3e2m } = this.m2!;
    const ciphertext3 = decodeSingleBstr(bytes, "CIPHERTEXT_3");
    const { key, iv } = await ks.messageKey(3, prk3e2m, th3);
    ks.trace("K_3", key);
    ks.trace("IV_3", iv);
    const plaintext3 = await this.provider.aeadDecrypt(suite.aead, key, iv, encryptStructure(th3), ciphertext3);
    wipe(key, iv);
    ks.trace("PLAINTEXT_3", plaintext3);
    const iDh = initiatorUsesStaticDh(method);
    const p3 = decodePlaintext3(plaintext3, signatureOrMacLength(suite, iDh), this.options.eadPolicy);
    const peer = await this.resolvePeer(p3.kidI, iDh);
    const prk4e3m = await this.derivePrk4e3m(peer, iDh);
    await this.verifyMessage3(p3, prk4e3m, peer, iDh);
    const th4 = await transcriptHash4(this.provider, suite, th3, plaintext3, peer.bytes);
    ks.trace("TH_4", th4);
    const session = await completeSession(ks, "responder", method, th4, prk4e3m, this.m1!.connectionIdInitiator, this.cR!, peer);
    session.receivedEad = p3.ead3;
    this.sessionValue = session;
    this.m4 = { prk4e3m, th4 };
    wipe(prk3e2m, this.y?.privateKey);
    return { session, peerCredential: peer, ead3: p3.ead3 };
  }

  private async resolvePeer(kid: Uint8Array, staticDh: boolean): Promise<EdhocCredential> {
    const peer = await this.options.resolveCredential(kid.slice());
    if (!peer) throw new EdhocError("unknown_credential", "ID_CRED_I references an unknown credential");
    if (!credentialFits(this.m1!.suite, peer, staticDh)) {
      throw new EdhocError("unsupported_credential", "CRED_I does not fit the method and cipher suite");
    }
    return peer;
  }

  /** PRK_4e3m, with G_IY = ECDH(Y, G_I) when I authenticates with its static DH key. */
  private async derivePrk4e3m(peer: EdhocCredential, iDh: boolean): Promise<Uint8Array> {
    const { suite, ks } = this.m1!;
    const gIY = iDh ? await this.provider.ecdh(suite.curve, this.y!.privateKey, peer.publicKey.x) : undefined;
    const prk4e3m = await ks.prk4e3m(this.m2!.prk3e2m, this.m2!.th3, gIY);
    ks.trace("G_IY", gIY);
    ks.trace("PRK_4e3m", prk4e3m);
    wipe(gIY);
    return prk4e3m;
  }

  private async verifyMessage3(p3: Plaintext3, prk4e3m: Uint8Array, peer: EdhocCredential, iDh: boolean): Promise<void> {
    const { suite, ks } = this.m1!;
    const auth: AuthInput = { kid: p3.kidI, th: this.m2!.th3, credential: peer, ead: p3.ead3Raw };
    const mac3 = await computeMac(ks, 3, prk4e3m, auth, iDh);
    ks.trace("MAC_3", mac3);
    await checkSignatureOrMac(this.provider, suite, mac3, auth, iDh, p3.signatureOrMac3);
  }
}
