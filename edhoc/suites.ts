/**
 * EDHOC cipher suites (RFC 9528 §3.6, §10.2) this library knows. Suite 2 is the gridkey
 * default profile; 3 differs only in the MAC/tag length (and RFC 9528 §8 asks for 2 and 3
 * together); 6 is listed so an initiator can offer it first, as in RFC 9529 trace 2 (its
 * AEAD, AES-GCM, is supported by both providers too); 24 is the P-384 profile.
 */

export type Curve = "P-256" | "P-384" | "X25519";
export type HashAlg = "SHA-256" | "SHA-384";
export type SignAlg = "ES256" | "ES384" | "EdDSA";

export interface AeadAlg {
  readonly name: "AES-CCM-16-64-128" | "AES-CCM-16-128-128" | "A128GCM" | "A256GCM";
  /** COSE algorithm identifier (RFC 9053). */
  readonly cose: number;
  readonly mode: "ccm" | "gcm";
  readonly keyLength: number;
  readonly ivLength: number;
  readonly tagLength: number;
}

export const AES_CCM_16_64_128: AeadAlg = { name: "AES-CCM-16-64-128", cose: 10, mode: "ccm", keyLength: 16, ivLength: 13, tagLength: 8 };
export const AES_CCM_16_128_128: AeadAlg = { name: "AES-CCM-16-128-128", cose: 30, mode: "ccm", keyLength: 16, ivLength: 13, tagLength: 16 };
export const A128GCM: AeadAlg = { name: "A128GCM", cose: 1, mode: "gcm", keyLength: 16, ivLength: 12, tagLength: 16 };
export const A256GCM: AeadAlg = { name: "A256GCM", cose: 3, mode: "gcm", keyLength: 32, ivLength: 12, tagLength: 16 };

export interface CipherSuite {
  readonly id: number;
  readonly aead: AeadAlg;
  readonly hash: HashAlg;
  /** EDHOC MAC length for static-DH authentication, in bytes. */
  readonly macLength: number;
  readonly curve: Curve;
  readonly sign: SignAlg;
  readonly appAead: AeadAlg;
  readonly appHash: HashAlg;
}

const HASH_LENGTH: Record<HashAlg, number> = { "SHA-256": 32, "SHA-384": 48 };
/** Bytes of a compact (x-only) public key and of a private scalar. */
const COORD_LENGTH: Record<Curve, number> = { "P-256": 32, "P-384": 48, X25519: 32 };
/** COSE_Key crv values (RFC 9053 §7.1). */
export const COSE_CRV: Record<Curve, number> = { "P-256": 1, "P-384": 2, X25519: 4 };
/** COSE hash algorithm identifiers, as printed in the OSCORE parameters (RFC 9529 §3.8). */
export const COSE_HASH: Record<HashAlg, number> = { "SHA-256": -16, "SHA-384": -43 };

export function hashLength(suite: CipherSuite): number {
  return HASH_LENGTH[suite.hash];
}

export function coordinateLength(curve: Curve): number {
  return COORD_LENGTH[curve];
}

const suite = (s: CipherSuite): [number, CipherSuite] => [s.id, s];

export const CIPHER_SUITES: ReadonlyMap<number, CipherSuite> = new Map([
  suite({ id: 2, aead: AES_CCM_16_64_128, hash: "SHA-256", macLength: 8, curve: "P-256", sign: "ES256", appAead: AES_CCM_16_64_128, appHash: "SHA-256" }),
  suite({ id: 3, aead: AES_CCM_16_128_128, hash: "SHA-256", macLength: 16, curve: "P-256", sign: "ES256", appAead: AES_CCM_16_64_128, appHash: "SHA-256" }),
  suite({ id: 6, aead: A128GCM, hash: "SHA-256", macLength: 16, curve: "X25519", sign: "ES256", appAead: A128GCM, appHash: "SHA-256" }),
  suite({ id: 24, aead: A256GCM, hash: "SHA-384", macLength: 16, curve: "P-384", sign: "ES384", appAead: A256GCM, appHash: "SHA-384" }),
]);

export function getSuite(id: number): CipherSuite | undefined {
  return CIPHER_SUITES.get(id);
}

/** Suites gridkey sessions use by default: only the mandatory profile. */
export const DEFAULT_SUITES: readonly number[] = [2];
