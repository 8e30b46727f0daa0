/**
 * Signature_or_MAC_2/3 (RFC 9528 §5.3.2, §5.4.2): a MAC for the side that authenticates
 * with a static DH key, a COSE_Sign1 signature over the MAC for the side that signs.
 * Both the producing and the verifying side call these, so the layouts exist once.
 */
import { constantTimeEqual } from "../functions/crypto/bytes.js";
import { concat, encode } from "./cbor.js";
import { credentialSec1, encodeIdCredMap, encodeIdentifier, type EdhocCredential } from "./credentials.js";
import type { EdhocCryptoProvider } from "./crypto-provider.js";
import { EdhocError } from "./errors.js";
import { KDF_LABEL, type KeySchedule } from "./key-schedule.js";
import { hashLength, type CipherSuite } from "./suites.js";

export const METHODS = [0, 1, 2, 3] as const;
export type Method = (typeof METHODS)[number];

/** Methods 1 and 3: the Responder authenticates with a static DH key. */
export function responderUsesStaticDh(method: Method): boolean {
  return method === 1 || method === 3;
}

/** Methods 2 and 3: the Initiator authenticates with a static DH key. */
export function initiatorUsesStaticDh(method: Method): boolean {
  return method === 2 || method === 3;
}

export function isMethod(m: number): m is Method {
  return (METHODS as readonly number[]).includes(m);
}

/** mac_length_x: the suite's MAC length for static DH, hash_length for signatures. */
export function macLength(suite: CipherSuite, staticDh: boolean): number {
  return staticDh ? suite.macLength : hashLength(suite);
}

/** Length of Signature_or_MAC_x on the wire. */
export function signatureOrMacLength(suite: CipherSuite, staticDh: boolean): number {
  if (staticDh) return suite.macLength;
  return suite.sign === "ES384" ? 96 : 64; // ES256 and EdDSA signatures are 64 bytes
}

/** The inputs of MAC_x and of the signature: who we are and what we have seen. */
export interface AuthInput {
  /** C_R for message_2; undefined for message_3. */
  readonly connectionIdResponder?: Uint8Array;
  readonly kid: Uint8Array;
  readonly th: Uint8Array;
  readonly credential: EdhocCredential;
  /** Encoded EAD_x (possibly empty). */
  readonly ead: Uint8Array;
}

/** context_2 = << C_R, ID_CRED_R, TH_2, CRED_R, ? EAD_2 >>, context_3 = << ID_CRED_I, TH_3, CRED_I, ? EAD_3 >> */
function macContext(a: AuthInput): Uint8Array {
  const prefix = a.connectionIdResponder ? encodeIdentifier(a.connectionIdResponder) : new Uint8Array(0);
  return concat(prefix, encodeIdCredMap(a.kid), encode(a.th), a.credential.bytes, a.ead);
}

/** MAC_2 = EDHOC_KDF(PRK_3e2m, 2, context_2, mac_length_2), MAC_3 likewise with label 6. */
export function computeMac(ks: KeySchedule, message: 2 | 3, prk: Uint8Array, a: AuthInput, staticDh: boolean): Promise<Uint8Array> {
  const label = message === 2 ? KDF_LABEL.MAC_2 : KDF_LABEL.MAC_3;
  return ks.kdf(prk, label, macContext(a), macLength(ks.suite, staticDh));
}

/** Sig_structure = [ "Signature1", << ID_CRED_x >>, << TH_x, CRED_x, ? EAD_x >>, MAC_x ] */
function toBeSigned(a: AuthInput, mac: Uint8Array): Uint8Array {
  return encode(["Signature1", encodeIdCredMap(a.kid), concat(encode(a.th), a.credential.bytes, a.ead), mac]);
}

/** Signature_or_MAC_x for the sending side. */
export async function produceSignatureOrMac(
  p: EdhocCryptoProvider,
  suite: CipherSuite,
  mac: Uint8Array,
  a: AuthInput,
  staticDh: boolean,
  privateKey: Uint8Array,
): Promise<Uint8Array> {
  if (staticDh) return mac;
  return p.sign(suite.sign, privateKey, toBeSigned(a, mac));
}

/** Checks the peer's Signature_or_MAC_x; throws the matching EdhocError on failure. */
export async function checkSignatureOrMac(
  p: EdhocCryptoProvider,
  suite: CipherSuite,
  mac: Uint8Array,
  a: AuthInput,
  staticDh: boolean,
  received: Uint8Array,
): Promise<void> {
  if (staticDh) {
    if (!constantTimeEqual(mac, received)) throw new EdhocError("mac_verification_failed", "MAC does not verify");
    return;
  }
  const ok = await p.verify(suite.sign, credentialSec1(a.credential.publicKey), toBeSigned(a, mac), received);
  if (!ok) throw new EdhocError("signature_verification_failed", "signature does not verify");
}

/**
 * Checks that a credential's key fits its use: the suite's ECDH curve for static DH, the
 * suite's signature algorithm otherwise.
 */
export function credentialFits(suite: CipherSuite, credential: EdhocCredential, staticDh: boolean): boolean {
  const curve = credential.publicKey.curve;
  if (staticDh) return curve === suite.curve;
  if (suite.sign === "ES256") return curve === "P-256";
  if (suite.sign === "ES384") return curve === "P-384";
  return curve === "Ed25519";
}
