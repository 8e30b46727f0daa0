/** Shared fixtures for the EDHOC tests: hex, the RFC 9529 traces, providers, credentials. */
import traces from "../vectors/edhoc/rfc9529_traces.json";
import { makeCcs, parseCcs, type EdhocCredential, type LocalCredential } from "../../edhoc/credentials";
import type { EdhocCryptoProvider } from "../../edhoc/crypto-provider";
import { nobleProvider } from "../../edhoc/noble-provider";
import { webCryptoProvider } from "../../edhoc/webcrypto-provider";
import { getSuite, type Curve } from "../../edhoc/suites";
import type { CredentialResolver } from "../../edhoc/common";
import { EdhocError, type EdhocErrorCode } from "../../edhoc/errors";

export const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export interface TraceEntry {
  rfc9529Section: string;
  sectionTitle?: string;
  name: string;
  form: string | null;
  hex?: string;
  value?: number;
  expected?: string;
  reason?: string;
}

function traceById(id: string): TraceEntry[] {
  const t = traces.traces.find((x) => x.id === id);
  if (!t) throw new Error(`trace ${id} missing`);
  return t.entries as TraceEntry[];
}

export const trace2 = traceById("trace2");
export const invalidTrace = traceById("invalid");

/** The value printed under `name` in `section` (raw form preferred, as bytes). */
export function t2(section: string, name: string, form?: string): Uint8Array {
  const candidates = trace2.filter((e) => e.rfc9529Section === section && e.name === name && (form === undefined || e.form === form));
  const e = candidates.find((c) => c.form === "raw") ?? candidates[0];
  if (!e || e.hex === undefined) throw new Error(`trace2 ${section} ${name} missing`);
  return hex(e.hex);
}

/** The last value printed under `name` anywhere in trace 2 (raw form preferred). */
export function t2Last(name: string): Uint8Array | undefined {
  const candidates = trace2.filter((e) => e.name === name && e.hex !== undefined);
  const raw = candidates.filter((c) => c.form === "raw");
  const e = (raw.length > 0 ? raw : candidates).at(-1);
  return e?.hex === undefined ? undefined : hex(e.hex);
}

export const PROVIDERS: readonly EdhocCryptoProvider[] = [webCryptoProvider, nobleProvider];
/** Initiator/responder provider pairs: the same on both ends and the meter-SDK/server mix. */
export const PROVIDER_PAIRS: readonly [EdhocCryptoProvider, EdhocCryptoProvider][] = [
  [webCryptoProvider, webCryptoProvider],
  [nobleProvider, nobleProvider],
  [nobleProvider, webCryptoProvider],
  [webCryptoProvider, nobleProvider],
];

/** CRED_R/SK_R and CRED_I/SK_I of RFC 9529 §3. */
export const traceResponder: LocalCredential = { credential: parseCcs(t2("3.4", "CRED_R")), privateKey: t2("3.4", "SK_R") };
export const traceInitiator: LocalCredential = { credential: parseCcs(t2("3.5", "CRED_I")), privateKey: t2("3.5", "SK_I") };

/** A resolver that knows exactly the given credentials, by kid. */
export function resolverOf(...creds: EdhocCredential[]): CredentialResolver {
  return (kid) => creds.find((c) => toHex(c.kid) === toHex(kid));
}

/** A fresh credential for `curve` with a random key pair (static DH or signature key). */
export async function freshCredential(provider: EdhocCryptoProvider, curve: Curve, kid: Uint8Array, subject: string): Promise<LocalCredential> {
  const pair = await provider.generateKeyPair(curve);
  if (curve === "X25519") return { credential: makeCcs({ subject, kid, curve, x: pair.publicKey }), privateKey: pair.privateKey };
  const full = await fullPoint(curve, pair.privateKey);
  return { credential: makeCcs({ subject, kid, curve, x: full.x, y: full.y }), privateKey: pair.privateKey };
}

/** x and y of a P-256/P-384 private key (through noble; test-only). */
async function fullPoint(curve: "P-256" | "P-384", privateKey: Uint8Array): Promise<{ x: Uint8Array; y: Uint8Array }> {
  const { p256, p384 } = await import("@noble/curves/nist.js");
  const point = (curve === "P-256" ? p256 : p384).getPublicKey(privateKey, false);
  const n = (point.length - 1) / 2;
  return { x: point.slice(1, 1 + n), y: point.slice(1 + n) };
}

export function suiteOf(id: number) {
  const s = getSuite(id);
  if (!s) throw new Error(`suite ${id}`);
  return s;
}

/** Runs `f`, expecting an EdhocError; returns it. */
export async function edhocErrorOf(f: () => Promise<unknown>): Promise<EdhocError> {
  try {
    await f();
  } catch (e) {
    if (e instanceof EdhocError) return e;
    throw e;
  }
  throw new Error("expected an EdhocError, nothing was thrown");
}

/** ERR_CODE of an error message (its first byte, for the small codes used here). */
export function errCodeOf(err: EdhocError): number | undefined {
  return err.errorMessage?.[0];
}

export type { EdhocErrorCode };
