/**
 * Transcript hashes (RFC 9528 §5.3.2, §5.4.2): each is the hash of a CBOR sequence whose
 * first element is the previous hash as a byte string. PLAINTEXT_2/3 and CRED_x enter as the
 * exact bytes sent and provisioned.
 */
import { concat, encode } from "./cbor.js";
import type { EdhocCryptoProvider } from "./crypto-provider.js";
import type { CipherSuite } from "./suites.js";

/** TH_2 = H( G_Y, H(message_1) ) */
export async function transcriptHash2(p: EdhocCryptoProvider, suite: CipherSuite, gY: Uint8Array, hashMessage1: Uint8Array): Promise<Uint8Array> {
  return p.hash(suite.hash, concat(encode(gY), encode(hashMessage1)));
}

/** TH_3 = H( TH_2, PLAINTEXT_2, CRED_R ) */
export async function transcriptHash3(p: EdhocCryptoProvider, suite: CipherSuite, th2: Uint8Array, plaintext2: Uint8Array, credR: Uint8Array): Promise<Uint8Array> {
  return p.hash(suite.hash, concat(encode(th2), plaintext2, credR));
}

/** TH_4 = H( TH_3, PLAINTEXT_3, CRED_I ) */
export async function transcriptHash4(p: EdhocCryptoProvider, suite: CipherSuite, th3: Uint8Array, plaintext3: Uint8Array, credI: Uint8Array): Promise<Uint8Array> {
  return p.hash(suite.hash, concat(encode(th3), plaintext3, credI));
}

/** The COSE Enc_structure used as AAD for message_3 and message_4: ["Encrypt0", h'', TH_i]. */
export function encryptStructure(th: Uint8Array): Uint8Array {
  return encode(["Encrypt0", new Uint8Array(0), th]);
}
