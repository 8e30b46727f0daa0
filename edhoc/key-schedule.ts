/**
 * The EDHOC key schedule (RFC 9528 §4): EDHOC_Extract/EDHOC_KDF over the suite's hash, the
 * PRKs of each message, PRK_out, EDHOC_Exporter and EDHOC_KeyUpdate (Appendix H).
 */
import { encodeSequence } from "./cbor.js";
import type { EdhocCryptoProvider } from "./crypto-provider.js";
import { EdhocError } from "./errors.js";
import { hashLength, type CipherSuite } from "./suites.js";

/** info_label values of Figure 6 (and 11 for KeyUpdate). */
export const KDF_LABEL = {
  KEYSTREAM_2: 0,
  SALT_3E2M: 1,
  MAC_2: 2,
  K_3: 3,
  IV_3: 4,
  SALT_4E3M: 5,
  MAC_3: 6,
  PRK_OUT: 7,
  K_4: 8,
  IV_4: 9,
  PRK_EXPORTER: 10,
  KEY_UPDATE: 11,
} as const;

/** EDHOC_Exporter labels for OSCORE (§A.1). */
export const EXPORTER_OSCORE_MASTER_SECRET = 0;
export const EXPORTER_OSCORE_MASTER_SALT = 1;

/**
 * Names of intermediate values, as RFC 9529 prints them. A TraceHook receives them so tests
 * can compare a run with a published trace. It sees secrets: never set one in production.
 */
export type TraceLabel =
  | "H(message_1)"
  | "TH_2"
  | "TH_3"
  | "TH_4"
  | "G_XY"
  | "G_RX"
  | "G_IY"
  | "PRK_2e"
  | "SALT_3e2m"
  | "PRK_3e2m"
  | "SALT_4e3m"
  | "PRK_4e3m"
  | "KEYSTREAM_2"
  | "PLAINTEXT_2"
  | "CIPHERTEXT_2"
  | "MAC_2"
  | "MAC_3"
  | "PLAINTEXT_3"
  | "K_3"
  | "IV_3"
  | "CIPHERTEXT_3"
  | "K_4"
  | "IV_4"
  | "CIPHERTEXT_4"
  | "PRK_out"
  | "PRK_exporter";

export type TraceHook = (label: TraceLabel, value: Uint8Array) => void;

/** The key schedule bound to one provider and suite. */
export class KeySchedule {
  constructor(
    readonly provider: EdhocCryptoProvider,
    readonly suite: CipherSuite,
    private readonly traceHook?: TraceHook,
  ) {}

  /** Reports an intermediate value to the trace hook, if any (copied, so later wipes do not show). */
  trace(label: TraceLabel, value: Uint8Array | undefined): void {
    if (this.traceHook && value) this.traceHook(label, value.slice());
  }

  get hashLength(): number {
    return hashLength(this.suite);
  }

  /** EDHOC_Extract(salt, IKM) = HKDF-Extract for the SHA-2 suites. */
  extract(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array> {
    return this.provider.hkdfExtract(this.suite.hash, salt, ikm);
  }

  /** EDHOC_KDF(PRK, info_label, context, length) = HKDF-Expand(PRK, (label, context, length), length). */
  kdf(prk: Uint8Array, label: number, context: Uint8Array, length: number): Promise<Uint8Array> {
    if (length > 255 * this.hashLength) {
      // Appendix G (long PLAINTEXT_2) is not implemented: refuse rather than truncate.
      throw new EdhocError("plaintext_too_long", `EDHOC_KDF output of ${length} bytes exceeds 255 * hash length`);
    }
    return this.provider.hkdfExpand(this.suite.hash, prk, encodeSequence(label, context, length), length);
  }

  /** PRK_2e = EDHOC_Extract(TH_2, G_XY) */
  prk2e(th2: Uint8Array, gXY: Uint8Array): Promise<Uint8Array> {
    return this.extract(th2, gXY);
  }

  /** PRK_3e2m = EDHOC_Extract(SALT_3e2m, G_RX) if R authenticates with static DH, else PRK_2e. */
  async prk3e2m(prk2e: Uint8Array, th2: Uint8Array, gRX: Uint8Array | undefined): Promise<Uint8Array> {
    if (!gRX) return prk2e;
    const salt = await this.kdf(prk2e, KDF_LABEL.SALT_3E2M, th2, this.hashLength);
    this.trace("SALT_3e2m", salt);
    return this.extract(salt, gRX);
  }

  /** PRK_4e3m = EDHOC_Extract(SALT_4e3m, G_IY) if I authenticates with static DH, else PRK_3e2m. */
  async prk4e3m(prk3e2m: Uint8Array, th3: Uint8Array, gIY: Uint8Array | undefined): Promise<Uint8Array> {
    if (!gIY) return prk3e2m;
    const salt = await this.kdf(prk3e2m, KDF_LABEL.SALT_4E3M, th3, this.hashLength);
    this.trace("SALT_4e3m", salt);
    return this.extract(salt, gIY);
  }

  keystream2(prk2e: Uint8Array, th2: Uint8Array, length: number): Promise<Uint8Array> {
    return this.kdf(prk2e, KDF_LABEL.KEYSTREAM_2, th2, length);
  }

  /** K_3/IV_3 (from PRK_3e2m, TH_3) or K_4/IV_4 (from PRK_4e3m, TH_4). */
  async messageKey(message: 3 | 4, prk: Uint8Array, th: Uint8Array): Promise<{ key: Uint8Array; iv: Uint8Array }> {
    const [kLabel, ivLabel] = message === 3 ? [KDF_LABEL.K_3, KDF_LABEL.IV_3] : [KDF_LABEL.K_4, KDF_LABEL.IV_4];
    const key = await this.kdf(prk, kLabel, th, this.suite.aead.keyLength);
    const iv = await this.kdf(prk, ivLabel, th, this.suite.aead.ivLength);
    return { key, iv };
  }

  prkOut(prk4e3m: Uint8Array, th4: Uint8Array): Promise<Uint8Array> {
    return this.kdf(prk4e3m, KDF_LABEL.PRK_OUT, th4, this.hashLength);
  }

  prkExporter(prkOut: Uint8Array): Promise<Uint8Array> {
    return this.kdf(prkOut, KDF_LABEL.PRK_EXPORTER, new Uint8Array(0), this.hashLength);
  }

  /** EDHOC_KeyUpdate: new PRK_out = EDHOC_KDF(old PRK_out, 11, context, hash_length). */
  keyUpdate(prkOut: Uint8Array, context: Uint8Array): Promise<Uint8Array> {
    return this.kdf(prkOut, KDF_LABEL.KEY_UPDATE, context, this.hashLength);
  }
}

/** XOR of equal-length byte strings (CIPHERTEXT_2 = PLAINTEXT_2 XOR KEYSTREAM_2). */
export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}
