/**
 * The EDHOC Initiator (RFC 9528 §5, Appendix I.1): message_1 → (message_2 | error) →
 * message_3 → (message_4). One instance is one session; after an error with ERR_CODE 2 the
 * caller starts a new instance with `peerSuites` set to the SUITES_R received (§6.3.2).
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
  decodePlaintext2,
  decodePlaintext4,
  decodeSingleBstr,
  encodeMessage1,
  encodePlaintext3,
  isErrorMessage,
  type Plaintext2,
} from "./messages.js";
import { completeSession, openMessage4, type EdhocSession } from "./session.js";
import { coordinateLength, type CipherSuite } from "./suites.js";
import { encryptStructure, transcriptHash2, transcriptHash3, transcriptHash4 } from "./transcript.js";

export interface InitiatorOptions {
  readonly provider: EdhocCryptoProvider;
  readonly method: Method;
  /** Our cipher suites, most preferred first (a fixed order, §5.2.2). */
  readonly suites: readonly number[];
  /** SUITES_R from an earlier error message: select our most preferred suite among them. */
  readonly peerSuites?: readonly number[];
  readonly credential: CredentialSource;
  /** ID_CRED_R (kid) → CRED_R; e.g. the concentrator credential cached after checking its CWT. */
  readonly resolveCredential: CredentialResolver;
  /** C_I; default one fresh random byte. */
  readonly connectionId?: Uint8Array;
  /** Injected ephemeral key (reproducible traces); default a fresh key pair. */
  readonly ephemeralKey?: InjectedKey;
  readonly ead1?: readonly EadItem[];
  readonly ead3?: readonly EadItem[];
  readonly eadPolicy?: EadPolicy;
  /** Test-vector hook: receives intermediate secrets. Never set in production. */
  readonly trace?: TraceHook;
}

/** What message_2 told us, for the application's authorization decisions. */
export interface Message2Result {
  readonly connectionIdResponder: Uint8Array;
  readonly peerCredential: EdhocCredential;
  /** Non-padding EAD_2 items. */
  readonly ead2: EadItem[];
}

type State = "start" | "wait_m2" | "verified_m2" | "completed" | "persisted";

/** Picks the selected suite and SUITES_I (§5.2.2): our preferences up to the selected one. */
function selectSuites(ours: CipherSuite[], peerSuites: readonly number[] | undefined): { selected: CipherSuite; suitesI: number[] } {
  const index = peerSuites ? ours.findIndex((s) => peerSuites.includes(s.id)) : 0;
  if (index < 0) throw new EdhocError("bad_parameter", "no cipher suite in common with the responder");
  return { selected: ours[index]!, suitesI: ours.slice(0, index + 1).map((s) => s.id) };
}

export class EdhocInitiator {
  private readonly guard = new StateGuard<State>("start");
  private readonly provider: EdhocCryptoProvider;
  private readonly method: Method;
  private readonly suite: CipherSuite;
  private readonly suitesI: number[];
  private readonly ks: KeySchedule;
  private readonly own: LocalCredential;
  private readonly cI: Uint8Array;
  // Filled in as the session advances.
  private x: KeyPair | undefined;
  private hashMessage1: Uint8Array | undefined;
  private m2: { gY: Uint8Array; th3: Uint8Array; prk3e2m: Uint8Array; cR: Uint8Array; peer: EdhocCredential } | undefined;
  private m4: { prk4e3m: Uint8Array; th4: Uint8Array } | undefined;
  private sessionValue: EdhocSession | undefined;

  constructor(private readonly options: InitiatorOptions) {
    if (!isMethod(options.method)) throw new EdhocError("bad_parameter", `unknown method ${String(options.method)}`);
    this.provider = options.provider;
    this.method = options.method;
    const chosen = selectSuites(checkSuites(options.provider, options.suites), options.peerSuites);
    this.suite = chosen.selected;
    this.suitesI = chosen.suitesI;
    this.ks = new KeySchedule(this.provider, this.suite, options.trace);
    this.own = ownCredential(options.credential, this.suite, initiatorUsesStaticDh(this.method));
    this.cI = options.connectionId ? checkConnectionId(options.connectionId) : randomConnectionId(this.provider, 1);
  }

  get state(): string {
    return this.guard.state;
  }

  get selectedSuite(): number {
    return this.suite.id;
  }

  get connectionId(): Uint8Array {
    return this.cI.slice();
  }

  /** The session output; available once message_3 has been produced. */
  get session(): EdhocSession {
    if (!this.sessionValue) throw new EdhocError("invalid_state", "no session before message_3");
    return this.sessionValue;
  }

