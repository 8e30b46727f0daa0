/**
 * The concentrator credential, as the meter trusts it (DESIGN §4): central signs each
 * concentrator's CCS as a CWT (wire/cwt.ts: COSE_Sign1, ES256); the meter checks it once
 * against its trust anchor (central's public key, provisioned at manufacture) and caches the
 * credential by kid. EDHOC's ID_CRED_R then resolves from the cache, fetching and checking
 * the region's current CWT only on a miss. Nothing unsigned ever enters the cache.
 */
import { p256 } from "@noble/curves/nist.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import type { CredentialResolver } from "../edhoc/common.js";
import { parseCcs, type EdhocCredential } from "../edhoc/credentials.js";
import { EdhocError } from "../edhoc/errors.js";
import { WireError } from "../wire/axdr.js";
import { decodeCwt, sigStructure } from "../wire/cwt.js";
import { SdkError } from "./errors.js";

/** As `GET /v1/edge/trust-anchor` serves it (hex), or as bytes. */
export type TrustAnchorInput = { kid: string | Uint8Array; publicKey: string | Uint8Array; alg?: string };
export type TrustAnchor = { readonly kid: Uint8Array; readonly publicKey: Uint8Array };

/** Hex or bytes → bytes (a copy); `bad_config` naming the field, never its value. */
export function bytesOf(value: string | Uint8Array, field: string): Uint8Array {
  if (value instanceof Uint8Array) return value.slice();
  try {
    return hexToBytes(value);
  } catch {
    throw new SdkError("bad_config", `${field} is not hex`);
  }
}

/** Checks the anchor once: ES256, a kid, and a public key that is a point on P-256. */
export function trustAnchorOf(input: TrustAnchorInput): TrustAnchor {
  if (input.alg !== undefined && input.alg !== "ES256") throw new SdkError("bad_config", "the trust anchor must be an ES256 key");
  const kid = bytesOf(input.kid, "trustAnchor.kid");
  const publicKey = bytesOf(input.publicKey, "trustAnchor.publicKey");
  if (kid.length === 0) throw new SdkError("bad_config", "trustAnchor.kid is empty");
  try {
    p256.Point.fromBytes(publicKey);
  } catch {
    throw new SdkError("bad_config", "trustAnchor.publicKey is not a P-256 point (SEC1)");
  }
  return { kid, publicKey };
}

/**
 * Decodes a CWT, checks it is the trust anchor's ES256 signature, and parses the CCS in it;
 * a CCS whose `exp` has passed at `nowMs` is refused (`credential_expired`): the key of a
 * replaced concentrator must stop being trusted, even from a cache.
 */
export function verifyCredentialCwt(cwt: Uint8Array, anchor: TrustAnchor, nowMs = Date.now()): EdhocCredential {
  let parsed;
  try {
    parsed = decodeCwt(cwt);
  } catch (e) {
    if (e instanceof WireError) throw new SdkError("credential_invalid", `concentrator CWT: ${e.message}`, { cause: e });
    throw e;
  }
  if (!sameBytes(parsed.signerKid, anchor.kid)) throw new SdkError("credential_untrusted", "the concentrator CWT is signed by another key than the trust anchor");
  const message = sigStructure(parsed.protectedHeader, parsed.payload);
  // COSE ES256 signs SHA-256(Sig_structure) with r||s; WebCrypto may produce high-S, so accept it.
  if (!es256Verify(parsed.signature, message, anchor.publicKey)) {
    throw new SdkError("credential_untrusted", "the concentrator CWT signature does not verify");
  }
  let credential: EdhocCredential;
  try {
    credential = parseCcs(parsed.payload);
  } catch (e) {
    if (e instanceof EdhocError) throw new SdkError("credential_invalid", `concentrator CCS: ${e.message}`, { cause: e });
    throw e;
  }
  if (expired(credential, nowMs)) throw new SdkError("credential_expired", "the concentrator credential has expired");
  return credential;
}

const expired = (c: EdhocCredential, nowMs: number) => c.expiresAt !== undefined && c.expiresAt * 1000 <= nowMs;

function es256Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return p256.verify(signature, message, publicKey, { prehash: true, lowS: false, format: "compact" });
  } catch {
    return false; // r or s out of range: malformed, so not a valid signature
  }
}

/** Public values only (kids), so an ordinary comparison is fine. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Verified concentrator credentials by kid. One cache can serve many MeterClients with the
 * same trust anchor (a gateway, the simulator): a miss fetches the CWT once per source even
 * when many handshakes miss at the same time.
 */
export class CredentialCache {
  readonly trustAnchor: TrustAnchor;
  private readonly byKid = new Map<string, EdhocCredential>();
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(
    trustAnchor: TrustAnchorInput,
    /** The meter's clock (ms since the epoch): credentials past their `exp` are dropped. */
    private readonly clock: () => number = Date.now,
  ) {
    this.trustAnchor = trustAnchorOf(trustAnchor);
  }

  get size(): number {
    return this.byKid.size;
  }

  /** Verifies a CWT and caches its credential; throws `credential_invalid` / `credential_untrusted` / `credential_expired`. */
  add(cwt: Uint8Array): EdhocCredential {
    const credential = verifyCredentialCwt(cwt, this.trustAnchor, this.clock());
    this.byKid.set(bytesToHex(credential.kid), credential);
    return credential;
  }

  /** The cached credential of `kid`, unless it has expired (then it is dropped). */
  get(kid: Uint8Array): EdhocCredential | undefined {
    const credential = this.byKid.get(bytesToHex(kid));
    if (credential && expired(credential, this.clock())) {
      this.byKid.delete(bytesToHex(kid));
      return undefined;
    }
    return credential;
  }

  /**
   * The EDHOC resolver for ID_CRED_R: the cached credential, or, on a miss, fetch `source`'s
   * CWT, verify and cache it, and look again (undefined if the kid is still unknown). A CWT
   * that fails verification is an error, not "unknown": it must not look like a stale kid.
   */
  resolver(source: string, fetchCwt: () => Promise<Uint8Array>): CredentialResolver {
    return async (kid) => {
      const hit = this.get(kid);
      if (hit) return hit;
      await this.refresh(source, fetchCwt);
      return this.get(kid);
    };
  }

  private refresh(source: string, fetchCwt: () => Promise<Uint8Array>): Promise<void> {
    let pending = this.inflight.get(source);
    if (!pending) {
      pending = fetchCwt()
        .then((cwt) => void this.add(cwt))
        .finally(() => this.inflight.delete(source));
      this.inflight.set(source, pending);
    }
    return pending;
  }
}

/**
 * Checks any COSE_Sign1 central made (a rekey bundle header, a path snapshot) against the
 * trust anchor and returns its payload.
 */
export function verifyCentralSignature(signed: Uint8Array, anchor: TrustAnchor): Uint8Array {
  let parsed;
  try {
    parsed = decodeCwt(signed);
  } catch (e) {
    if (e instanceof WireError) throw new SdkError("rekey_invalid", `signed rekey: ${e.message}`, { cause: e });
    throw e;
  }
  if (!sameBytes(parsed.signerKid, anchor.kid) || !es256Verify(parsed.signature, sigStructure(parsed.protectedHeader, parsed.payload), anchor.publicKey)) {
    throw new SdkError("rekey_untrusted", "the rekey is not signed by the trust anchor");
  }
  return parsed.payload;
}
