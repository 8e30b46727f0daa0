/**
 * Authentication credentials: CWT Claims Sets (CCS, RFC 8392) holding a COSE_Key in a 'cnf'
 * claim (RFC 8747), identified by 'kid' (RFC 9528 §3.5.2-3.5.3), plus the byte-string
 * identifier representation shared by connection identifiers and kids (§3.3.2).
 *
 * A credential is kept as the exact bytes it was provisioned with: CRED_x enters MAC_2/3 and
 * the transcript hashes byte for byte, so it is never re-encoded.
 */
import { CborMap, CborReader, decode, encode, type CborValue } from "./cbor.js";
import { EdhocError, fromCbor } from "./errors.js";
import { COSE_CRV, coordinateLength, type Curve } from "./suites.js";

/** COSE labels used here (RFC 9052 §7.1, RFC 9053 §7, RFC 8392, RFC 8747). */
const CCS_SUB = 2;
const CCS_EXP = 4;
const CCS_CNF = 8;
const CNF_COSE_KEY = 1;
const KEY_KTY = 1;
const KEY_KID = 2;
const KEY_CRV = -1;
const KEY_X = -2;
const KEY_Y = -3;
const KTY_OKP = 1;
const KTY_EC2 = 2;
/** ID_CRED header label 'kid' (RFC 9052 §3.1). */
export const HEADER_KID = 4;

export interface CredentialPublicKey {
  readonly curve: Curve | "Ed25519";
  /** x-coordinate (EC2) or the OKP public key. */
  readonly x: Uint8Array;
  /** y-coordinate, its sign bit (compressed form), or absent. */
  readonly y?: Uint8Array | boolean;
}

/** A peer's (or our own) credential: CRED_x bytes, its kid and the key inside. */
export interface EdhocCredential {
  readonly bytes: Uint8Array;
  readonly kid: Uint8Array;
  readonly subject?: string;
  readonly publicKey: CredentialPublicKey;
  /** The CCS's `exp` claim (RFC 8392), seconds since the epoch, when it has one. */
  readonly expiresAt?: number;
}

/** Our own credential with its private authentication key (static DH or signature key). */
export interface LocalCredential {
  readonly credential: EdhocCredential;
  readonly privateKey: Uint8Array;
}

const CRV_BY_VALUE = new Map<number, Curve | "Ed25519">([
  [1, "P-256"],
  [2, "P-384"],
  [4, "X25519"],
  [6, "Ed25519"],
]);

function invalidCredential(why: string): EdhocError {
  return new EdhocError("invalid_credential", `credential: ${why}`);
}

function bytesField(m: CborMap, label: number, what: string): Uint8Array {
  const v = m.get(label);
  if (!(v instanceof Uint8Array)) throw invalidCredential(`${what} missing or not a byte string`);
  return v;
}

function mapField(m: CborMap, label: number, what: string): CborMap {
  const v = m.get(label);
  if (!(v instanceof CborMap)) throw invalidCredential(`${what} missing or not a map`);
  return v;
}

/** Reads the COSE_Key's curve and coordinates, checking their lengths for the curve. */
function parseCoseKey(key: CborMap): CredentialPublicKey {
  const kty = key.get(KEY_KTY);
  const curve = CRV_BY_VALUE.get(Number(key.get(KEY_CRV)));
  if (!curve) throw invalidCredential("unsupported COSE_Key crv");
  const isOkp = curve === "X25519" || curve === "Ed25519";
  if (kty !== (isOkp ? KTY_OKP : KTY_EC2)) throw invalidCredential("COSE_Key kty does not match crv");
  const x = bytesField(key, KEY_X, "COSE_Key x");
  const size = curve === "Ed25519" ? 32 : coordinateLength(curve);
  if (x.length !== size) throw invalidCredential("COSE_Key x has the wrong length");
  if (isOkp) return { curve, x };
  const y = key.get(KEY_Y);
  if (y === undefined) return { curve, x };
  if (typeof y === "boolean") return { curve, x, y };
  if (!(y instanceof Uint8Array) || y.length !== size) throw invalidCredential("COSE_Key y has the wrong length");
  return { curve, x, y };
}

/**
 * Parses a CCS credential: { ? 2: sub, 8: { 1: COSE_Key } }. The kid is the COSE_Key's
 * kid (label 2) unless `kid` is given (a deployment may identify credentials otherwise).
 */
export function parseCcs(bytes: Uint8Array, kid?: Uint8Array): EdhocCredential {
  let ccs: CborValue;
  try {
    ccs = decode(bytes);
  } catch (e) {
    throw fromCbor(e, "credential");
  }
  if (!(ccs instanceof CborMap)) throw invalidCredential("CCS is not a map");
  const coseKey = mapField(mapField(ccs, CCS_CNF, "cnf claim"), CNF_COSE_KEY, "COSE_Key");
  const keyKid = coseKey.get(KEY_KID);
  const id = kid ?? (keyKid instanceof Uint8Array ? keyKid : undefined);
  if (!id) throw invalidCredential("no kid in the COSE_Key and none given");
  const sub = ccs.get(CCS_SUB);
  const subject = typeof sub === "string" ? sub : undefined;
  const exp = ccs.get(CCS_EXP);
  if (exp !== undefined && !(typeof exp === "number" && Number.isSafeInteger(exp) && exp >= 0)) throw invalidCredential("exp is not a NumericDate");
  return { bytes: bytes.slice(), kid: id.slice(), publicKey: parseCoseKey(coseKey), ...(subject === undefined ? {} : { subject }), ...(exp === undefined ? {} : { expiresAt: exp }) };
}