  /** message_1 = ( METHOD, SUITES_I, G_X, C_I, ? EAD_1 ) */
  message1(): Promise<Uint8Array> {
    return this.guard.run("start", "wait_m2", "message1", async () => {
      this.x = await ephemeralKey(this.provider, this.suite, this.options.ephemeralKey);
      const m1 = encodeMessage1({
        method: this.method,
        suitesI: this.suitesI,
        gX: this.x.publicKey,
        connectionIdInitiator: this.cI,
        ...(this.options.ead1 ? { ead1: this.options.ead1 } : {}),
      });
      this.hashMessage1 = await this.provider.hash(this.suite.hash, m1);
      this.ks.trace("H(message_1)", this.hashMessage1);
      return m1;
    });
  }

  /**
   * Processes message_2 (or the responder's error message, thrown as EdhocError
   * "peer_error", with `suitesR` for ERR_CODE 2) and authenticates the responder.
   */
  processMessage2(bytes: Uint8Array): Promise<Message2Result> {
    return this.guard.run("wait_m2", "verified_m2", "processMessage2", () => this.readMessage2(bytes));
  }

  /** message_3 = ( CIPHERTEXT_3 ); also derives PRK_out, so `session` is usable after this. */
  message3(): Promise<Uint8Array> {
    return this.guard.run("verified_m2", "completed", "message3", () => this.writeMessage3());
  }

  /** Processes message_4 (key confirmation) or the responder's error message; returns EAD_4. */
  processMessage4(bytes: Uint8Array): Promise<EadItem[]> {
    return this.guard.run("completed", "persisted", "processMessage4", () => this.readMessage4(bytes));
  }

  /** Splits G_Y_CIPHERTEXT_2 and decrypts PLAINTEXT_2 with KEYSTREAM_2. */
  private async decryptMessage2(bytes: Uint8Array): Promise<{ gY: Uint8Array; th2: Uint8Array; prk2e: Uint8Array; plaintext2: Uint8Array }> {
    if (isErrorMessage(bytes)) throw decodeErrorMessage(bytes);
    const gYCiphertext = decodeSingleBstr(bytes, "G_Y_CIPHERTEXT_2");
    const n = coordinateLength(this.suite.curve);
    if (gYCiphertext.length <= n) throw new EdhocError("invalid_key_length", "G_Y_CIPHERTEXT_2 too short for G_Y and CIPHERTEXT_2");
    const gY = gYCiphertext.slice(0, n);
    const th2 = await transcriptHash2(this.provider, this.suite, gY, this.hashMessage1!);
    const gXY = await this.provider.ecdh(this.suite.curve, this.x!.privateKey, gY);
    const prk2e = await this.ks.prk2e(th2, gXY);
    const ciphertext2 = gYCiphertext.subarray(n);
    const keystream2 = await this.ks.keystream2(prk2e, th2, ciphertext2.length);
    const plaintext2 = xor(ciphertext2, keystream2);
    this.ks.trace("TH_2", th2);
    this.ks.trace("G_XY", gXY);
    this.ks.trace("PRK_2e", prk2e);
    this.ks.trace("KEYSTREAM_2", keystream2);
    this.ks.trace("PLAINTEXT_2", plaintext2);
    wipe(gXY, keystream2);
    return { gY, th2, prk2e, plaintext2 };
  }

  private async readMessage2(bytes: Uint8Array): Promise<Message2Result> {
    const { gY, th2, prk2e, plaintext2 } = await this.decryptMessage2(bytes);
    const rDh = responderUsesStaticDh(this.method);
    const p2 = decodePlaintext2(plaintext2, signatureOrMacLength(this.suite, rDh), this.options.eadPolicy);
    if (sameBytes(p2.connectionIdResponder, this.cI)) throw new EdhocError("connection_id_collision", "C_R equals C_I");
    const peer = await this.resolvePeer(p2.kidR, rDh);
    const prk3e2m = await this.derivePrk3e2m(prk2e, th2, peer, rDh);
    await this.verifyMessage2(p2, th2, prk3e2m, peer, rDh);
    const th3 = await transcriptHash3(this.provider, this.suite, th2, plaintext2, peer.bytes);
    this.ks.trace("TH_3", th3);
    this.m2 = { gY, th3, prk3e2m, cR: p2.connectionIdResponder, peer };
    wipe(prk2e);
    if (!initiatorUsesStaticDh(this.method)) wipe(this.x?.privateKey); // X has no further use
    return { connectionIdResponder: p2.connectionIdResponder.slice(), peerCredential: peer, ead2: p2.ead2 };
  }

  private async resolvePeer(kid: Uint8Array, staticDh: boolean): Promise<EdhocCredential> {
    const peer = await this.options.resolveCredential(kid.slice());
    if (!peer) throw new EdhocError("unknown_credential", "ID_CRED_R references an unknown credential");
    if (!credentialFits(this.suite, peer, staticDh)) {
      throw new EdhocError("unsupported_credential", "CRED_R does not fit the method and cipher suite");
    }
    return peer;
  }

