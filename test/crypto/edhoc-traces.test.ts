/**
 * The primitive-level values of RFC 9529 (EDHOC traces), recomputed through this module:
 * public keys, ECDH / X25519, transcript hashes, HKDF-Extract / HKDF-Expand (EDHOC_KDF with
 * the printed info), Ed25519 signatures, and the crypto-level invalid inputs of §4.2.
 * (AES-CCM values are checked by the AES-CCM module's tests; CBOR is not crypto.)
 */
import { describe, expect, it } from "vitest";
import traces from "../vectors/edhoc/rfc9529_traces.json";
import {
  concat,
  ecdhP256,
  fromHex,
  hkdfExpand,
  hkdfExtract,
  p256PublicKey,
  sha256,
  toHex,
  verifyEd25519,
  x25519,
} from "../../functions/crypto";
import { attempt, isInputError } from "./wycheproof";

interface Entry {
  rfc9529Section: string;
  name: string;
  form: string | null;
  length?: number;
  hex?: string;
}
interface Trace {
  id: string;
  entries: Entry[];
}
const all = (traces as unknown as { traces: Trace[] }).traces;

/**
 * The value printed as `name` in one of `forms` (the RFC prints messages and info strings as CBOR
 * sequences, keys as raw values); the last one if printed twice (trace 2 restarts in §3.3).
 */
function valueOf(trace: Trace, name: string, forms = ["raw", "cborSeq"]): Uint8Array {
  const hits = trace.entries.filter((e) => e.name === name && forms.includes(e.form ?? ""));
  const hex = hits[hits.length - 1]?.hex;
  if (hex === undefined) throw new Error(`${trace.id}: no ${name}`);
  return fromHex(hex);
}

/** "X = f(...)" checks: each one names the RFC value it reproduces. */
async function same(trace: Trace, name: string, got: Promise<Uint8Array> | Uint8Array) {
  expect(toHex(await got), `${trace.id} ${name}`).toBe(toHex(valueOf(trace, name)));
}

/** EDHOC_KDF(PRK, label, context, L) = HKDF-Expand(PRK, info, L), with the info the RFC prints. */
const kdf = (t: Trace, prk: string, out: string) =>
  hkdfExpand(valueOf(t, prk), valueOf(t, `info for ${out}`), valueOf(t, out).length);

describe("RFC 9529 trace 1 (method 0, suite 0: X25519, Ed25519, SHA-256)", () => {
  const t = all.find((x) => x.id === "trace1")!;
  it("reproduces the key schedule and verifies both signatures", async () => {
    const v = (n: string) => valueOf(t, n);
    await same(t, "G_XY", x25519(v("X"), v("G_Y")));
    await same(t, "G_XY", x25519(v("Y"), v("G_X")));
    await same(t, "H(message_1)", sha256(v("message_1")));
    await same(t, "TH_2", sha256(valueOf(t, "Input to calculate TH_2")));
    await same(t, "PRK_2e", hkdfExtract(v("TH_2"), v("G_XY")));
    await same(t, "KEYSTREAM_2", kdf(t, "PRK_2e", "KEYSTREAM_2"));
    await same(t, "MAC_2", kdf(t, "PRK_3e2m", "MAC_2"));
    await same(t, "TH_3", sha256(valueOf(t, "Input to calculate TH_3")));
    await same(t, "MAC_3", kdf(t, "PRK_4e3m", "MAC_3"));
    await same(t, "K_3", kdf(t, "PRK_3e2m", "K_3"));
    await same(t, "IV_3", kdf(t, "PRK_3e2m", "IV_3"));
    await same(t, "TH_4", sha256(valueOf(t, "Input to calculate TH_4")));
    await same(t, "K_4", kdf(t, "PRK_4e3m", "K_4"));
    await same(t, "IV_4", kdf(t, "PRK_4e3m", "IV_4"));
    await same(t, "PRK_out", kdf(t, "PRK_4e3m", "PRK_out"));
    await same(t, "PRK_exporter", kdf(t, "PRK_out", "PRK_exporter"));
    await same(t, "OSCORE Master Secret", kdf(t, "PRK_exporter", "OSCORE Master Secret"));
    await same(t, "OSCORE Master Salt", kdf(t, "PRK_exporter", "OSCORE Master Salt"));
    for (const [pk, m, sig] of [["PK_R", "Message to be signed 2", "Signature_or_MAC_2"], ["PK_I", "Message to be signed 3", "Signature_or_MAC_3"]]) {
      expect(await verifyEd25519(v(pk!), valueOf(t, m!, ["cbor"]), v(sig!)), sig).toBe(true);
      expect(await verifyEd25519(v(pk!), valueOf(t, m!, ["cbor"]).subarray(1), v(sig!)), sig).toBe(false);
    }
  });
});