/** Builds a deterministic CCS for a public key: { 2: subject, 4: exp, 8: { 1: COSE_Key } } (subject and exp optional). */
export function makeCcs(params: { subject?: string; expiresAt?: number; kid: Uint8Array; curve: Curve | "Ed25519"; x: Uint8Array; y?: Uint8Array }): EdhocCredential {
  const isOkp = params.curve === "X25519" || params.curve === "Ed25519";
  const crv = params.curve === "Ed25519" ? 6 : COSE_CRV[params.curve];
  const keyEntries: [number, CborValue][] = [
    [KEY_KTY, isOkp ? KTY_OKP : KTY_EC2],
    [KEY_KID, params.kid],
    [KEY_CRV, crv],
    [KEY_X, params.x],
  ];
  if (params.y) keyEntries.push([KEY_Y, params.y]);
  const entries: [number, CborValue][] = [[CCS_CNF, new CborMap([[CNF_COSE_KEY, new CborMap(keyEntries)]])]];
  if (params.expiresAt !== undefined) entries.unshift([CCS_EXP, params.expiresAt]);
  if (params.subject !== undefined) entries.unshift([CCS_SUB, params.subject]);
  return parseCcs(encode(new CborMap(entries)));
}

/** SEC1 encoding of a credential's EC2 key, for signature verification. */
export function credentialSec1(key: CredentialPublicKey): Uint8Array {
  if (key.y instanceof Uint8Array) {
    const out = new Uint8Array(1 + 2 * key.x.length);
    out[0] = 0x04;
    out.set(key.x, 1);
    out.set(key.y, 1 + key.x.length);
    return out;
  }
  const out = new Uint8Array(1 + key.x.length);
  out[0] = key.y === true ? 0x03 : 0x02;
  out.set(key.x, 1);
  return out;
}

// ---------------------------------------------------------------------------------------
// Byte-string identifiers (§3.3.2) and ID_CRED (§3.5.3)
// ---------------------------------------------------------------------------------------

/** True when the single byte b is the one-byte CBOR encoding of an integer in -24..23. */
function isOneByteInt(b: number): boolean {
  return b <= 0x17 || (b >= 0x20 && b <= 0x37);
}

/** Encodes a connection identifier or kid: one-byte int encodings are sent as that int. */
export function encodeIdentifier(id: Uint8Array): Uint8Array {
  if (id.length === 1 && isOneByteInt(id[0]!)) return id.slice();
  return encode(id);
}

/**
 * Reads an identifier (C_I, C_R, compact kid) from `value`/`raw` as decoded by CborReader:
 * an int in -24..23 stands for its own one-byte encoding; a byte string that could have
 * been such an int is refused, as RFC 9528 §3.3.2 says it MUST be the int.
 */
export function decodeIdentifier(value: CborValue, raw: Uint8Array, what: string): Uint8Array {
  if (typeof value === "number" && value >= -24 && value <= 23) return raw.slice();
  if (value instanceof Uint8Array) {
    if (value.length === 1 && isOneByteInt(value[0]!)) {
      throw new EdhocError("non_compact_identifier", `${what}: byte string ${raw.length} bytes where the int form is required`);
    }
    return value;
  }
  throw new EdhocError("unexpected_type", `${what}: expected a byte string or an int in -24..23`);
}

/** ID_CRED_x = { 4: kid } as a map: what context_2/3 and COSE protected headers carry. */
export function encodeIdCredMap(kid: Uint8Array): Uint8Array {
  return encode(new CborMap([[HEADER_KID, kid]]));
}

/** ID_CRED_x in PLAINTEXT_2/3: the compact form of { 4: kid } (§3.5.3.2). */
export function encodeIdCredCompact(kid: Uint8Array): Uint8Array {
  return encodeIdentifier(kid);
}

/**
 * Reads ID_CRED_x from a PLAINTEXT. Only 'kid' is supported (RFC 9528 §8 makes it the one
 * mandatory header). The map form {4: kid} is refused because the compact form MUST be used
 * for it; maps with other headers (x5t, kccs, ...) are unsupported credential types.
 */
export function readIdCred(reader: CborReader, what: string): Uint8Array {
  let item: { value: CborValue; raw: Uint8Array };
  try {
    item = reader.nextWithRaw();
  } catch (e) {
    throw fromCbor(e, what);
  }
  const { value, raw } = item;
  if (value instanceof CborMap) {
    if (value.size === 1 && value.get(HEADER_KID) instanceof Uint8Array) {
      throw new EdhocError("non_compact_id_cred", `${what}: {4: kid} must use the compact encoding`);
    }
    throw new EdhocError("unsupported_credential", `${what}: only 'kid' credential identifiers are supported`);
  }
  return decodeIdentifier(value, raw, what);
}
