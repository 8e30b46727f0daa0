/**
 * The output of a completed EDHOC session: PRK_out and what the application derives from it
 * (EDHOC_Exporter, the OSCORE security context of RFC 9528 Appendix A.1, EDHOC_KeyUpdate).
 */
import { wipe } from "./common.js";
import { EdhocError } from "./errors.js";
import { EXPORTER_OSCORE_MASTER_SALT, EXPORTER_OSCORE_MASTER_SECRET, KeySchedule } from "./key-schedule.js";
import { encryptStructure } from "./transcript.js";
import { COSE_HASH, type CipherSuite } from "./suites.js";
import type { EdhocCredential } from "./credentials.js";
import type { EadItem } from "./ead.js";

export type Role = "initiator" | "responder";

export interface OscoreContext {
  readonly masterSecret: Uint8Array;
  readonly masterSalt: Uint8Array;
  /** Our OSCORE Sender ID: the peer's connection identifier (Appendix A.1, Figure 14). */
  readonly senderId: Uint8Array;
  readonly recipientId: Uint8Array;
  /** COSE algorithm ids of the application AEAD and hash. */
  readonly aeadAlgorithm: number;
  readonly hashAlgorithm: number;
}

export interface SessionParams {
  readonly role: Role;
  readonly method: number;
  readonly suite: CipherSuite;
  readonly schedule: KeySchedule;
  readonly connectionIdInitiator: Uint8Array;
  readonly connectionIdResponder: Uint8Array;
  readonly peerCredential: EdhocCredential;
  readonly prkOut: Uint8Array;
  readonly prkExporter: Uint8Array;
}

export class EdhocSession {
  readonly role: Role;
  readonly method: number;
  readonly suite: CipherSuite;
  /** C_I and C_R as byte strings. */
  readonly connectionIdInitiator: Uint8Array;
  readonly connectionIdResponder: Uint8Array;
  /** The authenticated peer credential (the application still decides whether to trust it). */
  readonly peerCredential: EdhocCredential;
  /** Non-padding EAD items received in message_3 (responder) or message_4 (initiator). */
  receivedEad: EadItem[] = [];
  private readonly schedule: KeySchedule;
  private prkOutValue: Uint8Array;
  private prkExporterValue: Uint8Array;

  constructor(p: SessionParams) {
    this.role = p.role;
    this.method = p.method;
    this.suite = p.suite;
    this.schedule = p.schedule;
    this.connectionIdInitiator = p.connectionIdInitiator;
    this.connectionIdResponder = p.connectionIdResponder;
    this.peerCredential = p.peerCredential;
    this.prkOutValue = p.prkOut;
    this.prkExporterValue = p.prkExporter;
  }

  get prkOut(): Uint8Array {
    return this.prkOutValue.slice();
  }

  get prkExporter(): Uint8Array {
    return this.prkExporterValue.slice();
  }

  /** EDHOC_Exporter(label, context, length) = EDHOC_KDF(PRK_exporter, label, context, length). */
  exporter(label: number, context: Uint8Array, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(label) || label < 0) throw new EdhocError("bad_parameter", "exporter label must be a uint");
    if (!Number.isSafeInteger(length) || length < 1) throw new EdhocError("bad_parameter", "exporter length must be >= 1");
    return this.schedule.kdf(this.prkExporterValue, label, context, length);
  }

  /** OSCORE Master Secret/Salt with the default lengths (app AEAD key length, 8). */
  async oscoreContext(saltLength = 8): Promise<OscoreContext> {
    const empty = new Uint8Array(0);
    const own = this.role === "initiator" ? this.connectionIdInitiator : this.connectionIdResponder;
    const peer = this.role === "initiator" ? this.connectionIdResponder : this.connectionIdInitiator;
    return {
      masterSecret: await this.exporter(EXPORTER_OSCORE_MASTER_SECRET, empty, this.suite.appAead.keyLength),
      masterSalt: await this.exporter(EXPORTER_OSCORE_MASTER_SALT, empty, saltLength),
      senderId: peer.slice(),
      recipientId: own.slice(),
      aeadAlgorithm: this.suite.appAead.cose,
      hashAlgorithm: COSE_HASH[this.suite.appHash],
    };
  }

  /** EDHOC_KeyUpdate(context): replaces PRK_out and PRK_exporter; old values are wiped. */
  async keyUpdate(context: Uint8Array): Promise<void> {
    const prkOut = await this.schedule.keyUpdate(this.prkOutValue, context);
    const prkExporter = await this.schedule.prkExporter(prkOut);
    this.prkOutValue.fill(0);
    this.prkExporterValue.fill(0);
    this.prkOutValue = prkOut;
    this.prkExporterValue = prkExporter;
  }
}

/** PRK_out and PRK_exporter from PRK_4e3m and TH_4 (§4.1.3), wrapped as the session output. */
export async function completeSession(
  ks: KeySchedule,
  role: "initiator" | "responder",
  method: number,
  th4: Uint8Array,
  prk4e3m: Uint8Array,
  cI: Uint8Array,
  cR: Uint8Array,
  peer: EdhocCredential,
): Promise<EdhocSession> {
  const prkOut = await ks.prkOut(prk4e3m, th4);
  const prkExporter = await ks.prkExporter(prkOut);
  ks.trace("PRK_out", prkOut);
  ks.trace("PRK_exporter", prkExporter);
  return new EdhocSession({
    role,
    method,
    suite: ks.suite,
    schedule: ks,
    connectionIdInitiator: cI.slice(),
    connectionIdResponder: cR.slice(),
    peerCredential: peer,
    prkOut,
    prkExporter,
  });
}

/** K_4/IV_4 from PRK_4e3m and TH_4; AAD ["Encrypt0", h'', TH_4] (§5.5). */
async function message4Keys(ks: KeySchedule, prk4e3m: Uint8Array, th4: Uint8Array): Promise<{ key: Uint8Array; iv: Uint8Array; aad: Uint8Array }> {
  const { key, iv } = await ks.messageKey(4, prk4e3m, th4);
  ks.trace("K_4", key);
  ks.trace("IV_4", iv);
  return { key, iv, aad: encryptStructure(th4) };
}

export async function sealMessage4(ks: KeySchedule, prk4e3m: Uint8Array, th4: Uint8Array, plaintext4: Uint8Array): Promise<Uint8Array> {
  const { key, iv, aad } = await message4Keys(ks, prk4e3m, th4);
  const ciphertext4 = await ks.provider.aeadEncrypt(ks.suite.aead, key, iv, aad, plaintext4);
  ks.trace("CIPHERTEXT_4", ciphertext4);
  wipe(key, iv);
  return ciphertext4;
}

export async function openMessage4(ks: KeySchedule, prk4e3m: Uint8Array, th4: Uint8Array, ciphertext4: Uint8Array): Promise<Uint8Array> {
  const { key, iv, aad } = await message4Keys(ks, prk4e3m, th4);
  try {
    return await ks.provider.aeadDecrypt(ks.suite.aead, key, iv, aad, ciphertext4);
  } finally {
    wipe(key, iv);
  }
}