describe("RFC 9529 trace 2 (method 3, suite 2: P-256 static DH, SHA-256)", () => {
  const t = all.find((x) => x.id === "trace2")!;
  const v = (n: string) => valueOf(t, n);
  /** EDHOC sends P-256 keys as the x-coordinate only (RFC 9528 §3.7): either sign gives the same ECDH x. */
  const xOnly = (x: Uint8Array) => concat(new Uint8Array([2]), x);
  const full = (x: string, y: string) => concat(new Uint8Array([4]), v(x), v(y));

  it("derives the public keys from the private ones", async () => {
    expect(toHex(p256PublicKey(v("X")))).toBe(toHex(full("G_X", "G_X.y")));
    expect(toHex(p256PublicKey(v("Y")))).toBe(toHex(full("G_Y", "G_Y.y")));
    expect(toHex(p256PublicKey(v("SK_R")))).toBe(toHex(full("PK_R.x", "PK_R.y")));
    expect(toHex(p256PublicKey(v("SK_I")))).toBe(toHex(full("PK_I.x", "PK_I.y")));
  });

  it("reproduces the key schedule", async () => {
    await same(t, "G_XY", ecdhP256(v("X"), full("G_Y", "G_Y.y")));
    await same(t, "G_XY", ecdhP256(v("Y"), xOnly(v("G_X"))));
    await same(t, "G_RX", ecdhP256(v("SK_R"), xOnly(v("G_X"))));
    await same(t, "G_RX", ecdhP256(v("X"), full("PK_R.x", "PK_R.y")));
    await same(t, "G_IY", ecdhP256(v("SK_I"), xOnly(v("G_Y"))));
    await same(t, "G_IY", ecdhP256(v("Y"), full("PK_I.x", "PK_I.y")));
    await same(t, "H(message_1)", sha256(v("message_1")));
    await same(t, "TH_2", sha256(valueOf(t, "Input to calculate TH_2")));
    await same(t, "PRK_2e", hkdfExtract(v("TH_2"), v("G_XY")));
    await same(t, "SALT_3e2m", kdf(t, "PRK_2e", "SALT_3e2m"));
    await same(t, "PRK_3e2m", hkdfExtract(v("SALT_3e2m"), v("G_RX")));
    await same(t, "MAC_2", kdf(t, "PRK_3e2m", "MAC_2"));
    await same(t, "KEYSTREAM_2", kdf(t, "PRK_2e", "KEYSTREAM_2"));
    await same(t, "TH_3", sha256(valueOf(t, "Input to calculate TH_3")));
    await same(t, "SALT_4e3m", kdf(t, "PRK_3e2m", "SALT_4e3m"));
    await same(t, "PRK_4e3m", hkdfExtract(v("SALT_4e3m"), v("G_IY")));
    await same(t, "MAC_3", kdf(t, "PRK_4e3m", "MAC_3"));
    await same(t, "K_3", kdf(t, "PRK_3e2m", "K_3"));
    await same(t, "IV_3", kdf(t, "PRK_3e2m", "IV_3"));
    await same(t, "TH_4", sha256(valueOf(t, "Input to calculate TH_4")));
    await same(t, "K_4", kdf(t, "PRK_4e3m", "K_4"));
    await same(t, "IV_4", kdf(t, "PRK_4e3m", "IV_4"));
    await same(t, "PRK_out", kdf(t, "PRK_4e3m", "PRK_out"));
    await same(t, "PRK_exporter", kdf(t, "PRK_out", "PRK_exporter"));
    await same(t, "OSCORE Master Secret", kdf(t, "PRK_exporter", "OSCORE Master Secret"));
    await same(t, "OSCORE Master Salt", kdf(t, "PRK_exporter", "OSCORE Master Salt"));
  });
});

describe("RFC 9529 §4.2: invalid keys in message_1 are refused by the primitives", () => {
  const bad = all.find((x) => x.id === "invalid")!;
  const msg1 = (section: string) => fromHex(bad.entries.find((e) => e.rfc9529Section === section)!.hex!);
  const priv = new Uint8Array(32).fill(1);

  it("4.2.2 (x >= p), 4.2.3 (x not on P-256), 4.2.6 (31-byte x) are bad_public_key for ecdhP256", async () => {
    // message_1 = METHOD SUITES_I G_X C_I; G_X is the bstr after the 2-byte header (58 20 / 58 1f).
    for (const [section, gx] of [["4.2.2", msg1("4.2.2").subarray(4, 36)], ["4.2.3", msg1("4.2.3").subarray(4, 36)], ["4.2.6", msg1("4.2.6").subarray(4, 35)]] as const) {
      for (const prefix of [2, 3]) {
        const o = await attempt(() => ecdhP256(priv, concat(new Uint8Array([prefix]), gx)));
        expect(!o.ok && isInputError(o.error, "bad_public_key"), section).toBe(true);
      }
    }
  });

  it("4.2.4 (X25519 point of low order) is bad_public_key for x25519", async () => {
    const gx = msg1("4.2.4").subarray(4, 36);
    const o = await attempt(() => x25519(priv, gx));
    expect(!o.ok && isInputError(o.error, "bad_public_key")).toBe(true);
  });
});