  /** PRK_3e2m, with G_RX = ECDH(X, G_R) when R authenticates with its static DH key. */
  private async derivePrk3e2m(prk2e: Uint8Array, th2: Uint8Array, peer: EdhocCredential, rDh: boolean): Promise<Uint8Array> {
    const gRX = rDh ? await this.provider.ecdh(this.suite.curve, this.x!.privateKey, peer.publicKey.x) : undefined;
    const prk3e2m = await this.ks.prk3e2m(prk2e, th2, gRX);
    this.ks.trace("G_RX", gRX);
    this.ks.trace("PRK_3e2m", prk3e2m);
    wipe(gRX);
    return prk3e2m;
  }

  private async verifyMessage2(p2: Plaintext2, th2: Uint8Array, prk3e2m: Uint8Array, peer: EdhocCredential, rDh: boolean): Promise<void> {
    const auth: AuthInput = { connectionIdResponder: p2.connectionIdResponder, kid: p2.kidR, th: th2, credential: peer, ead: p2.ead2Raw };
    const mac2 = await computeMac(this.ks, 2, prk3e2m, auth, rDh);
    this.ks.trace("MAC_2", mac2);
    await checkSignatureOrMac(this.provider, this.suite, mac2, auth, rDh, p2.signatureOrMac2);
  }

  /** PRK_4e3m, with G_IY = ECDH(I, G_Y) when I authenticates with its static DH key. */
  private async derivePrk4e3m(prk3e2m: Uint8Array, th3: Uint8Array, gY: Uint8Array, iDh: boolean): Promise<Uint8Array> {
    const gIY = iDh ? await this.provider.ecdh(this.suite.curve, this.own.privateKey, gY) : undefined;
    const prk4e3m = await this.ks.prk4e3m(prk3e2m, th3, gIY);
    this.ks.trace("G_IY", gIY);
    this.ks.trace("PRK_4e3m", prk4e3m);
    wipe(gIY);
    return prk4e3m;
  }

  private async writeMessage3(): Promise<Uint8Array> {
    const { gY, th3, prk3e2m, cR, peer } = this.m2!;
    const iDh = initiatorUsesStaticDh(this.method);
    const prk4e3m = await this.derivePrk4e3m(prk3e2m, th3, gY, iDh);
    const ead3 = encodeEad(this.options.ead3);
    const kidI = this.own.credential.kid;
    const auth: AuthInput = { kid: kidI, th: th3, credential: this.own.credential, ead: ead3 };
    const mac3 = await computeMac(this.ks, 3, prk4e3m, auth, iDh);
    this.ks.trace("MAC_3", mac3);
    const som3 = await produceSignatureOrMac(this.provider, this.suite, mac3, auth, iDh, this.own.privateKey);
    const plaintext3 = encodePlaintext3(kidI, som3, ead3);
    const ciphertext3 = await this.encrypt3(prk3e2m, th3, plaintext3);
    const th4 = await transcriptHash4(this.provider, this.suite, th3, plaintext3, this.own.credential.bytes);
    this.ks.trace("TH_4", th4);
    this.sessionValue = await completeSession(this.ks, "initiator", this.method, th4, prk4e3m, this.cI, cR, peer);
    this.m4 = { prk4e3m, th4 };
    wipe(prk3e2m, this.x?.privateKey);
    return encode(ciphertext3);
  }

  /** CIPHERTEXT_3 = AEAD(K_3, IV_3, PLAINTEXT_3, ["Encrypt0", h'', TH_3]) */
  private async encrypt3(prk3e2m: Uint8Array, th3: Uint8Array, plaintext3: Uint8Array): Promise<Uint8Array> {
    const { key, iv } = await this.ks.messageKey(3, prk3e2m, th3);
    const ciphertext3 = await this.provider.aeadEncrypt(this.suite.aead, key, iv, encryptStructure(th3), plaintext3);
    this.ks.trace("PLAINTEXT_3", plaintext3);
    this.ks.trace("K_3", key);
    this.ks.trace("IV_3", iv);
    this.ks.trace("CIPHERTEXT_3", ciphertext3);
    wipe(key, iv);
    return ciphertext3;
  }

  private async readMessage4(bytes: Uint8Array): Promise<EadItem[]> {
    if (isErrorMessage(bytes)) throw decodeErrorMessage(bytes);
    const ciphertext4 = decodeSingleBstr(bytes, "CIPHERTEXT_4");
    const { prk4e3m, th4 } = this.m4!;
    const plaintext4 = await openMessage4(this.ks, prk4e3m, th4, ciphertext4);
    const ead4 = decodePlaintext4(plaintext4, this.options.eadPolicy);
    this.session.receivedEad = ead4;
    wipe(prk4e3m);
    return ead4;
  }
}
