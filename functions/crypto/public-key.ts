/**
 * EC public keys for P-256 and P-384: SEC1 points (SEC 1 v2 §2.3.3) and DER
 * SubjectPublicKeyInfo for id-ecPublicKey with a named curve (RFC 5480).
 *
 * parsePublicKey is synchronous, so it validates with noble (Point.fromBytes checks the
 * coordinates are field elements and the point is on the curve; P-256/P-384 have cofactor 1,
 * so on-curve and not-infinity is full validation, SP 800-56A §5.6.2.3.3). The ECDH/ECDSA
 * paths instead hand SEC1 bytes to WebCrypto, which validates the point natively.
 */
import { p256, p384 } from "@noble/curves/nist.js";
import { checkBytes } from "./check";
import { fromHex } from "./bytes";
import { CryptoInputError } from "./errors";

export type EcCurve = "P-256" | "P-384";

export interface ParsedPublicKey {
  curve: EcCurve;
  /** Uncompressed SEC1 point: 0x04 || x || y. */
  sec1: Uint8Array;
}

const FIELD_SIZE: Record<EcCurve, number> = { "P-256": 32, "P-384": 48 };
const NOBLE = { "P-256": p256, "P-384": p384 } as const;

/**
 * The only DER encodings accepted: SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve },
 * BIT STRING (0 unused bits) point }. DER is unique, so for a given curve and point form the
 * bytes before the point are fixed; comparing them (and the total length) rejects every
 * non-DER variant (long-form lengths, trailing data, explicit curve parameters, other OIDs).
 */
const SPKI_PREFIXES: { curve: EcCurve; prefix: Uint8Array }[] = [
  { curve: "P-256", prefix: fromHex("3059301306072a8648ce3d020106082a8648ce3d030107034200") },
  { curve: "P-256", prefix: fromHex("3039301306072a8648ce3d020106082a8648ce3d030107032200") },
  { curve: "P-384", prefix: fromHex("3076301006072a8648ce3d020106052b81040022036200") },
  { curve: "P-384", prefix: fromHex("3046301006072a8648ce3d020106052b81040022033200") },
];

/** SEC1 or SPKI in, validated uncompressed SEC1 point and its curve out. */
export function parsePublicKey(bytes: Uint8Array): ParsedPublicKey {
  checkBytes("publicKey", bytes);
  const fromSpki = bytes[0] === 0x30 ? spkiPoint(bytes) : undefined;
  const point = fromSpki ? fromSpki.point : bytes;
  const curve = sec1Curve(point);
  if (!curve || (fromSpki && fromSpki.curve !== curve)) throw badPublicKey();
  try {
    return { curve, sec1: NOBLE[curve].Point.fromBytes(point).toBytes(false) };
  } catch {
    throw badPublicKey();
  }
}

/** Which curve a SEC1 encoding's length and leading byte belong to (no point validation). */
export function sec1Curve(point: Uint8Array): EcCurve | undefined {
  for (const curve of ["P-256", "P-384"] as const) {
    const n = FIELD_SIZE[curve];
    if (point.length === 1 + n && (point[0] === 0x02 || point[0] === 0x03)) return curve;
    if (point.length === 1 + 2 * n && point[0] === 0x04) return curve;
  }
  return undefined;
}

/**
 * Imports a SEC1 point (compressed or uncompressed) into WebCrypto for `curve`. WebCrypto
 * rejects points off the curve or with coordinates >= p; the form check above it also keeps
 * out the infinity encoding 0x00 and SEC1's hybrid forms 0x06/0x07.
 */
export async function importSec1PublicKey(
  curve: EcCurve,
  point: Uint8Array,
  algorithm: "ECDH" | "ECDSA",
  usages: string[],
): Promise<CryptoKey> {
  checkBytes("publicKey", point);
  if (sec1Curve(point) !== curve) throw badPublicKey(curve);
  try {
    return await crypto.subtle.importKey("raw", point, { name: algorithm, namedCurve: curve }, false, usages);
  } catch {
    throw badPublicKey(curve);
  }
}

function spkiPoint(der: Uint8Array): { curve: EcCurve; point: Uint8Array } | undefined {
  for (const { curve, prefix } of SPKI_PREFIXES) {
    const pointLength = prefix[prefix.length - 2]! - 1; // BIT STRING length minus the unused-bits byte
    if (der.length === prefix.length + pointLength && prefix.every((b, i) => der[i] === b)) {
      return { curve, point: der.subarray(prefix.length) };
    }
  }
  return undefined;
}

function badPublicKey(curve?: EcCurve): CryptoInputError {
  return new CryptoInputError("bad_public_key", `not a valid ${curve ?? "P-256 or P-384"} public key`);
}
