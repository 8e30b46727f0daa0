/**
 * Pieces both state machines share: option checks, ephemeral keys, connection identifiers,
 * and the guard that aborts a session on the first failure.
 */
import type { EdhocCryptoProvider, KeyPair } from "./crypto-provider.js";
import { credentialFits } from "./auth.js";
import type { EdhocCredential, LocalCredential } from "./credentials.js";
import { EdhocError } from "./errors.js";
import { coordinateLength, getSuite, type CipherSuite } from "./suites.js";

/** An ephemeral key given by the caller (test traces); the public key is derived if absent. */
export interface InjectedKey {
  readonly privateKey: Uint8Array;
  readonly publicKey?: Uint8Array;
}

/** Our own credential, fixed or chosen per negotiated suite (e.g. a P-256 and a P-384 key). */
export type CredentialSource = LocalCredential | ((suite: CipherSuite) => LocalCredential | undefined);

/** Looks up the peer's credential by kid; undefined when unknown. May be async (a registry). */
export type CredentialResolver = (kid: Uint8Array) => EdhocCredential | undefined | Promise<EdhocCredential | undefined>;

/** The suites this endpoint offers: known, supported by the provider, no duplicates. */
export function checkSuites(provider: EdhocCryptoProvider, suites: readonly number[]): CipherSuite[] {
  if (suites.length === 0) throw new EdhocError("bad_parameter", "at least one cipher suite is required");
  if (new Set(suites).size !== suites.length) throw new EdhocError("bad_parameter", "cipher suites repeat");
  return suites.map((id) => {
    const suite = getSuite(id);
    if (!suite || !provider.supportsSuite(suite)) {
      throw new EdhocError("bad_parameter", `cipher suite ${id} is not supported by the ${provider.name} provider`);
    }
    return suite;
  });
}

/** Resolves our credential for the suite and checks it fits the authentication method. */
export function ownCredential(source: CredentialSource, suite: CipherSuite, staticDh: boolean): LocalCredential {
  const own = typeof source === "function" ? source(suite) : source;
  if (!own) throw new EdhocError("bad_parameter", `no own credential for cipher suite ${suite.id}`);
  if (!credentialFits(suite, own.credential, staticDh)) {
    throw new EdhocError("bad_parameter", `own credential does not fit cipher suite ${suite.id}`);
  }
  return own;
}

/** A fresh ephemeral key pair, or the injected one (copied, so wiping it later is safe). */
export async function ephemeralKey(provider: EdhocCryptoProvider, suite: CipherSuite, injected?: InjectedKey): Promise<KeyPair> {
  if (!injected) return provider.generateKeyPair(suite.curve);
  const privateKey = injected.privateKey.slice();
  const publicKey = injected.publicKey ? injected.publicKey.slice() : await provider.publicKey(suite.curve, privateKey);
  if (publicKey.length !== coordinateLength(suite.curve)) {
    throw new EdhocError("bad_parameter", "injected ephemeral public key has the wrong length");
  }
  return { privateKey, publicKey };
}

/** Connection identifiers: byte strings, at most 7 bytes so they fit as OSCORE ids (RFC 8613 §3.3). */
export function checkConnectionId(id: Uint8Array): Uint8Array {
  if (!(id instanceof Uint8Array) || id.length > 7) {
    throw new EdhocError("bad_parameter", "connection identifier must be a byte string of at most 7 bytes");
  }
  return id.slice();
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A random connection identifier of `length` bytes that differs from `avoid`. */
export function randomConnectionId(provider: EdhocCryptoProvider, length: number, avoid?: Uint8Array): Uint8Array {
  for (;;) {
    const id = provider.randomBytes(length);
    if (!avoid || !sameBytes(id, avoid)) return id;
  }
}

/** The session state a state machine is in; any failure moves it to "aborted" for good. */
export class StateGuard<S extends string> {
  constructor(private current: S | "aborted") {}

  get state(): S | "aborted" {
    return this.current;
  }

  /** Runs `step` if we are in `expected`, moving to `next` on success and to aborted on failure. */
  async run<T>(expected: S, next: S, what: string, step: () => Promise<T>): Promise<T> {
    if (this.current !== expected) {
      throw new EdhocError("invalid_state", `${what} called in state ${this.current}, expected ${expected}`);
    }
    try {
      const result = await step();
      this.current = next;
      return result;
    } catch (e) {
      this.current = "aborted";
      throw e;
    }
  }
}

/** Wipes secrets that are no longer needed (best effort in JS, but cheap). */
export function wipe(...secrets: (Uint8Array | undefined)[]): void {
  for (const s of secrets) s?.fill(0);
}
