import { CborMap, decode, encode } from "../edhoc/cbor";
import { WireError } from "./axdr";

/**
 * The concentrator's credential as central signs it: a CWT (RFC 8392) whose payload is the
 * concentrator's CCS, the exact bytes EDHOC uses as CRED_R. COSE_Sign1 (RFC 9052 §4.2),
 * untagged, ES256:
 *
 *   [ protected: << {1: -7} >>, unprotected: {4: kid of the central key}, payload: CCS, signature: r||s ]
 *
 * signed over Sig_structure = ["Signature1", protected, h'', payload].
 */
export const ES256 = -7;
const HEADER_ALG = 1;
const HEADER_KID = 4;

export type Cwt = { protectedHeader: Uint8Array; signerKid: Uint8Array; payload: Uint8Array; signature: Uint8Array };

export function es256ProtectedHeader(): Uint8Array {
  return encode(new CborMap([[HEADER_ALG, ES256]]));
}

export function sigStructure(protectedHeader: Uint8Array, payload: Uint8Array): Uint8Array {
  return encode(["Signature1", protectedHeader, new Uint8Array(0), payload]);
}

export function encodeCwt(cwt: Cwt): Uint8Array {
  return encode([cwt.protectedHeader, new CborMap([[HEADER_KID, cwt.signerKid]]), cwt.payload, cwt.signature]);
}

export function decodeCwt(bytes: Uint8Array): Cwt {
  let value;
  try {
    value = decode(bytes);
  } catch {
    throw new WireError("bad_frame", "a CWT is one CBOR data item");
  }
  if (!Array.isArray(value) || value.length !== 4) throw new WireError("bad_frame", "COSE_Sign1 is a four-element array");
  const [protectedHeader, unprotected, payload, signature] = value;
  if (!(protectedHeader instanceof Uint8Array) || !(unprotected instanceof CborMap) || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new WireError("bad_frame", "COSE_Sign1 elements have the wrong types");
  }
  let alg;
  try {
    const header = decode(protectedHeader);
    alg = header instanceof CborMap ? header.get(HEADER_ALG) : undefined;
  } catch {
    alg = undefined;
  }
  const signerKid = unprotected.get(HEADER_KID);
  if (alg !== ES256 || !(signerKid instanceof Uint8Array) || signature.length !== 64) {
    throw new WireError("bad_frame", "only ES256 COSE_Sign1 with a kid is accepted");
  }
  return { protectedHeader, signerKid, payload, signature };
}
